"""Full-frame output: the generated person pasted into a background plate at the video's resolution.

The generators draw the person in a square crop (a box (cx, cy, side) in frame pixels, see crop.py)
as colours and an alpha mask; a frame is `alpha * person + (1 - alpha) * plate`
(docs: shared/reference/compositing.md). Everything here is numpy/OpenCV and cheap enough to run
per frame at 720p in a video writer thread or in live mode: only the box region of a frame is
touched, and the blend is OpenCV's vectorised `blendLinear`.

Box convention (as crop.py): frame pixel j covers [j, j + 1), so a box covers [cx - side/2, cx + side/2).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from motion_transfer.pose.retarget import ClipStats, clip_stats, median_smooth, normalize_global
from motion_transfer.pose.skeleton import ANKLES, ankle_point, forward_fill, valid_frames

#: Default fade of alpha at the crop's border, as a fraction of the crop's side.
FEATHER_WIDTH = 0.06
#: Below this spread of the target's ankle y (10th to 90th percentile, as a fraction of its median box side)
#: the target never changes distance to the camera: its box side is then the median side, not a fit.
MIN_DEPTH_SPREAD = 0.05
#: Resizing the whole person costs about a fifth of warping the same area (measured); warp only the part
#: inside the frame when that part is smaller than this fraction of the box.
WARP_VISIBLE_FRACTION = 0.2


def output_size(frame_size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) of a frame -> (width, height) scaled down (never up) so that the longer side is at
    most `max_side`, both sides even (H.264 with 4:2:0 chroma needs even sides; odd ones are rounded down)."""
    width, height = int(frame_size[0]), int(frame_size[1])
    if width < 1 or height < 1 or max_side < 2:
        raise ValueError(f"bad frame size {frame_size} or max_side {max_side}")
    scale = min(1.0, max_side / max(width, height))
    # Round down (the epsilon keeps 960 * (720/960) at 720): never above the source or max_side.
    return tuple(max(2, int(side * scale + 1e-6) // 2 * 2) for side in (width, height))


def _smoothstep(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)


@lru_cache(maxsize=16)
def _feather_window(height: int, width: int, fraction: float) -> np.ndarray:
    """(height, width) float32 window: 0 on the border pixels, 1 further than `fraction` of the side inside."""

    def ramp(n: int) -> np.ndarray:
        i = np.arange(n, dtype=np.float64)
        distance = np.minimum(i, n - 1 - i)  # pixels from the nearest border pixel
        return _smoothstep(np.clip(distance / max(fraction * n, 1.0), 0.0, 1.0))

    # Product of 1-D ramps: smooth, separable, and exactly 1 away from the border.
    window = (ramp(height)[:, None] * ramp(width)[None, :]).astype(np.float32)
    window.flags.writeable = False
    return window


def feather(alpha: np.ndarray, width: float) -> np.ndarray:
    """(..., S, S) alpha in [0, 1] -> float32 alpha faded to 0 at the crop's border over `width` (a fraction
    of the side, e.g. 0.06), so that a person drawn to the crop's edge leaves no hard line. A new array."""
    alpha = np.asarray(alpha, dtype=np.float32)
    if width <= 0:
        return alpha.copy()
    return alpha * _feather_window(alpha.shape[-2], alpha.shape[-1], float(width))


def pixel_edges(centre: float, side: float) -> tuple[int, int]:
    """Integer pixel edges [start, stop) of a box's extent along one axis (round half up, not to even)."""
    return int(np.floor(centre - side / 2.0 + 0.5)), int(np.floor(centre + side / 2.0 + 0.5))


def paste(
    frame: np.ndarray, person: np.ndarray, alpha: np.ndarray, box, feather_width: float = FEATHER_WIDTH
) -> np.ndarray:
    """Blend a crop-sized person into `frame` inside `box`; returns `frame`, written in place.

    frame: (H, W, 3) uint8; person: (S, S, 3) uint8; alpha: (S, S) float in [0, 1]; box: (cx, cy, side) in
    this frame's pixels (may extend past the frame: only the part inside is drawn). The person and alpha are
    resized to the box with cv2.resize (INTER_LINEAR); pixels outside the box are never read or written.
    """
    height, width = frame.shape[:2]
    cx, cy, side = (float(v) for v in box)
    if not (np.isfinite([cx, cy, side]).all() and side > 0):
        return frame
    x0, x1 = pixel_edges(cx, side)
    y0, y1 = pixel_edges(cy, side)
    if person.shape[0] == person.shape[1] == x1 - x0 != y1 - y0:
        y1 = y0 + (x1 - x0)  # drawn at the box's own size (draws_native): paste it square, unresampled
    fx0, fx1, fy0, fy1 = max(x0, 0), min(x1, width), max(y0, 0), min(y1, height)
    if fx0 >= fx1 or fy0 >= fy1:
        return frame  # empty box or wholly outside the frame
    # Clipped at crop size: bilinear resampling is a convex combination, so the big alpha stays in [0, 1].
    a = feather(alpha, feather_width)
    np.clip(a, 0.0, 1.0, out=a)
    box_w, box_h = x1 - x0, y1 - y0
    if person.shape[:2] == (box_h, box_w):
        # Drawn at the box's own size: nothing to resample, only the part inside the frame to take.
        rows, cols = slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0)
        big_person, big_alpha = person[rows, cols], a[rows, cols]
    elif (fx1 - fx0) * (fy1 - fy0) >= WARP_VISIBLE_FRACTION * box_w * box_h:
        # Usual case: resize the whole crop (OpenCV's fastest path), keep the part inside the frame.
        rows, cols = slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0)
        big_person = cv2.resize(person, (box_w, box_h), interpolation=cv2.INTER_LINEAR)[rows, cols]
        big_alpha = cv2.resize(a, (box_w, box_h), interpolation=cv2.INTER_LINEAR)[rows, cols]
    else:
        # Mostly outside (or huge): sample only the visible pixels, with cv2.resize's own mapping
        # src = (dst + 0.5) * S / box - 0.5, so the picture does not shift when the path changes.
        sx, sy = person.shape[1] / box_w, person.shape[0] / box_h
        mat = np.array(
            [[sx, 0.0, (fx0 - x0 + 0.5) * sx - 0.5], [0.0, sy, (fy0 - y0 + 0.5) * sy - 0.5]], dtype=np.float64
        )
        size = (fx1 - fx0, fy1 - fy0)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        big_person = cv2.warpAffine(person, mat, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        big_alpha = cv2.warpAffine(a, mat, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    big_alpha = np.ascontiguousarray(big_alpha)
    region = frame[fy0:fy1, fx0:fx1]
    # blendLinear is vectorised uint8 x float32 (~10x faster than the same blend in numpy).
    frame[fy0:fy1, fx0:fx1] = cv2.blendLinear(
        np.ascontiguousarray(big_person), np.ascontiguousarray(region), big_alpha, 1.0 - big_alpha
    )
    return frame


def scale_boxes(boxes: np.ndarray, frame_size: tuple[int, int], out_size: tuple[int, int]) -> np.ndarray:
    """(N, 3) boxes in pixels of a (width, height) frame -> (N, 3) float64 boxes in pixels of `out_size`."""
    sx = out_size[0] / frame_size[0]
    sy = out_size[1] / frame_size[1]
    # Even-side rounding makes sx and sy differ by a fraction of a percent; the square side takes their mean.
    return np.asarray(boxes, dtype=np.float64) * np.array([sx, sy, (sx + sy) / 2.0])


def composite_frames(
    plate: np.ndarray,
    persons: np.ndarray,
    alphas: np.ndarray,
    boxes: np.ndarray,
    out_size: tuple[int, int] | None = None,
    feather_width: float = FEATHER_WIDTH,
) -> np.ndarray:
    """Paste a batch of crops into one plate at an output size.

    plate: (H, W, 3) uint8; persons: (N, S, S, 3) uint8; alphas: (N, S, S) float in [0, 1]; boxes: (N, 3) in
    the plate's pixels; out_size: (width, height) of the output (default the plate's; see `output_size`).
    The plate and boxes are scaled once for the batch. Returns (N, height, width, 3) uint8.
    """
    plate_h, plate_w = plate.shape[:2]
    out_w, out_h = (plate_w, plate_h) if out_size is None else (int(out_size[0]), int(out_size[1]))
    if (out_w, out_h) != (plate_w, plate_h):
        plate = cv2.resize(plate, (out_w, out_h), interpolation=cv2.INTER_AREA)
    boxes = scale_boxes(boxes, (plate_w, plate_h), (out_w, out_h))
    alphas = feather(alphas, feather_width)  # the whole batch at once
    out = np.empty((len(persons), out_h, out_w, 3), dtype=np.uint8)
    out[:] = plate
    for frame, person, alpha, box in zip(out, persons, alphas, boxes):
        paste(frame, person, alpha, box, feather_width=0.0)
    return out


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average along axis 0 of (N, K) values with edge padding; `window` odd."""
    if window <= 1 or len(values) < 2:
        return values.copy()
    half = window // 2
    padded = np.pad(values, ((half, half), (0, 0)), mode="edge")
    return sliding_window_view(padded, window, axis=0).mean(axis=-1)


@dataclass(frozen=True)
class Floor:
    """Where the target stands in its own frame: what turns a pose mapped onto the target's floor into the
    crop box the generator's output is pasted at (the target's own framing of its body at that depth).

    Under a pinhole camera over a flat floor, both the size of a person and the distance of their feet below
    the horizon are proportional to 1 / depth, so the box side is linear in the ankle y: a least-squares line
    over the target's frames (its median side when the target never changes distance to the camera). The
    centre keeps the target's usual offset from its ankles, in units of the side.
    """

    stats: ClipStats  # the target's ankle and height statistics (pose/retarget.py: clip_stats)
    side_line: tuple[float, float] | None  # (slope, intercept) of side against ankle y; None: constant side
    median_side: float
    side_range: tuple[float, float]  # the line is kept within this band: far outside the target's range it means little
    offset: tuple[float, float]  # box centre minus ankle point, in sides
    frame_size: tuple[int, int]  # (width, height)

    @classmethod
    def of_target(
        cls,
        target_skeletons: np.ndarray,
        target_boxes: np.ndarray,
        target_frame_size: tuple[int, int],
        far_fraction: float = 0.5,
    ) -> Floor:
        """From the target's (M, 13, 2) frame-pixel skeletons and (M, 3) crop boxes in a (width, height) frame."""
        target = np.asarray(target_skeletons, dtype=np.float64)
        boxes = np.asarray(target_boxes, dtype=np.float64)
        if len(target) != len(boxes):
            raise ValueError(f"{len(target)} target skeletons but {len(boxes)} target boxes")
        valid = valid_frames(target) & np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0)
        if not valid.any():
            raise ValueError("no target frame with both a valid skeleton and a box")
        target, boxes = target[valid], boxes[valid]
        foot_y = target[:, ANKLES, 1].max(axis=1)
        sides = boxes[:, 2]
        median_side = float(np.median(sides))
        spread = float(np.percentile(foot_y, 90) - np.percentile(foot_y, 10))
        line = None
        if spread >= MIN_DEPTH_SPREAD * median_side:
            slope, intercept = np.polyfit(foot_y, sides, 1)
            line = (float(slope), float(intercept))
        return cls(
            stats=clip_stats(target, far_fraction),
            side_line=line,
            median_side=median_side,
            side_range=(0.5 * float(sides.min()), 1.5 * float(sides.max())),
            offset=(
                float(np.median((boxes[:, 0] - ankle_point(target)[:, 0]) / sides)),
                float(np.median((boxes[:, 1] - foot_y) / sides)),
            ),
            frame_size=(int(target_frame_size[0]), int(target_frame_size[1])),
        )

    def side_at(self, foot_y: np.ndarray) -> np.ndarray:
        """The target's box side where its ankles are at `foot_y` (any shape)."""
        if self.side_line is None:
            return np.full(np.shape(foot_y), self.median_side)
        slope, intercept = self.side_line
        return np.clip(intercept + slope * np.asarray(foot_y, dtype=np.float64), *self.side_range)

    def boxes_for(self, mapped: np.ndarray) -> np.ndarray:
        """(N, 13, 2) poses already on the target's floor (frame pixels) -> (N, 3) float64 boxes, unsmoothed."""
        mapped = np.asarray(mapped, dtype=np.float64)
        foot_y = mapped[:, ANKLES, 1].max(axis=1)
        foot_x = ankle_point(mapped)[:, 0]
        side = self.side_at(foot_y)
        return np.stack([foot_x + self.offset[0] * side, foot_y + self.offset[1] * side, side], axis=1)

    def inside(self, boxes: np.ndarray) -> np.ndarray:
        """(N, 3) boxes kept inside the frame when they fit; one that does not covers the frame along that axis."""
        boxes = np.array(boxes, dtype=np.float64)
        for axis, extent in enumerate(self.frame_size):
            low, high = boxes[:, 2] / 2.0, float(extent) - boxes[:, 2] / 2.0
            boxes[:, axis] = np.clip(boxes[:, axis], np.minimum(low, high), np.maximum(low, high))
        return boxes


def follow_source_boxes(
    source_skeletons: np.ndarray,
    target_skeletons: np.ndarray,
    target_boxes: np.ndarray,
    target_frame_size: tuple[int, int],
    far_fraction: float = 0.5,
    smoothing_window: int = 9,
) -> np.ndarray:
    """Where the target's crop box goes, frame by frame, when the target copies the source.

    source_skeletons: (N, 13, 2) in the source's frame pixels (NaN where no pose); target_skeletons: (M, 13, 2)
    in the target's frame pixels and target_boxes: (M, 3) its own crop boxes (cx, cy, side) there;
    target_frame_size: (width, height). Returns (N, 3) float64 boxes in the target's frame pixels.

    Everybody Dance Now's global normalisation (pose/retarget.py) maps the source's ankle line into the
    target's frame: its ankle y at the same place between the target's far and close positions, its
    horizontal offset from its own mean scaled by the body-height ratio around the target's mean. The box
    takes the target's side at that ankle y (fitted on the target's frames) and the target's usual placement
    of its box around its ankles; it is smoothed over time (running median, then moving average, both over
    `smoothing_window` valid frames) and kept inside the frame. Frames without a valid source pose hold the
    last valid box (the first one before any).
    """
    floor = Floor.of_target(target_skeletons, target_boxes, target_frame_size, far_fraction)
    source = np.asarray(source_skeletons, dtype=np.float64)
    s_valid = valid_frames(source)
    s_stats = clip_stats(source, far_fraction)  # raises when no source frame is valid
    # The source's valid frames on the target's floor: only their ankle line decides the box.
    boxes = floor.boxes_for(normalize_global(source[s_valid], s_stats, floor.stats))

    # Median first (a one-frame detector glitch must not drag the box), then a mean (removes the jitter).
    window = smoothing_window | 1 if smoothing_window > 1 else 1
    boxes = median_smooth(boxes[:, :, None], window)[:, :, 0].astype(np.float64)
    boxes = floor.inside(_moving_average(boxes, window))

    full = np.full((len(source), 3), np.nan)
    full[s_valid] = boxes
    return forward_fill(full, s_valid).astype(np.float64)
