"""Where live frames come from: a camera, a stream, a video file or the synthetic source, and one
frame on its way through the stages.

A camera or stream is read on a thread of its own (`CameraFeed`) from the moment it is opened:
it runs on its own clock, so its frames are stamped as they arrive and, from the pipeline's start,
kept while it starts (MediaPipe's first search of the frame for people takes about a second); once
the pipeline runs, only the newest frame waits and the others are counted as dropped. A camera that sends no
frame for `stall_timeout_s` (a frozen IP camera, a USB hiccup) or whose stream closes ends the run
with a reason (`FrameSource.ended`), not after OpenCV's own 30-s timeout.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from motion_transfer.data.video import (
    check_video_path,
    next_decodable_frame,
    open_capture,
    quiet_native_logs,
    report_undecodable,
)
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)

#: A camera sending no frame for this long ends the run (live.yaml's stall_timeout_s).
STALL_TIMEOUT_S = 2.0
#: The first frame may take this long (a camera warming up, a stream's first picture), or the stall timeout if longer.
FIRST_FRAME_WAIT_S = 10.0
#: Frames kept while the pipeline starts, in seconds of the camera's rate; older ones are dropped.
START_BACKLOG_S = 2.0


@dataclass
class LiveFrame:
    """One frame on its way through the stages."""

    index: int
    arrived: float  # time.perf_counter() when the frame was there to be read (as a camera delivers it)
    rgb: np.ndarray
    landmarks: np.ndarray | None = None  # (33, 4) in the frame's pixels, or None where no person was found


class CameraFeed:
    """Frames that arrive on their own clock (a camera's reading thread, a browser's webcam), handed
    to the pipeline in order. Until `start_live` every frame is kept (up to START_BACKLOG_S of them);
    after it only the newest frame beyond those waits, the others counted in `dropped`."""

    def __init__(self, fps: float):
        self._frames: collections.deque = collections.deque()
        self._changed = threading.Condition()
        self._kept = 0  # frames at the front kept from the start: never dropped
        self._live = False
        self._backlog = max(1, int(round(START_BACKLOG_S * fps)))
        self._last: float | None = None  # when the newest frame arrived
        self.ended: str | None = None  # why no more frames come (the source's own words), once they stop
        self.received = 0
        self.dropped = 0

    def offer(self, rgb: np.ndarray, arrived: float | None = None) -> None:
        """A frame that just arrived (stamped now unless `arrived` says when)."""
        with self._changed:
            if self.ended is not None:
                return
            self._last = time.perf_counter() if arrived is None else arrived
            self._frames.append((self._last, rgb))
            self.received += 1
            if not self._live and len(self._frames) > self._backlog:
                self._frames.popleft()
                self.dropped += 1
            while self._live and len(self._frames) - self._kept > 1:
                del self._frames[self._kept]  # a camera does not wait for us: the newest frame does
                self.dropped += 1
            self._changed.notify_all()

    def end(self, reason: str) -> None:
        """No more frames will come; `reason` says why (the first reason given stays)."""
        with self._changed:
            if self.ended is None:
                self.ended = reason
            self._changed.notify_all()

    def begin(self) -> None:
        """The pipeline starts: frames that came before (while the model loaded) are not part of the run."""
        with self._changed:
            self._frames.clear()
            self.dropped = 0

    def start_live(self) -> None:
        """The pipeline runs: the frames kept so far go through, later ones only while it keeps up."""
        with self._changed:
            self._live = True
            self._kept = len(self._frames)

    def next(self, timeout: float, option: str = "stall_timeout_s") -> tuple[float, np.ndarray, bool] | None:
        """The next (arrival time, frame, whether it may be dropped: not one kept from the start), or
        None when the feed has ended or no frame has arrived for `timeout` seconds (then `ended` says
        so, naming `option`)."""
        with self._changed:
            deadline = (self._last if self._last is not None else time.perf_counter()) + timeout
            while not self._frames:
                if self.ended is not None:
                    return None
                left = deadline - time.perf_counter()
                if left <= 0:
                    self.ended = f"sent no frame for {timeout:g} s ({option})"
                    return None
                self._changed.wait(left)
            droppable = self._live and self._kept == 0
            self._kept = max(0, self._kept - 1)
            arrived, rgb = self._frames.popleft()
            return arrived, rgb, droppable


class _CaptureReader(threading.Thread):
    """Reads an OpenCV capture into a CameraFeed until it fails or `stop` is set, then releases it.
    A read may block for seconds in a stalled stream: the capture is released here, by the thread
    that reads it, once that read returns (never from under it)."""

    def __init__(self, capture, feed: CameraFeed, name: str):
        super().__init__(name=f"camera-reader {name}", daemon=True)
        self.capture, self.feed = capture, feed
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                ok, frame = self.capture.read()
                if self.stop.is_set():
                    break
                if not ok or frame is None:
                    self.feed.end("stopped sending frames (the stream closed or the camera was disconnected)")
                    break
                self.feed.offer(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        except Exception as error:  # noqa: BLE001 - a driver's failure ends the feed with its words
            self.feed.end(f"failed ({error})")
        finally:
            self.capture.release()


@dataclass
class FrameSource:
    """Where live frames come from: `frames` yields (arrival time or None, (H, W, 3) RGB frame,
    whether it may be dropped); `camera` says whether it runs on its own clock (a camera or a
    stream, stamped on arrival: its frames are dropped when the pipeline falls behind, except those
    kept while it started; a file or the rendered source have no arrival time: the pipeline paces
    them, and drops none)."""

    name: str
    fps: float
    camera: bool
    capture: cv2.VideoCapture | None = None
    rendered: np.ndarray | None = None
    feed: CameraFeed | None = None
    stall_timeout_s: float = STALL_TIMEOUT_S
    path: Path | None = None  # a video file's
    _reader: _CaptureReader | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.camera and self.feed is None and self.capture is not None:
            # Read from now on: frames that come while the pipeline starts are kept, not lost.
            self.feed = CameraFeed(self.fps)
            self._reader = _CaptureReader(self.capture, self.feed, self.name)
            self._reader.start()

    @property
    def ended(self) -> str | None:
        """Why a camera's frames stopped before the run was done with them (None: they did not)."""
        return self.feed.ended if self.feed is not None else None

    @property
    def dropped(self) -> int:
        return self.feed.dropped if self.feed is not None else 0

    def begin(self) -> None:
        if self.feed is not None:
            self.feed.begin()

    def start_live(self) -> None:
        if self.feed is not None:
            self.feed.start_live()

    def frames(self):
        if self.rendered is not None:
            for rgb in self.rendered:
                yield None, rgb, False
            return
        if self.feed is not None:
            wait = max(FIRST_FRAME_WAIT_S, self.stall_timeout_s)
            while (item := self.feed.next(wait)) is not None:
                yield item
                wait = self.stall_timeout_s
            return
        skipped = 0
        while (read := next_decodable_frame(self.capture))[0] is not None:
            skipped += read[1]
            yield None, cv2.cvtColor(read[0], cv2.COLOR_BGR2RGB), False
        if skipped:
            report_undecodable(self.path or Path(self.name), skipped)

    def close(self) -> None:
        if self.feed is not None:
            self.feed.end("closed")
        if self._reader is not None:
            self._reader.stop.set()  # it releases the capture once its read returns
        elif self.capture is not None:
            self.capture.release()


def _stream_capture(address, stall_timeout_s: float) -> cv2.VideoCapture:
    """A camera (an index) or a stream (a URL); a stream's reads give up after the stall timeout,
    so that its reading thread ends soon after the run does."""
    if isinstance(address, int):
        return cv2.VideoCapture(address)
    wait_ms = int(1000 * max(FIRST_FRAME_WAIT_S, stall_timeout_s))
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, wait_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, wait_ms]
    return cv2.VideoCapture(address, cv2.CAP_FFMPEG, timeouts)


def check_stall_timeout(value) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not np.isfinite(seconds) or seconds <= 0:
        raise UserError(f"stall_timeout_s={value} must be a number of seconds above 0, e.g. stall_timeout_s=2.")
    return seconds


def open_source(
    source, synthetic: tuple[int, int] | None = None, stall_timeout_s: float = STALL_TIMEOUT_S
) -> FrameSource:
    """`source=`: a camera index (0), a stream URL (rtsp://, http://, ...) or a video file; None
    with `synthetic` (frames, seed): the embedded synthetic source person, rendered now. A camera or
    stream sending nothing for `stall_timeout_s` seconds ends the run."""
    stall_timeout_s = check_stall_timeout(stall_timeout_s)
    if source is None or str(source) == "":
        if synthetic is None:
            raise UserError("source is not set: give a camera index (source=0), a video file or a stream URL.")
        from motion_transfer.data.synthetic import SYNTHETIC_FPS, render_clip

        frames, _ = render_clip("source", synthetic[0], synthetic[1])
        return FrameSource("synthetic source", float(SYNTHETIC_FPS), camera=False, rendered=frames)
    quiet_native_logs()
    text = str(source).strip()
    if text.isdigit():
        capture = _stream_capture(int(text), stall_timeout_s)
        if not capture.isOpened():
            raise UserError(
                f"source={text}: no camera could be opened at index {text}; check that one is connected "
                "(ls /dev/video*) or give a video file."
            )
        return FrameSource(f"camera {text}", _fps_of(capture), True, capture, stall_timeout_s=stall_timeout_s)
    if "://" in text:
        capture = _stream_capture(text, stall_timeout_s)
        if not capture.isOpened():
            raise UserError(f"source={text}: the stream could not be opened; check the address and that it is live.")
        return FrameSource(text, _fps_of(capture), True, capture, stall_timeout_s=stall_timeout_s)
    path = check_video_path(text, "source")
    capture = open_capture(path)
    if not capture.isOpened():
        raise UserError(f"source: '{text}' cannot be read as a video; give an mp4/avi/mov file that a player can open.")
    return FrameSource(path.name, _fps_of(capture), camera=False, capture=capture, path=path)


def _fps_of(capture: cv2.VideoCapture) -> float:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return float(fps) if np.isfinite(fps) and 0 < fps <= 1000 else 25.0
