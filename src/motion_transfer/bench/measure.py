"""How the bench times a call: the median of timed runs after a warm-up, and a path against its
baseline in alternating pairs.

A ratio compares a path with its baseline on the same inputs, timed in alternation (baseline,
path, path, baseline, ...): it is the median of the per-pair ratios, so that the speed of a shared
virtual machine drifting during the run moves both sides of each pair alike. Its range over the
pairs is kept beside it, and so are the pairs' own times.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable

import torch


def _time_once(fn: Callable[[], object], device: str) -> float:
    """Wall time of one fn() call; on a GPU it is waited for (CUDA kernels run asynchronously)."""
    start = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1, device: str = "cpu") -> float:
    """Median wall time of fn() in seconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        _time_once(fn, device)
    return statistics.median(_time_once(fn, device) for _ in range(repeats))


def compared(
    baseline: Callable[[], object], ours: Callable[[], object], repeats: int, warmup: int = 1, device: str = "cpu"
) -> dict:
    """Time `baseline` and `ours` in interleaved pairs (the order alternates from pair to pair).

    Returns the median seconds of each, and `ratio` = the median of baseline/ours over the pairs
    (above 1: ours is faster), with its lowest and highest pair, and every pair's seconds
    ([baseline, ours], in the order they were timed).
    """
    for _ in range(warmup):
        _time_once(baseline, device)
        _time_once(ours, device)
    pairs = []
    for i in range(repeats):
        if i % 2:
            o = _time_once(ours, device)
            b = _time_once(baseline, device)
        else:
            b = _time_once(baseline, device)
            o = _time_once(ours, device)
        pairs.append((b, o))
    ratios = [b / o for b, o in pairs]
    return {
        "baseline_s": statistics.median(b for b, _ in pairs),
        "ours_s": statistics.median(o for _, o in pairs),
        "ratio": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "pairs_s": [[b, o] for b, o in pairs],
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rotated(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1, device: str = "cpu") -> dict:
    """Time several paths in rounds, each round every path once in an order rotated from round to
    round, against the first path (the baseline). Returns per path the median seconds, `ratio` =
    the median over the rounds of baseline/path (above 1: faster than the baseline), its lowest and
    highest round, and every round's seconds."""
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            _time_once(fns[name], device)
    rounds: dict[str, list[float]] = {name: [] for name in names}
    for i in range(repeats):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            rounds[name].append(_time_once(fns[name], device))
    base = rounds[names[0]]
    out = {}
    for name, seconds in rounds.items():
        ratios = [b / s for b, s in zip(base, seconds)]
        out[name] = {
            "seconds": statistics.median(seconds),
            "ratio": statistics.median(ratios),
            "ratio_range": [min(ratios), max(ratios)],
            "rounds_s": seconds,
        }
    return out
