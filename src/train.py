"""Train a generator: python src/train.py model=gan trainer.max_epochs=100"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MOTION_TRANSFER_ROOT", str(ROOT))

import hydra  # noqa: E402
from lightning.pytorch.utilities import rank_zero_only  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from motion_transfer.cli import check_overrides  # noqa: E402
from motion_transfer.errors import report_user_errors  # noqa: E402
from motion_transfer.training import run_training  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="train")
@report_user_errors
def main(cfg: DictConfig) -> None:
    best = run_training(cfg)
    if rank_zero_only.rank == 0:  # under DDP every process runs this: one line, not interleaved copies
        print(f"checkpoint: {best}", flush=True)


if __name__ == "__main__":
    check_overrides("train")
    main()
