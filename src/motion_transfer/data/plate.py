"""The background plate of a clip: the scene without the person, from a sample of its frames.

A static camera films the same background in every frame; only the person changes. Per pixel,
the median of the sampled frames where the person does not cover that pixel is the background
there. Masks are dilated first (MediaPipe's edges are soft, and shadows follow the body); where
the person covers a pixel in (almost) every sampled frame nothing of the background was seen,
and `cv2.inpaint` (Telea) fills it from around. Shadows and reflections of the person are not
in the masks: the plate may keep a faint trace where the person stood longest.

The camera check: the residual is the median over the sampled frames of a high quantile
(RESIDUAL_QUANTILE, the 90th percentile) of the absolute difference, in grey levels (0..255),
between the plate and that frame's uncovered pixels. A static camera leaves noise and
compression (a grey level or two); a moving one leaves the scene's edges sliding under the plate.
The quantile, not the median: a letterboxed video (taichi2.mp4: black bars and burned-in captions
over ~45% of the frame) and flat walls and floors agree with any plate, so the median stays at 0
to 3 grey levels even under a fast pan (figures at STATIC_CAMERA_MAX_RESIDUAL).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: At most this many frames, spread evenly over a clip, go into its plate.
MAX_PLATE_FRAMES = 48
#: A soft mask value at or above this covers a pixel (before dilation).
MASK_THRESHOLD = 0.2
#: Dilation radius of the masks, as a share of the frame's larger side (at least 2 pixels):
#: 10 px at 960x720, 3 px at 320x256.
DILATION_SHARE = 0.01
#: A pixel seen (not covered) in fewer than this share of the sampled frames is inpainted
#: (at least 1 frame: a pixel seen once keeps what was seen).
MIN_VISIBLE_SHARE = 1.0 / 24.0
#: Radius of cv2.inpaint's neighbourhood, in pixels.
INPAINT_RADIUS = 5
#: The per-frame statistic of the camera check: this quantile of |frame - plate| (grey levels).
RESIDUAL_QUANTILE = 90.0
#: The camera counts as static up to this residual. Measured with MediaPipe's masks, 48 frames each,
#: estimate_plate 0.97 s on the 48 frames of 960x720 (2 busy cores), shown by
#:   PYTHONPATH=src python -m pytest -s -m real_data tests/test_plate.py -k taichi2
#: on taichi2.mp4, 960x720, whose camera is NOT static over the whole clip (it follows the
#: performer: the doors and wall corners move 10-60 px between frames 19 apart after ~4 s):
#:   taichi2 frames 0-94, every 2nd (camera still)                     1.0   (median: 0.0)
#:     + Gaussian noise sd 2 / sd 4                                    3.0 / 5.0
#:     re-encoded as JPEG quality 60                                   2.0
#:     800x600 window, still                                           2.0
#:     800x600 window panning 0.1 / 0.25 / 0.5 / 1 / 2 px a frame      3.0 / 4.0 / 6.0 / 13.0 / 33.0
#:     800x600 window shaking +-1 / +-2 / +-4 / +-8 px                 3.0 / 3.0 / 5.0 / 7.0
#:   taichi2 whole clip, 48 frames spread over it (camera follows her) 14.0   (median: 1.0)
#:   synthetic clips (no noise, exact masks)                           0.0
#: Pans from a pixel a frame fail clearly; slower drifts (0.5 px a frame, 12 px a second) and
#: shakes of +-8 px sit at the threshold: they blur the plate by a few pixels.
STATIC_CAMERA_MAX_RESIDUAL = 6.0
#: Rows per strip are chosen so that one strip of the sorted samples stays under this many bytes.
_STRIP_BYTES = 32 << 20


@dataclass(frozen=True)
class PlateEstimate:
    """plate: (H, W, 3) uint8 RGB; residual: grey levels (see the module's docstring);
    static_camera: residual <= STATIC_CAMERA_MAX_RESIDUAL; inpainted_fraction: share of the
    plate's pixels filled by inpainting; frames_used: how many frames went into it."""

    plate: np.ndarray
    residual: float
    static_camera: bool
    inpainted_fraction: float
    frames_used: int

    def meta(self) -> dict:
        """The JSON-able summary a cache records (everything but the image)."""
        return {
            "static_camera": bool(self.static_camera),
            "residual": float(self.residual),
            "inpainted_fraction": float(self.inpainted_fraction),
            "frames_used": int(self.frames_used),
        }


def sample_indices(n_frames: int, count: int = MAX_PLATE_FRAMES) -> np.ndarray:
    """At most `count` frame indices spread evenly over a clip of n_frames (first and last included)."""
    n_frames = int(n_frames)
    if n_frames <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.linspace(0, n_frames - 1, num=min(int(count), n_frames)).round().astype(np.int64))


def dilation_radius(height: int, width: int) -> int:
    """How far masks are grown for a frame of this size, in pixels."""
    return max(2, int(round(DILATION_SHARE * max(height, width))))


def covered_pixels(masks: np.ndarray, radius: int | None = None) -> np.ndarray:
    """(K, H, W) masks (float in [0, 1], bool, or uint8 0..255) -> (K, H, W) bool: the person's
    pixels, thresholded and dilated by `radius` pixels (default: dilation_radius)."""
    masks = np.asarray(masks)
    k, h, w = masks.shape
    if masks.dtype == np.uint8:
        covered = masks >= int(round(MASK_THRESHOLD * 255))
    else:
        covered = masks >= MASK_THRESHOLD
    r = dilation_radius(h, w) if radius is None else int(radius)
    if r <= 0 or k == 0:
        return covered
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    out = np.empty_like(covered)
    for i in range(k):
        out[i] = cv2.dilate(covered[i].view(np.uint8), kernel).view(bool)
    return out


def _masked_median(frames: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel median over the frames where each pixel is visible, in horizontal strips.

    frames (K, H, W, 3) uint8, visible (K, H, W) bool -> (median (H, W, 3) uint8, 0 where never
    visible; count (H, W) int: in how many frames each pixel was visible). Values of hidden
    samples are replaced by one larger than any grey level, so they sort last; the median of the
    first `count` sorted values is then read off at its rank.
    """
    k, h, w, c = frames.shape
    median = np.zeros((h, w, c), dtype=np.uint8)
    count = visible.sum(axis=0)
    rows = max(1, _STRIP_BYTES // max(1, w * c * k * 2))
    hidden = np.uint16(256)
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        # (rows, W, 3, K): the frames last, so the sort runs over contiguous lanes.
        strip = np.ascontiguousarray(frames[:, y0:y1].transpose(1, 2, 3, 0), dtype=np.uint16)
        vis = visible[:, y0:y1].transpose(1, 2, 0)[:, :, None, :]
        np.putmask(strip, ~np.broadcast_to(vis, strip.shape), hidden)
        strip.sort(axis=-1)
        n = count[y0:y1, :, None, None]
        lo = np.take_along_axis(strip, np.maximum(n - 1, 0) // 2, axis=-1)
        hi = np.take_along_axis(strip, n // 2, axis=-1)
        mid = (lo.astype(np.uint32) + hi + 1) // 2
        median[y0:y1] = np.where(n > 0, mid, 0)[..., 0].astype(np.uint8)
    return median, count


def camera_residual(plate: np.ndarray, frames: np.ndarray, visible: np.ndarray) -> float:
    """Median over frames of the RESIDUAL_QUANTILE-th percentile of the absolute grey-level
    difference between the plate and the frame where the frame's background is visible (frames
    with no visible pixel are skipped; none at all gives inf)."""
    grey_plate = cv2.cvtColor(np.ascontiguousarray(plate), cv2.COLOR_RGB2GRAY).astype(np.int16)
    per_frame = []
    for frame, vis in zip(frames, visible):
        if not vis.any():
            continue
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY).astype(np.int16)
        per_frame.append(float(np.percentile(np.abs(grey - grey_plate)[vis], RESIDUAL_QUANTILE)))
    return float(np.median(per_frame)) if per_frame else float("inf")


def estimate_plate(frames: np.ndarray, masks: np.ndarray) -> PlateEstimate:
    """The background plate of a clip from K sampled frames and the person's masks.

    frames: (K, H, W, 3) uint8 RGB; masks: (K, H, W), float in [0, 1] (MediaPipe's soft mask),
    bool, or uint8 0..255; a frame without a person has an all-zero mask. Give frames spread
    over the clip (see sample_indices): the more places the person stood, the less is inpainted.
    """
    frames = np.asarray(frames)
    masks = np.asarray(masks)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (K, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    if masks.shape != frames.shape[:3]:
        raise ValueError(f"masks {masks.shape} do not match frames {frames.shape}")
    k, h, w = masks.shape
    if k == 0:
        raise ValueError("no frame to estimate a plate from")
    visible = ~covered_pixels(masks)
    median, count = _masked_median(frames, visible)
    min_visible = max(1, int(round(MIN_VISIBLE_SHARE * k)))
    hole = count < min_visible
    plate = median
    if hole.any():
        plate = cv2.inpaint(median, hole.astype(np.uint8) * 255, INPAINT_RADIUS, cv2.INPAINT_TELEA)
    residual = camera_residual(plate, frames, visible)
    return PlateEstimate(
        plate=np.ascontiguousarray(plate, dtype=np.uint8),
        residual=residual,
        static_camera=bool(residual <= STATIC_CAMERA_MAX_RESIDUAL),
        inpainted_fraction=float(hole.mean()),
        frames_used=int(k),
    )
