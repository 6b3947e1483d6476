"""Cache a video's crops and skeletons: python src/preprocess.py video=PATH"""

from motion_transfer.preprocess import run_preprocess
from motion_transfer.tasks import run_task

if __name__ == "__main__":
    run_task("preprocess", run_preprocess, "cache")
