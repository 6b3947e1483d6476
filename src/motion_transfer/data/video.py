"""Reading videos (OpenCV) and writing H.264 MP4 files (PyAV), with clear errors for bad files."""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from motion_transfer.runtime.atomic import partial_path, publish, writing_into
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)

#: Reads that fail in a row before a clip is taken to have ended (at its end they fail at once):
#: a damaged stretch in the middle is shorter, and the frames after it are read.
MAX_FAILED_READS = 250
#: The files whose undecodable frames were reported (one line per file and process).
_reported: set[tuple[str, int, int]] = set()

#: libx264's speed/size trade-offs, fastest first.
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    fps: float
    frame_count: int
    width: int  # as shown: after the rotation tag is applied
    height: int
    rotation: int = 0  # degrees of the clip's rotation tag (phones store pixels sideways)


def quiet_native_logs() -> None:
    """Keep OpenCV's and FFmpeg's own log lines (`[ WARN:0@30.0] ...`, `[h264 @ 0x...] Invalid NAL
    unit size`) off the terminal: the toolkit says in its own words what went wrong. FFmpeg's level
    is read once, when OpenCV first uses FFmpeg: this runs when this module is imported and again
    before each capture is opened. A user who sets OPENCV_FFMPEG_LOGLEVEL or OPENCV_LOG_LEVEL, or
    MOTION_TRANSFER_DEBUG, sees them again."""
    from motion_transfer.runtime.errors import debug_enabled

    if debug_enabled():
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.setLogLevel(0)  # silent


quiet_native_logs()  # now, before anything (a capture, a writer) makes OpenCV load FFmpeg


def open_capture(path: Path) -> cv2.VideoCapture:
    """An OpenCV capture that turns frames upright as players do. Phones store pixels sideways with
    a rotation tag; OpenCV reports the tag but, unless asked, hands the frames over as stored."""
    quiet_native_logs()
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


def next_decodable_frame(capture: cv2.VideoCapture) -> tuple[np.ndarray | None, int]:
    """The next frame that decodes (BGR) and how many reads failed before it; (None, n) at the end.
    OpenCV's read fails on a damaged packet and reads on from the next one when asked again."""
    failed = 0
    while failed < MAX_FAILED_READS:
        ok, frame = capture.read()
        if ok and frame is not None:
            return frame, failed
        failed += 1
    return None, failed


def skip_decodable_frame(capture: cv2.VideoCapture) -> tuple[bool, int]:
    """`next_decodable_frame` without the frame: whether one was passed, and how many reads failed first."""
    failed = 0
    while failed < MAX_FAILED_READS:
        if capture.grab():
            return True, failed
        failed += 1
    return False, failed


def report_undecodable(path: Path, skipped: int) -> None:
    """One warning line per damaged file: its frames that could not be decoded were left out."""
    try:
        stat = Path(path).stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
    except OSError:
        key = (str(path), 0, 0)
    if key not in _reported:
        _reported.add(key)
        log.warning(
            "'%s': %d frame%s could not be decoded (damaged packets) and %s left out; the rest of the clip is used.",
            Path(path).name,
            skipped,
            "s" if skipped != 1 else "",
            "are" if skipped != 1 else "is",
        )


def check_video_path(path: str | os.PathLike, option: str) -> Path:
    """Resolve a user-given video path, or raise a UserError naming the option."""
    if path is None or str(path) == "":
        raise UserError(f"{option} is not set: give the path of a video file, e.g. {option}=clips/dance.mp4.")
    p = Path(path).expanduser().resolve()
    if not p.exists():
        raise UserError(f"{option}: '{path}' does not exist; check the path.")
    if p.is_dir():
        raise UserError(f"{option}: '{path}' is a folder; give a video file inside it.")
    if p.stat().st_size == 0:
        raise UserError(f"{option}: '{path}' is an empty file; give a complete video file.")
    if p.suffix.lower() in _IMAGE_SUFFIXES:
        raise UserError(f"{option}: '{path}' is a still image; give a video file (mp4, avi, mov, ...).")
    return p


def probe_video(path: Path, option: str = "video") -> VideoInfo:
    """Open a video and read its properties; a file that decodes no frame is refused."""
    cap = open_capture(path)
    try:
        if not cap.isOpened():
            raise UserError(
                f"{option}: '{path}' cannot be read as a video; give an mp4/avi/mov file that a player can open."
            )
        frame, _ = next_decodable_frame(cap)
        if frame is None:
            raise UserError(
                f"{option}: '{path}' contains no decodable frame; the file may be truncated or not a video."
            )
        fps = cap.get(cv2.CAP_PROP_FPS)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        rotation = int(round(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0)) % 360
        h, w = frame.shape[:2]
    finally:
        cap.release()
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        fps = 25.0
    return VideoInfo(path=path, fps=float(fps), frame_count=max(count, 0), width=w, height=h, rotation=rotation)


def iter_frames(path: Path, start: int = 0) -> Iterator[np.ndarray]:
    """Yield the frames of a video, upright, as (H, W, 3) uint8 RGB arrays, from its `start`-th frame
    on. Frames that cannot be decoded (damaged packets in the middle) are left out and counted in one
    warning line."""
    cap = open_capture(path)
    skipped = 0
    try:
        for _ in range(start):  # decoded to count them as the reads below do, not converted
            passed, failed = skip_decodable_frame(cap)
            skipped += failed
            if not passed:
                return
        while True:
            frame, failed = next_decodable_frame(cap)
            if frame is None:
                return
            skipped += failed
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
        if skipped:
            report_undecodable(path, skipped)


def decoded_ahead(path: Path, depth: int = 8, start: int = 0) -> Iterator[np.ndarray]:
    """`iter_frames` (from the `start`-th frame), decoded on a worker thread up to `depth` frames ahead of the caller.

    OpenCV decodes and converts without holding the GIL, so the next frames are decoded on the
    second core while the caller (MediaPipe) works on this one. Stopping early, or an error in the
    caller, stops the worker and releases the file.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def decode() -> None:
        try:
            frames = iter_frames(path, start)
            try:
                for frame in frames:
                    if not hand_over(frame):
                        return
            finally:
                frames.close()
            hand_over(end)
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            hand_over(error)

    worker = threading.Thread(target=decode, name="video-decoder", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's content: the identity a cache is keyed by."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class VideoWriter:
    """Write RGB frames to an H.264 MP4 that browsers and common players open.

    Frames go to a hidden temporary file beside the target; `close()` finishes the stream and
    renames it into place, so the final name never holds a half-written video. `abort()` removes
    the temporary file.
    """

    def __init__(
        self, path: str | os.PathLike, fps: float, width: int, height: int, crf: int = 20, preset: str = "veryfast"
    ):
        import av  # imported here: only writers need PyAV

        self.path = Path(path)
        self.tmp_path = partial_path(self.path)
        # yuv420p needs even sides.
        self.width, self.height = width + width % 2, height + height % 2
        self.frames_written = 0
        self.closed = False  # finished (close) or given up (abort)
        self._container = av.open(str(self.tmp_path), mode="w")
        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": preset}
        # One encoder thread: the demo already encodes beside generation, and x264's own threads
        # would compete with it for the same cores.
        self._stream.codec_context.thread_count = 1
        self._av = av

    def write(self, frames: np.ndarray) -> None:
        """Append (H, W, 3) or (N, H, W, 3) uint8 RGB frames."""
        frames = frames[None] if frames.ndim == 3 else frames
        for frame in frames:
            if frame.shape[:2] != (self.height, self.width):
                frame = np.pad(
                    frame, ((0, self.height - frame.shape[0]), (0, self.width - frame.shape[1]), (0, 0)), mode="edge"
                )
            # OpenCV's RGB -> YUV 4:2:0 (BT.601, limited range, as libswscale's default) is cheaper
            # than handing rgb24 frames to PyAV to convert (`make bench`: the demo's encoding stage).
            yuv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420)
            vf = self._av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            with writing_into(self.path.parent):
                for packet in self._stream.encode(vf):
                    self._container.mux(packet)
            self.frames_written += 1

    def close(self) -> Path:
        """Flush, close and move the file to its final name. Returns the final path."""
        self.closed = True
        with writing_into(self.path.parent):
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            return publish(self.tmp_path, self.path)

    def abort(self) -> None:
        self.closed = True
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - the stream may already be broken; the file goes anyway
            pass
        self.tmp_path.unlink(missing_ok=True)


class BackgroundWorker:
    """Runs jobs (video encoding) one after another on a worker thread, so that the caller can
    prepare the next batch meanwhile: libx264 encodes without holding the GIL.

    At most `max_pending` jobs wait; `submit` blocks beyond that, which bounds the memory held.
    A job's exception is raised again in the caller, by the next `submit` or by `finish`.
    """

    def __init__(self, max_pending: int = 2):
        self._jobs: queue.Queue = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="video-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None:  # after a failure, later jobs are dropped
                try:
                    job()
                except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                    self._error = error

    def _raise_failure(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, job: Callable[[], None]) -> None:
        self._raise_failure()
        self._jobs.put(job)

    def finish(self) -> None:
        """Run the jobs still waiting, stop the thread, and raise a job's failure if one failed."""
        self._jobs.put(None)
        self._thread.join()
        self._raise_failure()


def keep_what_was_written(encoder: BackgroundWorker | tuple[BackgroundWorker, ...], writers) -> None:
    """After a failure or Ctrl-C: let the encoder (or the encoders, in the order they hand frames on)
    finish the frames already handed to it, then close each writer that has frames (a playable video)
    and remove the files of those that have none, or that cannot be finished (a full disk)."""
    for worker in encoder if isinstance(encoder, tuple) else (encoder,):
        try:
            worker.finish()
        except BaseException:  # noqa: BLE001 - the first failure is the one to report
            pass
    for writer in writers:
        try:
            if writer.frames_written:
                writer.close()
                continue
        except Exception:  # noqa: BLE001 - the first failure is the one to report
            pass
        writer.abort()
