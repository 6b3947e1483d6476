"""Following one person through a clip when several are in view.

MediaPipe's legacy pose finds one person (its first detection, then tracked from frame to frame):
with two people in view it picks one on its own, and its track can jump from one to the other or
land between them. So the first frame is searched for everyone in it (MediaPipe on the frame, then
again with each person found blanked out), and `person` chooses whom to follow: the largest, the
one furthest left or right, or the one nearest the centre. While several people are known to be in
view, the tracker sees only a square around the followed person (cut from the frame, so that the
person is as large for MediaPipe's detector as in a clip of one), and a detection that jumps in
position or size from the track is doubtful: it is dropped (the frame counts as one without a
person) and counted. A clip that starts with one person is searched again every two seconds for
anyone who walks in (in the whole frame only: one model run). A lone person too small for the
detector in the whole frame (MediaPipe shrinks it to 224 pixels: a person in a corner of a wide
shot) is tracked in squares as well.
"""

from __future__ import annotations

import logging
from collections import deque

import cv2
import numpy as np

from motion_transfer.pose.crop import PERSON_CHOICES, body_extent

log = logging.getLogger(__name__)

#: At most this many people are looked for in one frame.
MAX_PEOPLE = 4
#: A clip with one person in view is searched for others this often.
SEARCH_EVERY_S = 2.0
#: With several people in view, the tracker sees a square of this many body heights around the followed one.
REGION_SIDE = 1.6
#: ... resized to this many pixels (or the frame's shorter side, if smaller).
SQUARE_PIXELS = 512
#: A person found is blanked with this fraction of its height around its box before looking again.
BLANK_GROWTH = 0.1
#: Doubtful: the body's centre moved more than this many body heights a frame since the last frame kept...
JUMP = 0.5
#: ... or its height changed by more than this factor a frame.
SCALE_CHANGE = 1.3
#: Tracked in squares, a person lost for this many frames is looked for in the whole frame (again every as many).
REACQUIRE_EVERY = 3


def body_box(landmarks: np.ndarray) -> np.ndarray:
    """(33, >=2) landmarks in pixels -> (4,) x0, y0, x1, y1 of the body, head included."""
    return body_extent(np.asarray(landmarks)[None])[0]


def _grown(box: np.ndarray, sideways: float, vertical: float) -> np.ndarray:
    height = box[3] - box[1]
    return box + np.array([-sideways, -vertical, sideways, vertical]) * height


def _pixels(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    x0, y0, x1, y1 = box
    return (
        int(np.clip(np.floor(x0), 0, w)),
        int(np.clip(np.floor(y0), 0, h)),
        int(np.clip(np.ceil(x1), 0, w)),
        int(np.clip(np.ceil(y1), 0, h)),
    )


def blank(frame: np.ndarray, box: np.ndarray, fill: np.ndarray) -> None:
    """Paint `box` (x0, y0, x1, y1) of `frame` with `fill`, in place."""
    x0, y0, x1, y1 = _pixels(box, frame.shape)
    frame[y0:y1, x0:x1] = fill


def cut_square(frame: np.ndarray, centre: np.ndarray, side: int, fill: np.ndarray) -> tuple[np.ndarray, int, int]:
    """A (side, side) square of `frame` around `centre` (x, y), painted with `fill` beyond the frame's
    edges, and the frame coordinates (x0, y0) of its top-left pixel."""
    x0, y0 = int(round(centre[0] - side / 2.0)), int(round(centre[1] - side / 2.0))
    square = np.empty((side, side, frame.shape[2]), dtype=frame.dtype)
    square[:] = fill
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + side, frame.shape[1]), min(y0 + side, frame.shape[0])
    if fx0 < fx1 and fy0 < fy1:
        square[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0] = frame[fy0:fy1, fx0:fx1]
    return square, x0, y0


def place_mask(mask: np.ndarray, shape: tuple[int, int], x0: int, y0: int) -> np.ndarray:
    """A square's (side, side) mask at (x0, y0) in a frame of `shape` (height, width): zero elsewhere."""
    out = np.zeros(shape, dtype=mask.dtype)
    side = mask.shape[0]
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + side, shape[1]), min(y0 + side, shape[0])
    if fx0 < fx1 and fy0 < fy1:
        out[fy0:fy1, fx0:fx1] = mask[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
    return out


def search_windows(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) parts of a frame to look for people in: the whole frame, then, for a wide or
    tall frame, squares across it overlapping by half. MediaPipe's detector sees a frame shrunk to
    224 pixels: a person in a third of a wide frame is too small for it there, not in a square."""
    windows = [(0, 0, width, height)]
    side = min(width, height)
    long = max(width, height)
    if long > 1.2 * side:
        starts = np.linspace(0, long - side, max(2, int(np.ceil(2 * long / side)) - 1)).round().astype(int)
        for start in starts:
            windows.append((start, 0, start + side, side) if width > height else (0, start, side, start + side))
    return windows


def find_people(
    frame: np.ndarray, search, blanked=(), max_people: int = MAX_PEOPLE, whole_frame_only: bool = False
) -> list[np.ndarray]:
    """Everyone MediaPipe finds in an RGB frame: (33, 4) landmarks each in the frame's pixels, found
    one after the other in each search window (the whole frame only, if asked: one model run instead
    of several), each blanked out before looking again. `search` is a still-image PoseExtractor; the
    boxes in `blanked` are painted over first."""
    fill = np.asarray(frame.reshape(-1, frame.shape[-1]).mean(axis=0), dtype=frame.dtype)
    view = frame.copy()
    for box in blanked:
        blank(view, box, fill)
    found = []
    windows = search_windows(frame.shape[1], frame.shape[0])
    for x0, y0, x1, y1 in windows[:1] if whole_frame_only else windows:
        while len(found) < max_people:
            landmarks = search(np.ascontiguousarray(view[y0:y1, x0:x1]))
            if landmarks is None:
                break
            landmarks = landmarks.copy()
            landmarks[:, 0] += x0
            landmarks[:, 1] += y0
            found.append(landmarks)
            blank(view, _grown(body_box(landmarks), BLANK_GROWTH, BLANK_GROWTH), fill)
    return found


def jumped(last: np.ndarray, box: np.ndarray, frames: int = 1) -> bool:
    """Whether a body's box is too far from, or too unlike in height, the `last` one kept `frames` frames
    before: a person bending or walking changes by a few percent a frame, somebody else's box at once."""
    last_height = float(last[3] - last[1])
    moved = np.hypot(*((box[:2] + box[2:]) / 2.0 - (last[:2] + last[2:]) / 2.0))
    ratio = float(box[3] - box[1]) / max(last_height, 1e-6)
    limit = SCALE_CHANGE**frames
    return moved > JUMP * last_height * frames or not (1 / limit <= ratio <= limit)


def choose(candidates: list[np.ndarray], person: str, frame_size: tuple[int, int]) -> int:
    """Which of the candidates' (33, >=2) landmarks `person` means, in a (width, height) frame."""
    boxes = np.stack([body_box(c) for c in candidates])
    centre_x = (boxes[:, 0] + boxes[:, 2]) / 2.0
    if person == "largest":
        return int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
    if person == "left":
        return int(np.argmin(centre_x))
    if person == "right":
        return int(np.argmax(centre_x))
    if person == "center":
        return int(np.argmin(np.abs(centre_x - frame_size[0] / 2.0)))
    raise ValueError(f"unknown person choice {person!r}")


class PersonFollower:
    """Keeps MediaPipe's video-mode tracker on one person: `track(extract, frame)` for each frame of a
    clip in order (see the module's docstring)."""

    def __init__(
        self,
        person: str,
        fps: float,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        search_every_s: float | None = SEARCH_EVERY_S,
        segmentation: bool = True,
    ):
        """`search_every_s`: how often a clip with one person in view is searched for others (None:
        never, and a lost person is looked for in the whole frame only: live mode, where a search's pause
        would delay the frames behind it). `segmentation`: whether `track` gives the person's mask."""
        from motion_transfer.pose.detector import PoseExtractor

        if person not in PERSON_CHOICES:
            raise ValueError(f"unknown person choice {person!r}; use one of {', '.join(PERSON_CHOICES)}")
        self.person = person
        self.search_every = max(1, int(round(search_every_s * fps))) if search_every_s else 0
        self.search = PoseExtractor(min_detection_confidence, static_image_mode=True, segmentation=False)
        self.confidence = (min_detection_confidence, min_tracking_confidence)
        self.square_tracker = None
        self.segmentation = segmentation
        self.square_size = 0
        self.index = -1
        self.several = False  # several people have been seen
        self.in_squares = False  # the tracker sees the followed person's square only
        self.people_at_start = 0
        self.doubtful = 0
        self.lost = 0
        self.box: np.ndarray | None = None  # the followed body's last box kept
        self.heights: deque[float] = deque(maxlen=15)

    def track(self, extract, frame: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The followed person's (33, 4) landmarks and mask in this RGB frame, as `extract` (a video-mode
        PoseExtractor) gives them; (None, None) where nobody, or somebody doubtful, was found."""
        self._look_around(frame)
        if not self.in_squares or self.box is None:
            landmarks, mask = extract.extract(frame)
        else:
            landmarks, mask = self._track_square(frame)
        landmarks = self.accept(landmarks)
        return (landmarks, mask) if landmarks is not None else (None, None)

    def _track_square(self, frame: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Track on the square around the followed person, resized to one size for the whole clip (the
        video-mode graph refuses a change of size), with a tracker of its own."""
        from motion_transfer.pose.detector import PoseExtractor

        if self.square_tracker is None:
            self.square_size = int(min(frame.shape[0], frame.shape[1], SQUARE_PIXELS))
            self.square_tracker = PoseExtractor(*self.confidence, segmentation=self.segmentation)
        fill = np.asarray(frame.reshape(-1, frame.shape[-1]).mean(axis=0), dtype=frame.dtype)
        centre = (self.box[:2] + self.box[2:]) / 2.0
        side = max(16, int(round(REGION_SIDE * float(np.median(self.heights)))))
        square, x0, y0 = cut_square(frame, centre, side, fill)
        size = self.square_size
        landmarks, mask = self.square_tracker.extract(cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA))
        if landmarks is None:
            return None, None
        landmarks = landmarks.copy()
        landmarks[:, :3] *= side / size
        landmarks[:, 0] += x0
        landmarks[:, 1] += y0
        if mask is not None:
            mask = place_mask(cv2.resize(mask, (side, side), interpolation=cv2.INTER_LINEAR), frame.shape[:2], x0, y0)
        return landmarks, mask

    def _look_around(self, frame: np.ndarray) -> None:
        """Searches for people: everyone at the first frame; anyone besides the followed person every
        SEARCH_EVERY_S; the followed person again, in squares, every REACQUIRE_EVERY frames lost."""
        self.index += 1
        if self.index == 0:
            candidates = find_people(frame, self.search)
            self.search.stop_silencing()  # its notices are behind us even where it found nobody
            self.people_at_start = len(candidates)
            if len(candidates) > 1:
                self._follow(candidates[choose(candidates, self.person, (frame.shape[1], frame.shape[0]))])
                self.several = True
            elif candidates and self.search(frame) is None:
                # Too small for the detector in the whole frame (found in a square): tracked in squares too.
                self._follow(candidates[0])
        elif self.search_every and not self.several and self.box is not None and self.index % self.search_every == 0:
            grown = _grown(self.box, BLANK_GROWTH, BLANK_GROWTH)
            if find_people(frame, self.search, blanked=[grown], max_people=1, whole_frame_only=True):
                log.info("a second person came into view at frame %d: following the first one", self.index)
                self.several = self.in_squares = True
        elif self.in_squares and self.lost >= REACQUIRE_EVERY and self.lost % REACQUIRE_EVERY == 0:
            candidates = find_people(frame, self.search, whole_frame_only=not self.search_every)
            if candidates:
                nearest = candidates[self._nearest(candidates)]
                if not self._jumped(body_box(nearest)):  # else not the person lost: keep looking
                    self._follow(nearest)

    def accept(self, landmarks: np.ndarray | None) -> np.ndarray | None:
        """`landmarks` if they continue the track (or start it), else None (and counted as doubtful
        while several people are in view)."""
        if landmarks is None:
            self.lost += 1
            return None
        box = body_box(landmarks)
        if not np.isfinite(box).all():
            self.lost += 1
            return None
        if self.box is not None and self._jumped(box):
            self.doubtful += 1
            if self.several:  # most likely somebody else: keep following the track
                self.lost += 1
                return None
        self.box, self.lost = box, 0
        self.heights.append(float(box[3] - box[1]))
        return landmarks

    def summary(self) -> dict:
        return {
            "person": self.person,
            "people_at_start": self.people_at_start,
            "several": self.several,
            "doubtful_frames": self.doubtful,
        }

    def close(self) -> None:
        self.search.close()
        if self.square_tracker is not None:
            self.square_tracker.close()

    def __enter__(self) -> PersonFollower:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _follow(self, landmarks: np.ndarray) -> None:
        self.in_squares = True
        self.box = body_box(landmarks)
        self.heights.clear()
        self.heights.append(float(self.box[3] - self.box[1]))
        self.lost = 0

    def _jumped(self, box: np.ndarray) -> bool:
        return jumped(self.box, box, 1 + self.lost)  # a person lost for a while may have moved on meanwhile

    def _nearest(self, candidates: list[np.ndarray]) -> int:
        """The candidate most like the last body kept: position and size."""
        boxes = np.stack([body_box(c) for c in candidates])
        height = float(self.box[3] - self.box[1])
        moved = np.hypot(*(((boxes[:, :2] + boxes[:, 2:]) - (self.box[:2] + self.box[2:])) / 2.0).T) / height
        scale = np.abs(np.log((boxes[:, 3] - boxes[:, 1]) / height))
        return int(np.argmin(moved + scale))
