"""Cache a video's crops and skeletons: python src/preprocess.py video=PATH"""

from motion_transfer.cli import run_task
from motion_transfer.data.preprocess import run_preprocess

if __name__ == "__main__":
    run_task("preprocess", run_preprocess, "cache")
