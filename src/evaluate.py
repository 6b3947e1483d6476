"""Evaluate a generator on the target's held-out frames: python src/evaluate.py model=gan"""

from motion_transfer.evaluation import run_evaluation
from motion_transfer.tasks import run_task

if __name__ == "__main__":
    run_task("evaluate", run_evaluation, "metrics")
