"""Live motion transfer: a camera (or a video file, or a stream) in, the target copying it out, frame by frame.

Four stages overlap on their own threads, joined by short queues, so a frame is tracked while the
one before it is generated and the one before that is encoded:

    reader -> pose tracking (MediaPipe) -> pose mapping, generator, compositing -> encoder (and window)

MediaPipe, ONNX Runtime, OpenCV and x264 all work without holding Python's GIL, so the stages use
both cores. Nothing here looks ahead: the source's poses are smoothed by a causal One-Euro filter,
and the source's ankle and height statistics (Everybody Dance Now's global normalisation) are
re-estimated from the frames seen so far. A camera or stream keeps only its newest frame when the
pipeline falls behind (the dropped frames are counted), except the frames that came while the
pipeline started (source.CameraFeed); a video file is read at its own frame rate (`pace=true`) and
no frame of it is ever dropped. A camera that stalls or closes ends the run like the end of a file:
the frames done are kept, and the result says why (`LiveResult.ended`).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from motion_transfer.data.video import VideoWriter
from motion_transfer.live.generator import LiveGenerator
from motion_transfer.live.mapping import LivePoseMapper
from motion_transfer.live.source import FrameSource, LiveFrame
from motion_transfer.pose.crop import placement_features
from motion_transfer.pose.drawing import render_stick_figures
from motion_transfer.pose.skeleton import facing_angles, reduce_landmarks
from motion_transfer.render.output import FrameOutput
from motion_transfer.render.scene_video import INSET, side_by_side
from motion_transfer.render.window import show_frames
from motion_transfer.runtime.errors import Terminated, UserError

log = logging.getLogger(__name__)

#: Height of the window's source | result view (not of the video).
WINDOW_HEIGHT = 480
_END = object()


@dataclass
class LiveResult:
    video: Path
    frames: int
    fps: float  # sustained frames out per second: from the first frame written to the last one
    seconds: float  # from the first frame's arrival to the last one written
    latency_ms: list[float]  # per frame: from its arrival to its encoding finished
    dropped: int  # camera frames skipped because the pipeline was behind (never for a file)
    without_person: int
    source_fps: float
    ended: str | None = None  # why a camera's frames stopped coming (it stalled, its stream closed), if they did

    def summary(self) -> dict:
        latency = np.asarray(self.latency_ms)
        return {
            "frames": self.frames,
            "fps": self.fps,
            "seconds": self.seconds,
            "source_fps": self.source_fps,
            "latency_ms_median": float(np.median(latency)),
            "latency_ms_p95": float(np.percentile(latency, 95)),
            "latency_ms_max": float(np.max(latency)),
            "dropped": self.dropped,
            "without_person": self.without_person,
            "ended": self.ended,
        }


class _Stage(threading.Thread):
    """A worker thread that remembers its failure, to raise it again in the caller, and then stops
    the whole pipeline (`stop`), so that no stage waits for it forever."""

    def __init__(self, name: str, work, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.work, self.stop = work, stop
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as error:  # noqa: BLE001 - raised again by the caller
            self.failure = error
            self.stop.set()


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event):
    while not stop.is_set():
        try:
            return q.get(timeout=0.05)
        except queue.Empty:
            continue
    return _END


class LivePipeline:
    """Runs a FrameSource through pose tracking, a LivePoseMapper, a LiveGenerator and an output kind
    (render/output.py: the target's scene or the crop), writing the result as an H.264 video (and
    showing it in a window)."""

    def __init__(
        self,
        source: FrameSource,
        mapper: LivePoseMapper,
        generator: LiveGenerator,
        output: FrameOutput,
        out_path: Path,
        pace: bool = True,
        max_frames: int = 0,
        show: bool = False,
        preset: str = "ultrafast",
        person: str = "largest",
        sink=None,
    ):
        self.source, self.mapper, self.generator = source, mapper, generator
        self.output = output
        self.person = person
        self.out_path = out_path
        self.pace, self.max_frames, self.show = pace, int(max_frames), show
        self.preset = preset
        self.size = output.size
        self.sink = sink  # called with (frame, result) as each result is drawn (the web page shows it)
        self.stop = threading.Event()  # every stage ends
        self.stop_reading = threading.Event()  # the reader ends; the frames already read go on
        self.dropped = 0
        self.without_person = 0
        self.facing = float("nan")  # how the source's body is turned (pose/skeleton.py's facing_angles)
        self.ended: str | None = None  # the source's reason when its frames stopped before the run did

    # The reader: frames as they arrive, stamped with their arrival time.
    def _read(self, frames, out: queue.Queue) -> None:
        try:
            self._read_frames(frames, out)
        finally:
            self.source.close()

    def _read_frames(self, frames, out: queue.Queue) -> None:
        start = time.perf_counter()
        period = 1.0 / self.source.fps
        for index, (stamp, rgb, droppable) in enumerate(frames):
            if self.stop_reading.is_set() or self.stop.is_set() or (self.max_frames and index >= self.max_frames):
                break
            if stamp is not None:  # a camera's: stamped when it arrived
                arrived = stamp
            elif self.pace:
                # A file delivers its frames as a camera would: frame i at i / fps. A frame read late (the
                # pipeline was behind) still counts from then: its wait is part of its latency.
                arrived = start + index * period
                delay = arrived - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            else:
                arrived = time.perf_counter()
            frame = LiveFrame(index, arrived, rgb)
            if droppable:
                while True:  # only the newest frame waits: a camera does not wait for us
                    try:
                        out.put_nowait(frame)
                        break
                    except queue.Full:
                        try:
                            out.get_nowait()
                            self.dropped += 1
                        except queue.Empty:
                            pass
            elif not _put(out, frame, self.stop):
                return
        else:  # the frames ran out: a file's end, or a camera that stalled or closed (it says which)
            self.ended = self.source.ended
        _put(out, _END, self.stop)

    def _track(self, extractor, follower, inbox: queue.Queue, out: queue.Queue) -> None:
        while (frame := _get(inbox, self.stop)) is not _END:
            frame.landmarks = follower.track(extractor, frame.rgb)[0]
            if not _put(out, frame, self.stop):
                return
        _put(out, _END, self.stop)

    def _draw(self, frame: LiveFrame) -> np.ndarray:
        """The result frame: the target in the source's pose (the plate alone before the first person)."""
        if frame.landmarks is None:
            self.without_person += 1
        else:  # a frame without a person holds the last facing, as the mapper holds the last pose
            self.facing = float(facing_angles(np.asarray(frame.landmarks)[None])[0])
        mapped = self.mapper(frame.landmarks, frame.rgb.shape[0])
        if mapped is None:
            return self.output.empty()
        skeleton, box = mapped
        frame_size = self.mapper.floor.frame_size
        person, alpha = self.generator(
            skeleton, placement_features(box[None], frame_size)[0], self.output.side_for(box), self.facing
        )
        return self.output.frame(person, alpha, box)

    def run(self) -> LiveResult:
        """Run the source through; the video is kept when the run ends by the source's end, `max_frames`,
        q in the window or Ctrl-C (SIGTERM: kept, then raised again); on a failure nothing is left."""
        self.source.begin()  # a camera's frames from here on are the run's (MediaPipe's import takes a while)
        from motion_transfer.pose.detector import PoseExtractor
        from motion_transfer.pose.people import PersonFollower

        extractor = follower = writer = None
        reader_started = False
        try:
            # Built before the first frame is read: a camera's first frames do not wait for MediaPipe to load.
            extractor = PoseExtractor(segmentation=False)
            # With several people in the first frame, the one `person` names is followed (people.py); nobody
            # is searched for later: a search's pause would hold up the frames behind it.
            follower = PersonFollower(self.person, self.source.fps, search_every_s=None, segmentation=False)
            # The first frame is searched for people (and MediaPipe's models loaded) before the clock starts:
            # those few hundred milliseconds are the session's start, not the first frames' latency.
            frames = self.source.frames()
            first = next(frames, None)
            if first is None:
                why = f" ({self.source.ended})" if self.source.ended else ""
                raise UserError(
                    f"source: {self.source.name} delivered no frame{why}; check that the camera is not used by "
                    "another program, that the stream is live, or that the file plays."
                )
            # A camera's frames that come during this search are kept and go through after it (source.CameraFeed).
            follower.track(extractor, first[1])
            self.source.start_live()
            frames = itertools.chain([first], frames)
            writer = VideoWriter(self.out_path, self.source.fps, *self.size, preset=self.preset)
            reader_started = True
            return self._run_stages(frames, extractor, follower, writer)
        except BaseException:
            if writer is not None and not writer.closed:
                writer.abort()
            raise
        finally:
            for part in (follower, extractor):
                if part is not None and not getattr(part, "in_use", False):
                    part.close()
            if not reader_started:
                self.source.close()  # else the reader releases it, once it is out of a blocking read
            if self.show:
                cv2.destroyAllWindows()

    def _run_stages(self, frames, extractor, follower, writer: VideoWriter) -> LiveResult:
        frames_in: queue.Queue = queue.Queue(maxsize=2)
        tracked: queue.Queue = queue.Queue(maxsize=2)
        to_encode: queue.Queue = queue.Queue(maxsize=2)
        latency: list[float] = []
        first_arrival: list[float] = []
        first_written: list[float] = []
        last_written = [0.0]

        def encode() -> None:
            while (item := _get(to_encode, self.stop)) is not _END:
                arrived, result = item
                writer.write(result)
                last_written[0] = time.perf_counter()
                if not first_written:
                    first_written.append(last_written[0])
                latency.append(1000.0 * (last_written[0] - arrived))

        stages = [
            _Stage("live-reader", lambda: self._read(frames, frames_in), self.stop),
            _Stage("live-pose", lambda: self._track(extractor, follower, frames_in, tracked), self.stop),
            _Stage("live-encoder", encode, self.stop),
        ]
        reader, tracker, encoder = stages
        for stage in stages:
            stage.start()
        interrupted: KeyboardInterrupt | None = None
        try:
            while (frame := _get(tracked, self.stop)) is not _END:
                if not first_arrival:
                    first_arrival.append(frame.arrived)
                result = self._draw(frame)
                if not _put(to_encode, (frame.arrived, result), self.stop):
                    break
                if self.show and self._show(frame, result):
                    break
                if self.sink is not None:
                    self.sink(frame, result)
        except KeyboardInterrupt as interrupt:
            interrupted = interrupt  # Ctrl-C ends a camera session: the frames so far are kept
        finally:
            # The reader stops; the frames already generated are encoded; then every stage ends.
            self.stop_reading.set()
            _put(to_encode, _END, self.stop)
            encoder.join()
            self.stop.set()
            tracker.join(timeout=10)  # one MediaPipe frame at most
            extractor.in_use = follower.in_use = tracker.is_alive()  # never closed under a running graph
            reader.join(timeout=5)  # a camera may sit in a blocking read: it is released when that returns
        failures = [stage.failure for stage in stages if stage.failure is not None]
        if failures:
            raise failures[0]
        if not latency:  # stopped before the first frame was written: no video to keep
            writer.abort()
            if interrupted is not None:
                raise interrupted
            raise UserError(f"source: no frame of {self.source.name} could be processed.")
        path = writer.close()
        if isinstance(interrupted, Terminated):
            raise interrupted  # SIGTERM: the video is kept, and the run still ends as terminated
        n = len(latency)
        output_span = last_written[0] - first_written[0] if n > 1 else 0.0
        return LiveResult(
            video=path,
            frames=n,
            fps=(n - 1) / output_span if output_span > 0 else 0.0,
            seconds=last_written[0] - first_arrival[0],
            latency_ms=latency,
            dropped=self.dropped + self.source.dropped,
            without_person=self.without_person,
            source_fps=self.source.fps,
            ended=self.ended,
        )

    def _show(self, frame: LiveFrame, result: np.ndarray) -> bool:
        """Source with its skeleton | result, in a window; True when the user pressed q or Esc."""
        points = (
            reduce_landmarks(frame.landmarks[None])[0, :, :2]
            if frame.landmarks is not None
            else np.full((13, 2), np.nan, np.float32)
        )
        mapped = self.mapper.last
        inset = int(INSET * WINDOW_HEIGHT)
        stick = render_stick_figures(
            (mapped[0] if mapped is not None else np.full((13, 2), np.nan, np.float32))[None], inset
        )[0]
        view = side_by_side(frame.rgb, result, stick, points, WINDOW_HEIGHT)
        return show_frames(view[None], "motion transfer (q: stop)")
