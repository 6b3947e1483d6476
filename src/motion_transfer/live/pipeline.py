"""Live motion transfer: a camera (or a video file, or a stream) in, the target copying it out, frame by frame.

Four stages overlap on their own threads, joined by short queues, so a frame is tracked while the
one before it is generated and the one before that is encoded:

    reader -> pose tracking (MediaPipe) -> pose mapping, generator, compositing -> encoder (and window)

MediaPipe, ONNX Runtime, OpenCV and x264 all work without holding Python's GIL, so the stages use
both cores. Nothing here looks ahead: the source's poses are smoothed by a causal One-Euro filter,
and the source's ankle and height statistics (Everybody Dance Now's global normalisation) are
re-estimated from the frames seen so far. A camera or stream keeps only its newest frame when the
pipeline falls behind (the dropped frames are counted); a video file is read at its own frame rate
(`pace=true`) and no frame of it is ever dropped.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from omegaconf import DictConfig

from motion_transfer.data.video import X264_PRESETS, VideoWriter, check_video_path, open_capture
from motion_transfer.demo import display_available, typical_plate_crop
from motion_transfer.pose.crop import placement_features, to_crop_coordinates
from motion_transfer.pose.drawing import render_stick_figures
from motion_transfer.pose.retarget import OneEuroFilter, clip_stats, normalize_global
from motion_transfer.pose.skeleton import NEUTRAL_POSE, reduce_landmarks, valid_frames
from motion_transfer.render.paste import Floor, output_size, paste
from motion_transfer.render.scene_video import INSET, side_by_side, target_floor
from motion_transfer.runtime.errors import Terminated, UserError

log = logging.getLogger(__name__)

RUNTIMES = ("onnx", "torch")
#: The source's ankle and height statistics are re-estimated every this many frames with a person.
STATS_EVERY = 10
#: ... from at most this many seconds of the frames seen last.
STATS_HISTORY_S = 60.0
#: Height of the window's source | result view (not of the video).
WINDOW_HEIGHT = 480
_END = object()


@dataclass
class LiveFrame:
    """One frame on its way through the stages."""

    index: int
    arrived: float  # time.perf_counter() when the frame was there to be read (as a camera delivers it)
    rgb: np.ndarray
    landmarks: np.ndarray | None = None  # (33, 4) in the frame's pixels, or None where no person was found


# -- the source ------------------------------------------------------------------------------------
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


# -- poses -----------------------------------------------------------------------------------------
def check_causal_smoothing(smoothing) -> str:
    """The smoothing method, if it needs no future frame; else a clear error."""
    method = smoothing["method"]
    if method not in ("one_euro", "none"):
        raise UserError(
            f"smoothing={method}: live mode cannot look ahead, so it smooths with smoothing=one_euro "
            "(the default) or smoothing=none."
        )
    return method


class LivePoseMapper:
    """A source pose, as MediaPipe finds it in a frame, onto the target's floor, one frame at a time.

    The pose is smoothed by a One-Euro filter (in units of the frame's height), mapped onto the
    target's body by Everybody Dance Now's global normalisation with the source's statistics from
    the frames seen so far, and framed by the box the target would have there (composite.Floor).
    Returns the pose in that box's crop coordinates (what the generator reads) and where to paste
    it: the box One-Euro filtered, in the target's frame pixels.
    """

    def __init__(self, floor: Floor, fps: float, smoothing: DictConfig | dict):
        self.floor = floor
        method = check_causal_smoothing(smoothing)
        self.fps = float(fps)
        if method == "one_euro":
            cutoff, beta = float(smoothing["min_cutoff"]), float(smoothing["beta"])
            self.pose_filter = OneEuroFilter(fps, cutoff, beta)
            self.box_filter = OneEuroFilter(fps, cutoff, beta)
        else:
            self.pose_filter = self.box_filter = None
        self.history: deque[np.ndarray] = deque(maxlen=max(1, int(STATS_HISTORY_S * fps)))
        self.stats = None
        self.poses_seen = 0
        self.last: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, landmarks: np.ndarray | None, frame_height: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(33, >=2) landmarks in a source frame of this height (None: no person) -> (crop skeleton (13, 2),
        box (3,)); a frame without a person holds the last pose; None before the first person."""
        if landmarks is None:
            return self.last
        pose = reduce_landmarks(np.asarray(landmarks)[None])[0, :, :2].astype(np.float64)
        if not valid_frames(pose[None])[0]:
            return self.last
        if self.pose_filter is not None:
            pose = self.pose_filter(pose / frame_height) * frame_height
        self.history.append(pose)
        self.poses_seen += 1
        if self.stats is None or self.poses_seen % STATS_EVERY == 0:
            self.stats = clip_stats(np.stack(self.history))
        mapped = normalize_global(pose[None], self.stats, self.floor.stats)
        box = self.floor.boxes_for(mapped)[0]
        # The generator reads the pose framed as the target frames itself (the box before smoothing); the
        # person is pasted at the smoothed box, kept inside the frame (as in the demo: the whole body is
        # drawn, a little off the floor, rather than cut at the frame's edge).
        skeleton = to_crop_coordinates(mapped, box[None])[0]
        if self.box_filter is not None:
            scale = float(self.floor.frame_size[1])
            box = self.box_filter(box / scale) * scale
        self.last = (skeleton, self.floor.inside(box[None])[0])
        return self.last


# -- the generator ---------------------------------------------------------------------------------
class LiveGenerator:
    """One crop-coordinate pose (and its placement) -> (person (S, S, 3) uint8, alpha (S, S) float32).

    A learned generator runs in ONNX Runtime (`runtime=onnx`: exported into the run folder once;
    several times faster than PyTorch one frame at a time), or in PyTorch (`runtime=torch`); nearest
    neighbour looks its frame up as in the demo. A temporal model reads the frame it drew before.
    """

    def __init__(self, model, runtime: str, folder: Path, threads: int = 1):
        import torch

        from motion_transfer.models.base import FEEDBACK_CHANNELS

        self.model = model
        self.session = None
        self.previous = None  # a temporal model's feedback of the frame drawn before (None: nobody)
        size = getattr(model, "image_size", 0)
        self.nobody = np.zeros((1, FEEDBACK_CHANNELS, size, size), np.float32)
        if runtime not in RUNTIMES:
            raise UserError(f"runtime={runtime!r} is not known; use one of {', '.join(RUNTIMES)}.")
        # One frame at a time is too little work to share; PyTorch's idle threads would spin on the
        # core that MediaPipe needs (it still renders the stick figures with ONNX Runtime).
        torch.set_num_threads(max(1, int(threads)))
        if runtime == "onnx" and model.learns:
            import onnxruntime as ort

            from motion_transfer.models.export import export_onnx

            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, int(threads))
            options.inter_op_num_threads = 1
            path = export_onnx(model, folder / "generator.onnx")
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self.inputs = [i.name for i in self.session.get_inputs()]
            self(NEUTRAL_POSE, np.zeros(3, np.float32))  # the first run allocates: not on a live frame
            self.previous = None

    def __call__(self, skeleton: np.ndarray, placement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.session is None:
            rgb, alpha = self.model.layers_from_skeletons(skeleton[None], 1, placement[None], self.previous)
            self.previous = self.model.carry(rgb, alpha)
            rgb, alpha = rgb.numpy(), alpha.numpy()
        else:
            vector, stick = self.model.make_inputs(skeleton[None])
            pose = vector if self.model.input_kind == "vector" else stick
            feeds = {"pose": pose.numpy()}
            if "placement" in self.inputs:
                feeds["placement"] = placement[None].astype(np.float32)
            if "previous" in self.inputs:
                feeds["previous"] = self.nobody if self.previous is None else self.previous
            outputs = self.session.run(None, feeds)
            rgb = outputs[0]
            alpha = outputs[1] if len(outputs) > 1 else np.ones_like(rgb[:, :1])
            if self.model.temporal:
                self.previous = np.concatenate([rgb * alpha, alpha], axis=1).astype(np.float32)
        person = ((np.clip(rgb[0], -1.0, 1.0) + 1.0) * 127.5 + 0.5).astype(np.uint8).transpose(1, 2, 0)
        return np.ascontiguousarray(person), alpha[0, 0].astype(np.float32)


# -- the pipeline ----------------------------------------------------------------------------------
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
    """Runs a FrameSource through pose tracking, a LivePoseMapper, a LiveGenerator and compositing
    into the target's plate, writing the result as an H.264 video (and showing it in a window)."""

    def __init__(
        self,
        source: FrameSource,
        mapper: LivePoseMapper,
        generator: LiveGenerator,
        plate: np.ndarray | None,
        out_path: Path,
        max_side: int = 1280,
        feather_width: float = 0.06,
        pace: bool = True,
        max_frames: int = 0,
        show: bool = False,
        preset: str = "ultrafast",
        crop_plate: np.ndarray | None = None,
        crop_side: int = 256,
        person: str = "largest",
    ):
        self.source, self.mapper, self.generator = source, mapper, generator
        self.person = person
        self.plate = plate
        self.out_path = out_path
        self.feather_width = float(feather_width)
        self.pace, self.max_frames, self.show = pace, int(max_frames), show
        self.preset = preset
        self.crop_plate, self.crop_side = crop_plate, int(crop_side)
        if plate is not None:
            self.size = output_size((plate.shape[1], plate.shape[0]), max_side)
            self.scaled_plate = cv2.resize(plate, self.size, interpolation=cv2.INTER_AREA)
            self.scale = np.array([self.size[0] / plate.shape[1], self.size[1] / plate.shape[0]])
        else:
            self.size = (self.crop_side, self.crop_side)
        self.stop = threading.Event()  # every stage ends
        self.stop_reading = threading.Event()  # the reader ends; the frames already read go on
        self.dropped = 0
        self.without_person = 0

    # The reader: frames as they arrive, stamped with their arrival time.
    def _read(self, frames, out: queue.Queue) -> None:
        try:
            self._read_frames(frames, out)
        finally:
            self.source.close()

    def _read_frames(self, frames, out: queue.Queue) -> None:
        start = time.perf_counter()
        period = 1.0 / self.source.fps
        for index, rgb in enumerate(frames):
            if self.stop_reading.is_set() or self.stop.is_set() or (self.max_frames and index >= self.max_frames):
                break
            if self.pace and not self.source.camera:
                # A file delivers its frames as a camera would: frame i at i / fps. A frame read late (the
                # pipeline was behind) still counts from then: its wait is part of its latency.
                arrived = start + index * period
                delay = arrived - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            else:
                arrived = time.perf_counter()
            frame = LiveFrame(index, arrived, rgb)
            if self.source.camera:
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
        mapped = self.mapper(frame.landmarks, frame.rgb.shape[0])
        if mapped is None:
            base = self.scaled_plate if self.plate is not None else self.crop_plate
            return base.copy() if base is not None else np.zeros((*self.size[::-1], 3), np.uint8)
        skeleton, box = mapped
        frame_size = self.mapper.floor.frame_size
        person, alpha = self.generator(skeleton, placement_features(box[None], frame_size)[0])
        if self.plate is None:
            return self._crop_result(person, alpha)
        result = self.scaled_plate.copy()
        scaled_box = box * np.array([self.scale[0], self.scale[1], self.scale.mean()])
        paste(result, person, alpha, scaled_box, feather_width=self.feather_width)
        return result

    def _crop_result(self, person: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        side = self.crop_side
        person = cv2.resize(person, (side, side), interpolation=cv2.INTER_LINEAR)
        if self.crop_plate is None:
            return person
        a = cv2.resize(alpha, (side, side), interpolation=cv2.INTER_LINEAR)
        return cv2.blendLinear(person, self.crop_plate, a, 1.0 - a)

    def run(self) -> LiveResult:
        """Run the source through; the video is kept when the run ends by the source's end, `max_frames`,
        q in the window or Ctrl-C (SIGTERM: kept, then raised again); on a failure nothing is left."""
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
                raise UserError(
                    f"source: {self.source.name} delivered no frame; check that the camera is not used by another "
                    "program, or that the file plays."
                )
            follower.track(extractor, first)
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
            dropped=self.dropped,
            without_person=self.without_person,
            source_fps=self.source.fps,
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
        cv2.imshow("motion transfer (q: stop)", cv2.cvtColor(view, cv2.COLOR_RGB2BGR))
        return (cv2.waitKey(1) & 0xFF) in (ord("q"), 27)


def run_live(cfg: DictConfig) -> Path:
    """Transfer from `source` live; print `fps: N`, write live.mp4 and live.json into the run folder,
    return the video's path."""
    from motion_transfer.models.loading import prepare_data_and_model
    from motion_transfer.pose.retarget import check_smoothing
    from motion_transfer.runtime.atomic import write_json_atomically
    from motion_transfer.runtime.config import start_run

    check_smoothing(cfg.smoothing)
    check_causal_smoothing(cfg.smoothing)
    if cfg.video_preset not in X264_PRESETS:
        raise UserError(
            f"video_preset={cfg.video_preset!r} is not an x264 preset; use one of {', '.join(X264_PRESETS)}."
        )
    if int(cfg.output.max_side) < 64:
        raise UserError(f"output.max_side={cfg.output.max_side} must be at least 64 pixels.")
    if cfg.output.mode not in ("full", "crop"):
        raise UserError(f"output.mode={cfg.output.mode!r} is not known; use one of full, crop.")
    if int(cfg.max_frames) < 0:
        raise UserError(f"max_frames={cfg.max_frames} must be 0 (the whole source) or more.")
    if str(cfg.runtime) not in RUNTIMES:
        raise UserError(f"runtime={cfg.runtime!r} is not known; use one of {', '.join(RUNTIMES)}.")
    synthetic = (int(cfg.synthetic_source_frames), int(cfg.seed) + 1) if cfg.data.kind == "synthetic" else None
    source = open_source(cfg.get("source"), synthetic)
    try:
        out_dir = start_run(cfg)
        datamodule, model = prepare_data_and_model(cfg)
        mapper = LivePoseMapper(target_floor(datamodule), source.fps, cfg.smoothing)
        generator = LiveGenerator(model, str(cfg.runtime), out_dir, int(cfg.threads))
    except BaseException:
        source.close()
        raise
    show = _want_window(cfg.show)
    full_frame = cfg.output.mode == "full" and datamodule.has_plate
    crop_plate = None
    if not full_frame and model.draws_alpha and datamodule.has_plate:
        crop_plate = _crop_plate(datamodule, int(cfg.panel_size))
    pipeline = LivePipeline(
        source,
        mapper,
        generator,
        datamodule.plate if full_frame else None,
        out_dir / "live.mp4",
        max_side=int(cfg.output.max_side),
        feather_width=float(cfg.output.feather),
        pace=bool(cfg.pace),
        max_frames=int(cfg.max_frames),
        show=show,
        preset=str(cfg.video_preset),
        crop_plate=crop_plate,
        crop_side=int(cfg.panel_size),
        person=datamodule.crop_params.person,
    )
    log.info(
        "live: %s at %.2f fps -> %s (%s, runtime=%s)", source.name, source.fps, out_dir, model.model_name, cfg.runtime
    )
    result = pipeline.run()
    summary = result.summary()
    write_json_atomically(out_dir / "live.json", summary)
    log.info(
        "%d frames at %.1f fps (source %.2f fps); latency median %.0f ms, 95th percentile %.0f ms; "
        "%d dropped, %d without a person",
        result.frames,
        result.fps,
        result.source_fps,
        summary["latency_ms_median"],
        summary["latency_ms_p95"],
        result.dropped,
        result.without_person,
    )
    print(f"latency: {summary['latency_ms_median']:.0f} ms median, {summary['latency_ms_p95']:.0f} ms 95th percentile")
    print(f"fps: {result.fps:.1f}")
    return result.video


def _want_window(show) -> bool:
    if str(show).lower() == "auto":
        return display_available()
    if bool(show) and not display_available():
        log.warning("show=true but no display is available (DISPLAY is not set); writing the video only")
        return False
    return bool(show)


def _crop_plate(datamodule, side: int) -> np.ndarray:
    plate = typical_plate_crop(datamodule)[0].permute(1, 2, 0).numpy()
    pixels = ((plate + 1.0) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)
    return cv2.resize(pixels, (side, side), interpolation=cv2.INTER_LINEAR)
