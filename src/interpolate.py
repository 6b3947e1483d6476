"""Blend a fine-tuned generator with its start (ESRGAN): python src/interpolate.py model=gan alpha=0.8"""

from motion_transfer.interpolation import run_interpolation
from motion_transfer.tasks import run_task

if __name__ == "__main__":
    run_task("interpolate", run_interpolation, "checkpoint")
