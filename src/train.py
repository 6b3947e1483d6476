"""Train a generator: python src/train.py model=gan trainer.max_epochs=100"""

from motion_transfer.cli import run_task
from motion_transfer.training import run_training

if __name__ == "__main__":
    run_task("train", run_training, "checkpoint")
