"""Train and evaluate the U-Net and the GAN on a CUDA GPU for a few minutes each: make gpu-check"""

from motion_transfer.bench.gpu_check import run_gpu_check
from motion_transfer.cli import run_task

if __name__ == "__main__":
    run_task("gpu_check", run_gpu_check, "report")
