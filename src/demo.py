"""Make the target person copy the source person's moves: python src/demo.py model=nearest"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MOTION_TRANSFER_ROOT", str(ROOT))

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from motion_transfer.demo import run_demo  # noqa: E402
from motion_transfer.cli import check_overrides  # noqa: E402
from motion_transfer.errors import report_user_errors  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="demo")
@report_user_errors
def main(cfg: DictConfig) -> None:
    video = run_demo(cfg)
    print(f"video: {video}", flush=True)


if __name__ == "__main__":
    check_overrides("demo")
    main()
