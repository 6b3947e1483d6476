"""Blend a fine-tuned generator with its start (ESRGAN): python src/interpolate.py model=gan alpha=0.8"""

from motion_transfer.cli import run_task
from motion_transfer.models.blending import run_interpolation

if __name__ == "__main__":
    run_task("interpolate", run_interpolation, "checkpoint")
