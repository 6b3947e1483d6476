"""Compare every generator trained on a target: python src/report.py data=video data.target_video=T.mp4"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MOTION_TRANSFER_ROOT", str(ROOT))

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from motion_transfer.cli import check_overrides  # noqa: E402
from motion_transfer.errors import report_user_errors  # noqa: E402
from motion_transfer.report import run_report  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="report")
@report_user_errors
def main(cfg: DictConfig) -> None:
    report = run_report(cfg)
    print(f"report: {report}", flush=True)


if __name__ == "__main__":
    check_overrides("report")
    main()
