"""What this machine measured once: a figure timed on it (a speed-up, a faster runtime), kept per
machine in a JSON file of the cache folder and in this process, so that a choice made by measuring
is made once per machine and stays the same from run to run."""

from __future__ import annotations

import json
import logging
import os
import platform
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

#: Figures measured in this process, by (file, key, the measuring function): runs with other cache
#: folders share them (the function is held, so another one never takes its place).
_measured: dict[tuple, object] = {}


def cpuinfo_field(name: str, cpuinfo: str | None = None) -> str:
    """The first CPU's `name` field of /proc/cpuinfo (or of the text `cpuinfo`); empty where there is none."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return ""


def machine_key() -> str:
    """What a timing depends on besides the work timed: the CPU, the PyTorch build, its threads."""
    import torch

    name = cpuinfo_field("model name") or platform.processor() or platform.machine()
    return f"{name} (model {cpuinfo_field('model')}) | torch {torch.__version__} | {torch.get_num_threads()} threads"


def measured_once(cache_dir: str | os.PathLike | None, file: str, key: str, measure: Callable[[], object]):
    """`measure()`'s JSON-ready result for `key` on this machine: as found in `cache_dir`/`file` or
    measured before in this process, else measured now (and written there; None: not written)."""
    from motion_transfer.runtime.atomic import write_json_atomically

    key = f"{machine_key()} | {key}"
    path = None if cache_dir is None else Path(cache_dir) / file
    try:
        known = json.loads(path.read_text()) if path is not None else {}
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    if key in known:
        return known[key]
    memo = (file, key, measure)
    if memo not in _measured:
        _measured[memo] = measure()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomically(path, {**known, key: _measured[memo]})
        except OSError as err:  # a read-only cache only costs the measurement in the next process
            log.debug("%s not cached: %s", file, err)
    return _measured[memo]
