"""Cache a video's crops and skeletons: python src/preprocess.py video=PATH"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MOTION_TRANSFER_ROOT", str(ROOT))

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from motion_transfer.cli import check_overrides  # noqa: E402
from motion_transfer.errors import report_user_errors  # noqa: E402
from motion_transfer.preprocess import run_preprocess  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="preprocess")
@report_user_errors
def main(cfg: DictConfig) -> None:
    cache = run_preprocess(cfg)
    print(f"cache: {cache}", flush=True)


if __name__ == "__main__":
    check_overrides("preprocess")
    main()
