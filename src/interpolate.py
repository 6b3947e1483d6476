"""Blend a fine-tuned generator with its start (ESRGAN network interpolation): python src/interpolate.py model=gan alpha=0.8"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MOTION_TRANSFER_ROOT", str(ROOT))

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from motion_transfer.cli import check_overrides  # noqa: E402
from motion_transfer.errors import report_user_errors  # noqa: E402
from motion_transfer.interpolation import run_interpolation  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="interpolate")
@report_user_errors
def main(cfg: DictConfig) -> None:
    path = run_interpolation(cfg)
    print(f"checkpoint: {path}", flush=True)


if __name__ == "__main__":
    check_overrides("interpolate")
    main()
