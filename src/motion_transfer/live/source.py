"""Where live frames come from: a camera, a stream, a video file or the synthetic source, and one
frame on its way through the stages."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from motion_transfer.data.video import check_video_path, open_capture
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class LiveFrame:
    """One frame on its way through the stages."""

    index: int
    arrived: float  # time.perf_counter() when the frame was there to be read (as a camera delivers it)
    rgb: np.ndarray
    landmarks: np.ndarray | None = None  # (33, 4) in the frame's pixels, or None where no person was found


@dataclass
class FrameSource:
    """Where live frames come from: `frames` yields (H, W, 3) RGB frames; `camera` says whether it
    runs on its own clock (a camera or a stream: frames are dropped when the pipeline falls behind)."""

    name: str
    fps: float
    camera: bool
    capture: cv2.VideoCapture | None = None
    rendered: np.ndarray | None = None

    def frames(self):
        if self.rendered is not None:
            yield from self.rendered
            return
        while True:
            ok, frame = self.capture.read()
            if not ok or frame is None:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()


def open_source(source, synthetic: tuple[int, int] | None = None) -> FrameSource:
    """`source=`: a camera index (0), a stream URL (rtsp://, http://, ...) or a video file; None
    with `synthetic` (frames, seed): the embedded synthetic source person, rendered now."""
    if source is None or str(source) == "":
        if synthetic is None:
            raise UserError("source is not set: give a camera index (source=0), a video file or a stream URL.")
        from motion_transfer.data.synthetic import SYNTHETIC_FPS, render_clip

        frames, _ = render_clip("source", synthetic[0], synthetic[1])
        return FrameSource("synthetic source", float(SYNTHETIC_FPS), camera=False, rendered=frames)
    text = str(source).strip()
    if text.isdigit():
        capture = cv2.VideoCapture(int(text))
        if not capture.isOpened():
            raise UserError(
                f"source={text}: no camera could be opened at index {text}; check that one is connected "
                "(ls /dev/video*) or give a video file."
            )
        return FrameSource(f"camera {text}", _fps_of(capture), camera=True, capture=capture)
    if "://" in text:
        capture = cv2.VideoCapture(text)
        if not capture.isOpened():
            raise UserError(f"source={text}: the stream could not be opened; check the address and that it is live.")
        return FrameSource(text, _fps_of(capture), camera=True, capture=capture)
    path = check_video_path(text, "source")
    capture = open_capture(path)
    if not capture.isOpened():
        raise UserError(f"source: '{text}' cannot be read as a video; give an mp4/avi/mov file that a player can open.")
    return FrameSource(path.name, _fps_of(capture), camera=False, capture=capture)


def _fps_of(capture: cv2.VideoCapture) -> float:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return float(fps) if np.isfinite(fps) and 0 < fps <= 1000 else 25.0
