"""Compare every generator trained on a target: python src/report.py data=video data.target_video=T.mp4"""

from motion_transfer.cli import run_task
from motion_transfer.evaluation.report import run_report

if __name__ == "__main__":
    run_task("report", run_report, "report")
