"""Train each model for the same time on a target: python src/race.py data=video data.target_video=T.mp4"""

from motion_transfer.cli import run_task
from motion_transfer.evaluation.race import run_race

if __name__ == "__main__":
    run_task("race", run_race, "race")
