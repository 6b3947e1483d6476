"""Progress bars on a terminal only: in a log file or CI, carriage-return frames would fill it."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def on_terminal() -> bool:
    """Whether stderr, where progress bars are drawn, is an interactive terminal."""
    return sys.stderr.isatty()


def progress_bar(total: int | None, desc: str, unit: str = "frame", enabled: bool = True, leave: bool = True) -> tqdm:
    """A tqdm bar, drawn only when `enabled` and stderr is a terminal."""
    return tqdm(total=total, desc=desc, unit=unit, disable=not (enabled and on_terminal()), leave=leave)
