"""A window on the screen, where one exists: the demo's and live mode's optional view."""

from __future__ import annotations

import logging
import os
import sys

import cv2
import numpy as np

log = logging.getLogger(__name__)


def display_available() -> bool:
    """Whether a window can open. Checked first because OpenCV's Qt build aborts the whole
    process (exit 134, no exception) when it finds no display."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def want_window(show) -> bool:
    """`show=auto|true|false` -> whether to open a window: auto where a display exists; true without
    one warns and writes the video only."""
    if str(show).lower() == "auto":
        return display_available()
    if bool(show) and not display_available():
        log.warning("show=true but no display is available (DISPLAY is not set); writing the video only")
        return False
    return bool(show)


def show_frames(frames: np.ndarray, title: str = "motion transfer") -> bool:
    """Show RGB frames in a window, one after the other; True when the user pressed q or Esc. A window
    that cannot open is never required: a warning, and the frames are only written."""
    try:
        for frame in frames:
            cv2.imshow(title, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            if (cv2.waitKey(1) & 0xFF) in (ord("q"), 27):
                return True
    except cv2.error:
        log.warning("a window was asked for but no display is available; writing the videos only")
    return False
