"""Evaluate a generator on the target's held-out frames: python src/evaluate.py model=gan"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MOTION_TRANSFER_ROOT", str(ROOT))

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from motion_transfer.cli import check_overrides  # noqa: E402
from motion_transfer.errors import report_user_errors  # noqa: E402
from motion_transfer.evaluation import run_evaluation  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="evaluate")
@report_user_errors
def main(cfg: DictConfig) -> None:
    metrics = run_evaluation(cfg)
    print(f"metrics: {metrics}", flush=True)


if __name__ == "__main__":
    check_overrides("evaluate")
    main()
