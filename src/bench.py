"""Benchmark the hot paths against their baselines: make bench"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MOTION_TRANSFER_ROOT", str(ROOT))

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from motion_transfer.cli import check_overrides  # noqa: E402
from motion_transfer.errors import report_user_errors  # noqa: E402
from motion_transfer.bench import run_bench  # noqa: E402


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="bench")
@report_user_errors
def main(cfg: DictConfig) -> None:
    path = run_bench(cfg)
    print(f"bench: {path}", flush=True)


if __name__ == "__main__":
    check_overrides("bench")
    main()
