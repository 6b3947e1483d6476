"""Live motion transfer from a camera, a video file or a stream: python src/live.py source=0"""

from motion_transfer.live import run_live
from motion_transfer.tasks import run_task

if __name__ == "__main__":
    run_task("live", run_live, "video")
