"""Compare every generator trained on a target: python src/report.py data=video data.target_video=T.mp4"""

from motion_transfer.report import run_report
from motion_transfer.tasks import run_task

if __name__ == "__main__":
    run_task("report", run_report, "report")
