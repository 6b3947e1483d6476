"""Export a trained generator to ONNX: python src/export.py model=gan ckpt_path=PATH"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MOTION_TRANSFER_ROOT", str(ROOT))

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from motion_transfer.cli import check_overrides  # noqa: E402
from motion_transfer.errors import report_user_errors  # noqa: E402
from motion_transfer.export import run_export  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="export")
@report_user_errors
def main(cfg: DictConfig) -> None:
    onnx = run_export(cfg)
    print(f"onnx: {onnx}", flush=True)


if __name__ == "__main__":
    check_overrides("export")
    main()
