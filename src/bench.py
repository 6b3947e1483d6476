"""Benchmark the hot paths against their baselines: make bench"""

from motion_transfer.bench.suite import run_bench
from motion_transfer.cli import run_task

if __name__ == "__main__":
    run_task("bench", run_bench, "bench")
