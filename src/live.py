"""Live motion transfer from a camera, a video file or a stream: python src/live.py source=0"""

from motion_transfer.cli import run_task
from motion_transfer.live.run import run_live

if __name__ == "__main__":
    run_task("live", run_live, "video")
