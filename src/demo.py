"""Make the target person copy the source person's moves: python src/demo.py model=nearest"""

from motion_transfer.cli import run_task
from motion_transfer.demo import run_demo

if __name__ == "__main__":
    run_task("demo", run_demo, "video")
