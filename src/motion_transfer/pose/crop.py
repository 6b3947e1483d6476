"""Square person crops that follow the body smoothly over time.

A box is (cx, cy, side) in frame pixels. Per frame, the body's extent comes from all 33
landmarks, with room added above the nose for the top of the head (MediaPipe has no landmark
there). Over time the centre is smoothed with a moving average, and the side is a moving average
of a running maximum of the side each frame needs around that smoothed centre: an average of
values that are each at least the need of the frame in the middle of the window cannot fall
below it, so the body stays inside with its margin in every frame while the zoom stays smooth.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from motion_transfer.runtime.errors import UserError

NOSE, LEFT_SHOULDER, RIGHT_SHOULDER = 0, 11, 12
#: Whom a clip's crops follow when several people are in view (people.py).
PERSON_CHOICES = ("largest", "left", "right", "center")
#: Head top above the nose, as a fraction of the nose-to-mid-shoulder distance.
HEAD_ALLOWANCE = 1.0
#: Room below the lowest foot landmark, same unit.
FOOT_ALLOWANCE = 0.15


def body_extent(landmarks: np.ndarray) -> np.ndarray:
    """(N, 33, >=2) landmarks in pixels -> (N, 4) body box x0, y0, x1, y1 (NaN where missing)."""
    xy = np.asarray(landmarks, dtype=np.float64)[..., :2]
    neck = xy[:, [LEFT_SHOULDER, RIGHT_SHOULDER]].mean(axis=1)
    head = np.linalg.norm(xy[:, NOSE] - neck, axis=-1)
    with np.errstate(invalid="ignore"):
        x0 = xy[..., 0].min(axis=1)
        x1 = xy[..., 0].max(axis=1)
        y0 = np.minimum(xy[..., 1].min(axis=1), xy[:, NOSE, 1] - HEAD_ALLOWANCE * head)
        y1 = xy[..., 1].max(axis=1) + FOOT_ALLOWANCE * head
    return np.stack([x0, y0, x1, y1], axis=1)


def _interpolate_missing(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill rows of (N, K) `values` where `valid` is False by linear interpolation in time."""
    t = np.arange(len(values))
    return np.stack([np.interp(t, t[valid], values[valid, k]) for k in range(values.shape[1])], axis=1)


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average along axis 0 with edge padding; `window` odd."""
    if window <= 1:
        return values.copy()
    half = window // 2
    padded = np.pad(values, [(half, half)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    return sliding_window_view(padded, window, axis=0).mean(axis=-1)


def _moving_max(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1:
        return values.copy()
    half = window // 2
    padded = np.pad(values, (half, half), mode="edge")
    return sliding_window_view(padded, window).max(axis=-1)


@dataclass(frozen=True)
class CropParams:
    """Everything that shapes a cache's content besides the source itself: the one place their
    defaults are written (the configs' `data.crop` is this dataclass, registered in cli.py)."""

    #: Side of the stored crops, in pixels.
    crop_size: int = 256
    #: Free space on each side of the body, as a fraction of the half-side.
    margin: float = 0.12
    #: Moving-average window of the box centre, in seconds.
    centre_smoothing_s: float = 0.5
    #: Window of the running maximum and moving average of the box side, in seconds.
    size_smoothing_s: float = 1.0
    #: MediaPipe Pose's thresholds.
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    #: Whom to follow when several people are in view (people.py): largest, left, right or center.
    person: str = "largest"

    def __post_init__(self):
        if self.person not in PERSON_CHOICES:
            raise UserError(f"data.crop.person={self.person!r} is not known; use one of {', '.join(PERSON_CHOICES)}.")


def crop_boxes(
    landmarks: np.ndarray, detected: np.ndarray, fps: float, params: CropParams = CropParams()
) -> np.ndarray:
    """Smooth square boxes that hold the whole body with a margin in every frame.

    landmarks: (N, 33, >=2) pixels; detected: (N,) bool (frames without a person get boxes
    interpolated from their neighbours). Returns (N, 3) float64 boxes (cx, cy, side).
    """
    detected = np.asarray(detected, dtype=bool)
    extent = body_extent(landmarks)
    detected = detected & np.isfinite(extent).all(axis=1)
    if not detected.any():
        raise ValueError("no frame with a detected person: cannot place a crop")
    extent = _interpolate_missing(np.where(detected[:, None], extent, 0.0), detected)
    centre_window = 2 * int(round(params.centre_smoothing_s * fps / 2)) + 1
    size_window = 2 * int(round(params.size_smoothing_s * fps / 2)) + 1
    centre = _moving_average((extent[:, :2] + extent[:, 2:]) / 2.0, centre_window)
    # Half-side each frame needs around the smoothed centre.
    need = np.maximum(np.abs(extent[:, :2] - centre), np.abs(extent[:, 2:] - centre)).max(axis=1)
    need = need * (1.0 + params.margin)
    half = _moving_average(_moving_max(need, size_window), size_window)
    return np.concatenate([centre, 2.0 * half[:, None]], axis=1)


def box_transforms(boxes: np.ndarray, out_size: int) -> np.ndarray:
    """(N, 3) boxes -> (N, 2, 3) affine maps from frame pixels to crop pixels of side out_size."""
    scale = out_size / boxes[:, 2]
    mats = np.zeros((len(boxes), 2, 3), dtype=np.float64)
    mats[:, 0, 0] = scale
    mats[:, 1, 1] = scale
    # Pixel-centre convention: frame point p maps to (p - (c - side/2)) * scale, then -0.5 for cv2.
    mats[:, 0, 2] = -(boxes[:, 0] - boxes[:, 2] / 2.0) * scale + 0.5 * scale - 0.5
    mats[:, 1, 2] = -(boxes[:, 1] - boxes[:, 2] / 2.0) * scale + 0.5 * scale - 0.5
    return mats


def crop_frame(frame: np.ndarray, box: np.ndarray, out_size: int) -> np.ndarray:
    """Crop one (H, W, 3) frame to an (out_size, out_size, 3) square; outside the frame, edge pixels repeat."""
    mat = box_transforms(box[None], out_size)[0]
    # INTER_AREA is not available for warps; a mild blur first avoids aliasing on big reductions.
    shrink = box[2] / out_size
    if shrink > 1.5:
        k = int(shrink) | 1
        frame = cv2.GaussianBlur(frame, (k, k), 0)
    return cv2.warpAffine(frame, mat, (out_size, out_size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def to_crop_coordinates(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, K, 2) frame pixels -> (N, K, 2) crop coordinates in [0, 1] (inside the box)."""
    origin = boxes[:, None, :2] - boxes[:, None, 2:3] / 2.0
    return ((points - origin) / boxes[:, None, 2:3]).astype(np.float32)


def to_frame_coordinates(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Inverse of `to_crop_coordinates`."""
    origin = boxes[:, None, :2] - boxes[:, None, 2:3] / 2.0
    return points * boxes[:, None, 2:3] + origin


def placement_features(boxes: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """(N, 3) crop boxes (cx, cy, side) in pixels of a (width, height) frame -> (N, 3) float32 in
    about [-1, 1]: where the crop lies in the frame and how large it is.

    A crop removes where the person stands, which the background depends on (docs/results.md,
    "Why placement matters", says how that was measured). Generators given these features can
    put it back.
    """
    width, height = float(frame_size[0]), float(frame_size[1])
    boxes = np.asarray(boxes, dtype=np.float64)
    scaled = boxes / np.array([width, height, height])
    return (2.0 * scaled - 1.0).astype(np.float32)


def register_crop_config() -> None:
    """`data.crop` is CropParams itself (its defaults and types, written once), stored in Hydra's ConfigStore
    under data/crop/default, where configs/data/*.yaml pick it: done when this module is first imported, so
    that every composition (entry points, the report, the bench, notebooks, tests) finds it."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    node = OmegaConf.structured(CropParams)
    OmegaConf.set_readonly(node, False)  # a frozen dataclass in code, but an option on the command line
    ConfigStore.instance().store(group="data/crop", name="default", node=node)


register_crop_config()
