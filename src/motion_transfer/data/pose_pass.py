"""The pose pass of a clip: MediaPipe over every frame, the person followed, the masks kept.

MediaPipe's pose graph runs on about one core, and a frame's landmarks hang on the frame before only
through its tracker. So a clip known to be long enough is cut into consecutive parts, one for each
core (at most MAX_PARTS), each with its own decoder, tracker and person follower: on two cores taichi2's
901 frames take about 1.5x less time. A part's tracker starts a second early, on frames the part before
keeps, so that it has settled by its first frame. Its follower chooses the person anew: where the body
it found on the frame before its first is not the one the part before found there, the part is tracked
again, on from the tracker of the part before, as one pass would have.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np

from motion_transfer.data.cache_building import MaskStore, PlateSampler, as_mask_uint8
from motion_transfer.pose.crop import CropParams
from motion_transfer.pose.skeleton import NUM_LANDMARKS
from motion_transfer.runtime.errors import UserError
from motion_transfer.runtime.progress import progress_bar

log = logging.getLogger(__name__)

#: Frames decoded during the pose pass are kept for the crop pass up to this size; beyond it the video
#: is decoded a second time instead (about 1 ms a frame at 960x720: cheaper than the memory). Masks are
#: always kept, PNG-compressed and cut to the person's bounding box (~15-20 kB a frame at 960x720).
FRAME_MEMORY_BUDGET = 512 << 20
#: A video that decodes fewer than this share of the frames its header announces is truncated.
TRUNCATION_SHARE = 0.9
#: At most this many parts run at once (each a MediaPipe graph, tracker and decoder: ~0.3 GB more at 1080p).
MAX_PARTS = 4
#: A part covers at least this many seconds of video: shorter ones spend more on starting than they save.
MIN_PART_SECONDS = 5.0
#: A part's tracker starts this many seconds before the part (MediaPipe smooths its landmarks over frames).
WARMUP_SECONDS = 1.0
#: The same person on the same frame: their body boxes overlap at least this much (intersection over union).
SAME_BODY_IOU = 0.5


@dataclass
class Extraction:
    landmarks: np.ndarray
    detected: np.ndarray
    frames: list[np.ndarray] | None
    masks: MaskStore
    plate: PlateSampler | None
    people: dict  # people.PersonFollower.summary()


@dataclass
class _Part:
    """Consecutive frames [start, stop) of a clip (stop None: to its end) and what their pass found."""

    start: int
    stop: int | None
    masks: MaskStore
    plate: PlateSampler
    rows: list[np.ndarray] = field(default_factory=list)
    found: list[bool] = field(default_factory=list)
    kept: list[np.ndarray] = field(default_factory=list)
    tracker: tuple | None = None  # (PersonFollower, PoseExtractor) as the part's last frame left them
    warmup: int = 0  # frames before `start` tracked first, not kept
    seam: np.ndarray | None = None  # the landmarks found on the frame before `start` (the last warm-up frame)
    people: dict = field(default_factory=dict)  # the follower's summary, its doubtful frames in this part only


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def part_starts(frame_count: int, fps: float, cores: int) -> list[int]:
    """The first frame of each part of a clip of `frame_count` frames (by its header; 0: unknown, one part)."""
    longest = max(1, int(frame_count // max(1.0, MIN_PART_SECONDS * fps)))
    parts = max(1, min(cores, MAX_PARTS, longest))
    return [round(k * frame_count / parts) for k in range(parts)]


def extract_landmarks(video, params: CropParams, progress: bool, option: str) -> Extraction:
    """Run MediaPipe over every frame: landmarks (N, 33, 4), detected (N,), the frames if they fit
    the memory budget, the person masks (compressed), and the plate's sample of frames."""
    keep = video.width * video.height * 3 * max(video.frame_count, 1) <= FRAME_MEMORY_BUDGET
    starts = part_starts(video.frame_count, video.fps, usable_cores())
    stops = [*starts[1:], None]
    warmup = round(WARMUP_SECONDS * video.fps)
    parts = [_new_part(start, stop, video, warmup) for start, stop in zip(starts, stops)]
    bar = progress_bar(video.frame_count or None, f"poses {video.path.name}", enabled=progress, leave=False)
    stop = threading.Event()
    try:
        if len(parts) == 1:
            _track(parts[0], video, params, keep, bar, stop)
        else:
            with ThreadPoolExecutor(len(parts), thread_name_prefix="pose-part") as pool:
                running = [pool.submit(_track, part, video, params, keep, bar, stop) for part in parts]
                try:
                    for done in as_completed(running):
                        done.result()
                except BaseException:
                    stop.set()  # Ctrl-C or a failure: the other parts stop at their next frame
                    raise
            _join_seams(parts, video, params, keep, bar, stop)
    finally:
        for part in parts:
            _close(part)
        bar.close()  # after the extractors give descriptor 2 back (detector.py): its line is cleared on the terminal
    return _merged(parts, video, option, keep)


def _new_part(start: int, stop: int | None, video, warmup: int = 0) -> _Part:
    part = _Part(start, stop, MaskStore(video.height, video.width), PlateSampler(video.frame_count))
    part.warmup = min(start, warmup)
    return part


def _track(part: _Part, video, params: CropParams, keep: bool, bar, stop: threading.Event, tracker=None) -> None:
    """Run the pose pass over the part's frames, with a tracker of its own unless one is given (it then
    goes on from where that tracker's frames ended)."""
    from motion_transfer.data.video import decoded_ahead
    from motion_transfer.pose.detector import PoseExtractor
    from motion_transfer.pose.people import PersonFollower

    if tracker is None:
        follower = PersonFollower(
            params.person, video.fps, params.min_detection_confidence, params.min_tracking_confidence
        )
        tracker = (follower, PoseExtractor(params.min_detection_confidence, params.min_tracking_confidence))
    part.tracker = tracker
    follower, extract = tracker
    doubtful_before = follower.doubtful
    missing = np.full((NUM_LANDMARKS, 4), np.nan, dtype=np.float32)
    count = None if part.stop is None else part.stop - part.start
    for i, frame in enumerate(decoded_ahead(video.path, start=part.start - part.warmup), start=-part.warmup):
        if stop.is_set() or (count is not None and i >= count):
            break
        lm, mask = follower.track(extract, frame)
        if i < 0:  # the warm-up: only its last frame's person is kept, for the seam
            part.seam, doubtful_before = lm, follower.doubtful
            continue
        mask = None if lm is None or mask is None else as_mask_uint8(mask, frame.shape[:2])
        part.rows.append(missing if lm is None else lm)
        part.found.append(lm is not None)
        part.masks.append(mask)
        part.plate.offer(part.start + i, frame, mask)
        if keep:
            part.kept.append(frame)
        bar.update()
    part.people = {**follower.summary(), "doubtful_frames": follower.doubtful - doubtful_before}


def _join_seams(parts: list[_Part], video, params: CropParams, keep: bool, bar, stop: threading.Event) -> None:
    """Where a part's person is not the one the part before followed, track that part again on from the
    part before's tracker (the follower keeps following whom it followed)."""
    for k in range(1, len(parts)):
        before, after = parts[k - 1], parts[k]
        if _continues(before, after):
            continue
        log.info("frames from %d on: the person found was not the one followed; tracked again", after.start)
        _close(after)
        bar.update(-len(after.found))
        parts[k] = _new_part(after.start, after.stop, video)
        _track(parts[k], video, params, keep, bar, stop, tracker=before.tracker)
        before.tracker = None  # now the retracked part's


def _continues(before: _Part, after: _Part) -> bool:
    """Whether `after` follows the person `before` followed: the same body on the frame both tracked (the
    last of `after`'s warm-up), else no jump from `before`'s last person found to `after`'s first."""
    from motion_transfer.pose.people import body_box, jumped

    if after.seam is not None and before.found and before.found[-1]:
        a, b = body_box(before.rows[-1]), body_box(after.seam)
        overlap = np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None))
        union = np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - overlap
        return overlap >= SAME_BODY_IOU * union
    last, first = np.flatnonzero(before.found), np.flatnonzero(after.found)
    if len(last) == 0 or len(first) == 0:
        return True
    gap = after.start + int(first[0]) - (before.start + int(last[-1]))
    return not jumped(body_box(before.rows[last[-1]]), body_box(after.rows[first[0]]), gap)


def _close(part: _Part) -> None:
    if part.tracker is not None:
        for closing in part.tracker:
            closing.close()
        part.tracker = None


def _merged(parts: list[_Part], video, option: str, keep: bool) -> Extraction:
    """The parts' findings in frame order; a clip without frames, or cut short, is refused."""
    first = parts[0]
    rows = [row for part in parts for row in part.rows]
    if not rows:
        raise UserError(
            f"{option}: '{video.path}' contains no decodable frame; the file may be truncated or not a video."
        )
    if video.frame_count and len(rows) < TRUNCATION_SHARE * video.frame_count:
        raise UserError(
            f"{option}: '{video.path}' stops decoding after {len(rows)} of its {video.frame_count} frames; "
            "the file looks truncated (still downloading?): give the complete file."
        )
    for part in parts[1:]:
        first.masks.extend(part.masks)
        first.plate.extend(part.plate)
    found = np.array([f for part in parts for f in part.found], dtype=bool)
    frames = [frame for part in parts for frame in part.kept] if keep else None
    return Extraction(np.stack(rows), found, frames, first.masks, first.plate, _people(parts))


def _people(parts: list[_Part]) -> dict:
    """The followers' summary over the clip: whom, how many at its start, and whether several were seen."""
    return {
        "person": parts[0].people["person"],
        "people_at_start": parts[0].people["people_at_start"],
        "several": any(part.people["several"] for part in parts),
        "doubtful_frames": sum(part.people["doubtful_frames"] for part in parts),
    }
