"""Evaluate a generator on the target's held-out frames: python src/evaluate.py model=gan"""

from motion_transfer.cli import run_task
from motion_transfer.evaluation.evaluate import run_evaluation

if __name__ == "__main__":
    run_task("evaluate", run_evaluation, "metrics")
