"""A moving camera: every frame registered onto one scene, and that scene's background plate.

A camera that pans, zooms or shakes to follow the performer films the same stage from shifting
viewpoints, so no single plate fits every frame (plate.py's camera check fails). Here each frame
is mapped onto the first by a similarity transform (shift, scale, rotation), fitted with RANSAC to
background corners tracked by pyramidal Lucas-Kanade from a keyframe (the person's dilated mask
excluded; a new keyframe when too few corners survive, so drift only adds up at keyframe changes).
The sampled frames, warped onto a canvas that holds all their views, give the scene's plate by the
same masked median as a static camera's; each frame's plate is the scene warped back into it.

Letterbox bars, burned-in captions and logos stay put in the frame while the scene moves under
them: they would pin the registration to the identity. The picture (`picture_region`) is the
rectangle of rows and columns that change over the clip; corners are tracked inside it only, and
outside it each frame's plate keeps the static median (the bars and captions as they are).

Measured on taichi2.mp4 (960x720, 901 frames; the camera pans ~580 px and zooms ~10% to follow
the performer): registration 2.1 s; the plate's camera residual (plate.camera_residual, over the
picture) falls from 14.0 grey levels for one static plate to 4.0, under plate.STATIC_CAMERA_MAX_RESIDUAL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from motion_transfer.data.plate import (
    INPAINT_RADIUS,
    MIN_VISIBLE_SHARE,
    RESIDUAL_QUANTILE,
    STATIC_CAMERA_MAX_RESIDUAL,
    PlateEstimate,
    _masked_median,
    covered_pixels,
)
from motion_transfer.pose.crop import box_transforms, crop_frame

log = logging.getLogger(__name__)

#: Frames are registered at this longer side (pixels): corners are tracked in a reduced copy.
REGISTRATION_SIDE = 480
#: A pixel belongs to the picture when it differs from the static median by more than this many
#: grey levels in at least PICTURE_QUANTILE of the sampled frames ...
PICTURE_CHANGE = 4
PICTURE_QUANTILE = 0.1
#: ... and a row or column belongs to it when more than this share of its pixels inside the
#: picture do (taichi2.mp4: ~1.0 in the picture, 0.3-0.4 in the caption rows, 0 in the bars).
PICTURE_SHARE = 0.5
#: Corners tracked from a keyframe; a new keyframe when fewer than MIN_INLIERS fit the motion.
MAX_CORNERS = 300
MIN_INLIERS = 40
#: At least this many tracked corners to fit a motion at all; fewer: the frame keeps the last one.
MIN_TRACKED = 12
#: RANSAC's inlier distance and the forward-backward check, in registration pixels.
RANSAC_THRESHOLD = 1.0
FORWARD_BACKWARD = 0.5
#: A clip counts as registered when at most this share of its frames failed to register.
MAX_FAILED_SHARE = 0.1
#: The scene canvas reaches at most one frame beyond the first frame's view on each side.
MAX_CANVAS_FRAMES = 1
#: The sampled views of one band of the scene's canvas held at once, in bytes (colours and visibility).
SCENE_BAND_BYTES = 128 << 20


@dataclass(frozen=True)
class Scene:
    """The background of every frame of a clip.

    image: (CH, CW, 3) uint8 RGB, the scene's plate; frame_to_scene: (N, 3, 3) maps frame t's pixels
    onto the image's; picture: (x, y, w, h), the part of each frame that shows the scene; overlay:
    (H, W, 3) uint8, what each frame shows outside the picture (letterbox bars, captions);
    reference: the frame whose view full-frame output shows.
    """

    image: np.ndarray
    frame_to_scene: np.ndarray
    picture: tuple[int, int, int, int]
    overlay: np.ndarray
    reference: int

    @classmethod
    def still(cls, plate: np.ndarray, n_frames: int) -> Scene:
        """A static camera's scene: one plate that fits every frame."""
        h, w = plate.shape[:2]
        return cls(plate, np.tile(np.eye(3), (int(n_frames), 1, 1)), (0, 0, w, h), plate, 0)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        return int(self.overlay.shape[1]), int(self.overlay.shape[0])

    @property
    def moves(self) -> bool:
        return not np.allclose(self.frame_to_scene, np.eye(3)[None])

    def plate_for(self, frame: int) -> np.ndarray:
        """(H, W, 3) uint8: the background as frame `frame` sees it."""
        if not self.moves:
            return self.image
        width, height = self.frame_size
        scene_to_frame = np.linalg.inv(self.frame_to_scene[frame])
        plate = cv2.warpAffine(
            self.image, scene_to_frame[:2], (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        x, y, w, h = self.picture
        out = self.overlay.copy()
        out[y : y + h, x : x + w] = plate[y : y + h, x : x + w]
        return out

    def crops(self, boxes: np.ndarray, crop_size: int, out_size: int) -> np.ndarray:
        """(N, 3) crop boxes, one per frame in clip order -> (N, out_size, out_size, 3) uint8 crops
        of each frame's plate, cut like the frames' own crops (crop.crop_frame at crop_size, then
        area-resized). A moving camera's are warped from the scene directly, the scene blurred once
        for the typical box (crop_frame blurs each frame for its own box)."""
        boxes = np.asarray(boxes, dtype=np.float64)
        out = np.empty((len(boxes), out_size, out_size, 3), dtype=np.uint8)
        if len(boxes) == 0:
            return out
        size = (int(crop_size), int(crop_size))
        mats = np.concatenate([box_transforms(boxes, crop_size), np.tile([[[0.0, 0.0, 1.0]]], (len(boxes), 1, 1))], 1)
        scene, overlay = self.image, self.overlay
        shrink = float(np.median(boxes[:, 2])) / crop_size
        if self.moves and shrink > 1.5:
            k = int(shrink) | 1
            scene, overlay = cv2.GaussianBlur(scene, (k, k), 0), cv2.GaussianBlur(overlay, (k, k), 0)
        x, y, w, h = self.picture
        inside = np.zeros(overlay.shape[:2], dtype=np.float32)
        inside[y : y + h, x : x + w] = 1.0
        whole_picture = (x, y, w, h) == (0, 0, overlay.shape[1], overlay.shape[0])
        warp = {"flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_REPLICATE}
        for t, (box, mat) in enumerate(zip(boxes, mats)):
            if not self.moves:
                cut = crop_frame(scene, box, crop_size)
            else:
                cut = cv2.warpAffine(scene, (mat @ np.linalg.inv(self.frame_to_scene[t]))[:2], size, **warp)
                if not whole_picture:
                    weight = cv2.warpAffine(inside, mat[:2], size, **warp)[..., None]
                    below = cv2.warpAffine(overlay, mat[:2], size, **warp).astype(np.float32)
                    cut = np.round(below + weight * (cut - below)).astype(np.uint8)
            if crop_size != out_size:
                cut = cv2.resize(cut, (out_size, out_size), interpolation=cv2.INTER_AREA)
            out[t] = cut
        return out

    def to_view(self) -> np.ndarray:
        """(N, 3, 3): frame t's pixels -> the reference frame's (where full-frame output is drawn)."""
        return np.linalg.inv(self.frame_to_scene[self.reference])[None] @ self.frame_to_scene

    def meta(self) -> dict:
        """What a cache records of it beside the arrays."""
        return {"picture": [int(v) for v in self.picture], "reference_frame": int(self.reference)}


def map_points(transforms: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 3, 3) transforms applied to (N, K, 2) points, one transform per row."""
    points = np.asarray(points, dtype=np.float64)
    return points @ transforms[:, :2, :2].transpose(0, 2, 1) + transforms[:, None, :2, 2]


def map_boxes(transforms: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, 3, 3) similarity transforms applied to (N, 3) boxes (cx, cy, side)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    centres = map_points(transforms, boxes[:, None, :2])[:, 0]
    scale = np.sqrt(np.abs(np.linalg.det(transforms[:, :2, :2])))
    return np.concatenate([centres, (boxes[:, 2] * scale)[:, None]], axis=1)


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """[start, stop) of the longest run of True in a 1-D bool array ((0, 0) when none)."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, stops = edges[::2], edges[1::2]
    if len(starts) == 0:
        return 0, 0
    i = int(np.argmax(stops - starts))
    return int(starts[i]), int(stops[i])


def picture_region(frames: np.ndarray, static_plate: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, w, h): the rows and columns of the frame that change over the sampled frames (K, H,
    W, 3), i.e. show the moving scene; letterbox bars and captions stay out. The whole frame when
    the changing part is less than half of either side (nothing to single out)."""
    k, h, w = frames.shape[:3]
    still = cv2.cvtColor(static_plate, cv2.COLOR_RGB2GRAY).astype(np.int16)
    changed = np.zeros((h, w), dtype=np.int32)
    for frame in frames:
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY).astype(np.int16)
        changed += np.abs(grey - still) > PICTURE_CHANGE
    live = changed >= max(1, int(np.ceil(PICTURE_QUANTILE * k)))
    # Shares within the picture found so far: bars along one side must not dilute the other's.
    column_share = live.mean(axis=0)
    x0, x1 = _longest_run(column_share > PICTURE_SHARE * column_share.max())
    for _ in range(2):
        y0, y1 = _longest_run(live[:, x0:x1].mean(axis=1) > PICTURE_SHARE)
        x0, x1 = _longest_run(live[y0:y1].mean(axis=0) > PICTURE_SHARE)
    if y1 - y0 < h / 2 or x1 - x0 < w / 2:
        return 0, 0, w, h
    return x0, y0, x1 - x0, y1 - y0


class CameraTracker:
    """Registers the frames of a clip, fed in order, onto its first frame.

    `add(frame, mask)` takes (H, W, 3) uint8 RGB and the person's (H, W) uint8 mask (or None);
    `transforms` then holds (N, 3, 3) maps from each frame's pixels to the first frame's, and
    `failures` how many frames found no motion (they keep the previous frame's)."""

    def __init__(self, frame_size: tuple[int, int], picture: tuple[int, int, int, int]):
        width, height = frame_size
        self.scale = min(1.0, REGISTRATION_SIDE / max(width, height))
        self.small = (max(8, round(width * self.scale)), max(8, round(height * self.scale)))
        x, y, w, h = picture
        inside = np.zeros((height, width), dtype=np.uint8)
        inside[y : y + h, x : x + w] = 1
        inside = cv2.resize(inside, self.small, interpolation=cv2.INTER_NEAREST)
        # A margin inside the picture: the bars' edge is a static corner line.
        self.inside = cv2.erode(inside, np.ones((9, 9), np.uint8))
        self._person_kernel = np.ones((7, 7), np.uint8)
        self._to_small = np.diag([self.scale, self.scale, 1.0])
        self._from_small = np.linalg.inv(self._to_small)
        self.transforms: list[np.ndarray] = []
        self.failures = 0
        self._key: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # grey, corners, transform
        self._last_points: np.ndarray | None = None

    def _allowed(self, mask: np.ndarray | None) -> np.ndarray:
        if mask is None:
            return self.inside
        person = cv2.dilate(cv2.resize(mask, self.small, interpolation=cv2.INTER_AREA), self._person_kernel)
        return self.inside & (person < 50)

    def _motion(self, grey: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray | None, int]:
        """The key's corners tracked into `grey`: (3, 3) map from this frame's small pixels to the
        key's, or None; and the number of inliers."""
        key_grey, corners, _ = self._key
        lk = {"winSize": (21, 21), "maxLevel": 3, "flags": cv2.OPTFLOW_USE_INITIAL_FLOW}
        moved, found, _ = cv2.calcOpticalFlowPyrLK(key_grey, grey, corners, self._last_points.copy(), **lk)
        back, found_back, _ = cv2.calcOpticalFlowPyrLK(grey, key_grey, moved, corners.copy(), **lk)
        good = (found[:, 0] == 1) & (found_back[:, 0] == 1)
        good &= np.linalg.norm((back - corners)[:, 0], axis=1) < FORWARD_BACKWARD
        xs = np.clip(np.round(moved[:, 0, 0]).astype(int), 0, self.small[0] - 1)
        ys = np.clip(np.round(moved[:, 0, 1]).astype(int), 0, self.small[1] - 1)
        good &= allowed[ys, xs] > 0  # a corner the person walked over is not background any more
        self._last_points = moved
        if good.sum() < MIN_TRACKED:
            return None, 0
        fit, inliers = cv2.estimateAffinePartial2D(
            moved[good], corners[good], method=cv2.RANSAC, ransacReprojThreshold=RANSAC_THRESHOLD
        )
        if fit is None:
            return None, 0
        return np.vstack([fit, [0.0, 0.0, 1.0]]), int(inliers.sum())

    def add(self, frame: np.ndarray, mask: np.ndarray | None) -> None:
        grey = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), self.small, interpolation=cv2.INTER_AREA)
        allowed = self._allowed(mask)
        if self._key is None:
            if self.transforms:
                self.failures += 1  # no corners to track yet: the frame keeps the previous map
            transform = self.transforms[-1] if self.transforms else np.eye(3)
            new_key = True
        else:
            motion, inliers = self._motion(grey, allowed)
            if motion is None:
                self.failures += 1
                transform = self.transforms[-1]
                self._last_points = self._key[1].copy()
                new_key = True
            else:
                transform = self._key[2] @ self._from_small @ motion @ self._to_small
                new_key = inliers < MIN_INLIERS
        self.transforms.append(transform)
        if new_key:
            corners = cv2.goodFeaturesToTrack(grey, MAX_CORNERS, 0.01, 7, mask=allowed * 255)
            if corners is not None and len(corners) >= MIN_TRACKED:  # else the old key stays
                self._key = (grey, corners.astype(np.float32), transform)
                self._last_points = self._key[1].copy()


def register_frames(
    frames: Iterable[np.ndarray], masks: Iterable[np.ndarray | None], picture: tuple[int, int, int, int]
) -> tuple[np.ndarray, int]:
    """(N, 3, 3) maps from each frame onto the first, and how many frames failed to register."""
    tracker = None
    for frame, mask in zip(frames, masks):
        if tracker is None:
            tracker = CameraTracker((frame.shape[1], frame.shape[0]), picture)
        tracker.add(frame, mask)
    if tracker is None:
        return np.zeros((0, 3, 3)), 0
    return np.stack(tracker.transforms), tracker.failures


def _reference_frame(to_first: np.ndarray, frame_size: tuple[int, int]) -> int:
    """The frame whose view centre is nearest the median view centre: the typical viewpoint."""
    width, height = frame_size
    centres = map_points(to_first, np.tile([[width / 2.0, height / 2.0]], (len(to_first), 1, 1)))[:, 0]
    return int(np.argmin(np.linalg.norm(centres - np.median(centres, axis=0), axis=1)))


@dataclass(frozen=True)
class SceneEstimate:
    scene: Scene
    residual: float
    inpainted_fraction: float


def estimate_scene(
    frames: np.ndarray,
    masks: np.ndarray,
    picks: np.ndarray,
    to_first: np.ndarray,
    picture: tuple[int, int, int, int],
    static_plate: np.ndarray,
) -> SceneEstimate:
    """The scene of a moving camera from K sampled frames (K, H, W, 3) uint8 and their person
    masks (K, H, W), which are frames `picks` of the clip, given every frame's map onto the first
    (to_first, from register_frames) and the picture; the residual as plate.camera_residual
    computes it, over the picture."""
    k, h, w = frames.shape[:3]
    x, y, pw, ph = picture
    corners = np.array([[x, y], [x + pw, y], [x, y + ph], [x + pw, y + ph]], dtype=np.float64)
    reach = map_points(to_first[picks], np.tile(corners[None], (k, 1, 1))).reshape(-1, 2)
    low = np.maximum(np.floor(reach.min(axis=0)), [-MAX_CANVAS_FRAMES * w, -MAX_CANVAS_FRAMES * h])
    high = np.minimum(np.ceil(reach.max(axis=0)), [(1 + MAX_CANVAS_FRAMES) * w, (1 + MAX_CANVAS_FRAMES) * h])
    size = (int(high[0] - low[0]), int(high[1] - low[1]))
    shift = np.array([[1.0, 0.0, -low[0]], [0.0, 1.0, -low[1]], [0.0, 0.0, 1.0]])
    frame_to_scene = shift[None] @ to_first

    inside = np.zeros((h, w), dtype=np.uint8)
    inside[y : y + ph, x : x + pw] = 1
    inside = cv2.erode(inside, np.ones((5, 5), np.uint8))  # keep the bars' edge out of the scene
    visible_in_frame = ~covered_pixels(masks) & inside.astype(bool)
    seen = np.zeros((size[1], size[0]), dtype=bool)
    for t in picks:
        seen |= cv2.warpAffine(inside, frame_to_scene[t][:2], size, flags=cv2.INTER_NEAREST).view(bool)
    # The K frames are warped onto the canvas a band of rows at a time: a camera that pans makes the canvas
    # several frames wide, and all K views of it at once (1.5 GB for 48 views of a 1080p pan) would be the
    # peak of a whole preprocessing run.
    median = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    count = np.zeros((size[1], size[0]), dtype=np.int64)
    band = max(1, SCENE_BAND_BYTES // max(1, k * size[0] * 4))
    for y0 in range(0, size[1], band):
        rows = min(band, size[1] - y0)
        warped = np.empty((k, rows, size[0], 3), dtype=np.uint8)
        visible = np.empty((k, rows, size[0]), dtype=bool)
        for i, t in enumerate(picks):
            m = frame_to_scene[t][:2].copy()
            m[1, 2] -= y0  # the band's first row is the canvas's row y0
            warped[i] = cv2.warpAffine(frames[i], m, (size[0], rows), flags=cv2.INTER_LINEAR)
            visible[i] = cv2.warpAffine(
                visible_in_frame[i].view(np.uint8), m, (size[0], rows), flags=cv2.INTER_NEAREST
            ).view(bool)
        median[y0 : y0 + rows], count[y0 : y0 + rows] = _masked_median(warped, visible)
    del warped, visible
    hole = (count < max(1, int(round(MIN_VISIBLE_SHARE * k)))) & seen
    image = median
    if hole.any():
        image = cv2.inpaint(median, hole.astype(np.uint8) * 255, INPAINT_RADIUS, cv2.INPAINT_TELEA)
    reference = _reference_frame(to_first, (w, h))
    scene = Scene(
        np.ascontiguousarray(image), frame_to_scene, (int(x), int(y), int(pw), int(ph)), static_plate, reference
    )
    residuals = []
    for i, t in enumerate(picks):
        vis = visible_in_frame[i]
        if not vis.any():
            continue
        grey_plate = cv2.cvtColor(scene.plate_for(int(t)), cv2.COLOR_RGB2GRAY).astype(np.int16)
        grey = cv2.cvtColor(np.ascontiguousarray(frames[i]), cv2.COLOR_RGB2GRAY).astype(np.int16)
        residuals.append(float(np.percentile(np.abs(grey - grey_plate)[vis], RESIDUAL_QUANTILE)))
    residual = float(np.median(residuals)) if residuals else float("inf")
    return SceneEstimate(scene, residual, float(hole.sum() / max(1, seen.sum())))


def scene_of_clip(
    still: PlateEstimate,
    picks: np.ndarray,
    sample_frames: np.ndarray,
    sample_masks: np.ndarray,
    clip_frames: Callable[[], Iterable[np.ndarray]],
    clip_masks: Callable[[], Iterable[np.ndarray | None]],
    n_frames: int,
) -> tuple[Scene, dict]:
    """A clip's background and what a cache records of it ("plate" in meta.json).

    still: the static plate of the sampled frames (frames `picks` of the clip); when it fits,
    that is the scene. Otherwise the clip's frames and masks (read once more, in order, from the
    two callables) are registered and the scene of the moving camera is estimated; it is used
    when few frames failed to register and its residual is a static camera's ("fits").
    """
    record = {**still.meta(), "camera": "static", "fits": bool(still.static_camera)}
    if still.static_camera:
        scene = Scene.still(still.plate, n_frames)
        return scene, {**record, **scene.meta()}
    start = time.perf_counter()
    picture = picture_region(sample_frames, still.plate)
    to_first, failures = register_frames(clip_frames(), clip_masks(), picture)
    registered_s = time.perf_counter() - start
    moving = estimate_scene(sample_frames, sample_masks, picks, to_first, picture, still.plate)
    log.info(
        "the camera moves (one plate's residual %.1f): %d frames registered in %.1f s (%d failed), their scene's "
        "plate in %.1f s, residual %.1f",
        still.residual,
        len(to_first),
        registered_s,
        failures,
        time.perf_counter() - start - registered_s,
        moving.residual,
    )
    registered = failures <= MAX_FAILED_SHARE * max(1, n_frames)
    fits = registered and moving.residual <= STATIC_CAMERA_MAX_RESIDUAL
    record.update(
        camera="registered" if fits else "moving",
        fits=bool(fits),
        still_residual=record["residual"],
        residual=float(moving.residual),
        failed_frames=int(failures),
        inpainted_fraction=float(moving.inpainted_fraction),
    )
    scene = moving.scene if fits else Scene.still(still.plate, n_frames)
    return scene, {**record, **scene.meta()}
