"""The reduced skeleton: 13 MediaPipe joints in 2-D, and geometry over (frames, joints, 2) arrays."""

from __future__ import annotations

import numpy as np

#: MediaPipe Pose landmark indices kept by the lab's reduced skeleton, in this order: nose, left and
#: right shoulder, elbow, wrist, hip, knee, ankle (left before right).
REDUCED_LANDMARKS = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
NUM_JOINTS = len(REDUCED_LANDMARKS)
NUM_LANDMARKS = 33
VECTOR_SIZE = 2 * NUM_JOINTS

NOSE = 0
SHOULDERS = (1, 2)
ANKLES = (11, 12)
#: Index of the virtual neck (mid-shoulder) point appended by `with_neck`.
NECK = NUM_JOINTS

#: Limbs as pairs of joint indices (NECK is the mid-shoulder point), drawn in this order.
LIMBS = (
    (7, 8),  # hips
    (1, 7),  # left flank
    (2, 8),  # right flank
    (1, 2),  # shoulders
    (NOSE, NECK),
    (8, 10),
    (10, 12),  # right leg
    (7, 9),
    (9, 11),  # left leg
    (2, 4),
    (4, 6),  # right arm
    (1, 3),
    (3, 5),  # left arm
)
#: One RGB colour per limb: the person's left in warm colours, right in cool ones, so a
#: generator can tell a left arm from a right arm.
LIMB_COLORS = np.array(
    [
        (200, 200, 200),
        (255, 170, 0),
        (0, 170, 255),
        (230, 230, 230),
        (255, 255, 255),
        (0, 90, 255),
        (0, 220, 255),
        (255, 60, 0),
        (255, 220, 0),
        (60, 60, 255),
        (0, 255, 160),
        (255, 0, 120),
        (255, 120, 200),
    ],
    dtype=np.uint8,
)


def reduce_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """(..., 33, C>=2) MediaPipe landmarks -> (..., 13, 2) reduced skeleton (x, y)."""
    landmarks = np.asarray(landmarks)
    if landmarks.shape[-2] != NUM_LANDMARKS:
        raise ValueError(f"expected {NUM_LANDMARKS} landmarks, got shape {landmarks.shape}")
    return landmarks[..., REDUCED_LANDMARKS, :2]


def with_neck(skeletons: np.ndarray) -> np.ndarray:
    """(..., 13, 2) -> (..., 14, 2) with the mid-shoulder point appended (index NECK)."""
    neck = skeletons[..., SHOULDERS, :].mean(axis=-2, keepdims=True)
    return np.concatenate([skeletons, neck], axis=-2)


def valid_frames(skeletons: np.ndarray) -> np.ndarray:
    """(N, J, 2) -> (N,) bool: True where every coordinate is finite."""
    return np.isfinite(skeletons).all(axis=(-1, -2))


def to_vector(skeletons: np.ndarray) -> np.ndarray:
    """(N, 13, 2) crop coordinates in [0, 1] -> (N, 26) network input in [-1, 1]."""
    skeletons = np.asarray(skeletons, dtype=np.float32)
    return (skeletons.reshape(*skeletons.shape[:-2], VECTOR_SIZE) * 2.0 - 1.0).astype(np.float32)


def ankle_point(skeletons: np.ndarray) -> np.ndarray:
    """(N, 13, 2) -> (N, 2): the mid-point of the two ankles."""
    return skeletons[..., ANKLES, :].mean(axis=-2)


def body_height(skeletons: np.ndarray) -> np.ndarray:
    """(N, 13, 2) -> (N,): vertical extent from the nose to the lower ankle (image y grows down)."""
    return skeletons[..., ANKLES, 1].max(axis=-1) - skeletons[..., NOSE, 1]


def sanitize(skeletons: np.ndarray, limit: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Make hostile skeleton values safe to use.

    Returns (clean, usable): `clean` has every non-finite value, and every coordinate further
    than `limit` from the unit square, replaced by NaN; `usable` (N,) is True for frames whose
    joints are all finite afterwards and not all identical (an all-zero skeleton is no pose).
    """
    clean = np.array(skeletons, dtype=np.float32, copy=True)
    clean[~np.isfinite(clean) | (np.abs(clean - 0.5) > limit)] = np.nan
    finite = np.isfinite(clean).all(axis=(-1, -2))
    filled = np.nan_to_num(clean, nan=0.0)
    spread = (filled.max(axis=-2) - filled.min(axis=-2)).max(axis=-1)
    usable = finite & (spread > 1e-6)
    return clean, usable


#: A standing person in crop coordinates: what a generator draws when no input pose is usable.
NEUTRAL_POSE = np.array(
    [
        [0.5, 0.18],
        [0.58, 0.3],
        [0.42, 0.3],
        [0.61, 0.45],
        [0.39, 0.45],
        [0.62, 0.58],
        [0.38, 0.58],
        [0.55, 0.58],
        [0.45, 0.58],
        [0.55, 0.73],
        [0.45, 0.73],
        [0.55, 0.88],
        [0.45, 0.88],
    ],
    dtype=np.float32,
)


def forward_fill(skeletons: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Replace unusable frames by the last usable one (the first usable one before any).

    (N, J, 2), (N,) bool -> (N, J, 2). When no frame is usable, every frame gets NEUTRAL_POSE.
    """
    usable = np.asarray(usable, dtype=bool)
    if not usable.any():
        return np.broadcast_to(NEUTRAL_POSE, skeletons.shape).astype(np.float32).copy()
    idx = np.where(usable, np.arange(len(usable)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = np.argmax(usable)
    return skeletons[idx]


def facing_angles(landmarks: np.ndarray) -> np.ndarray:
    """(N, 33, >=3) MediaPipe landmarks (x, y, z) -> (N,) how the body is turned about the vertical, in
    radians: 0 facing the camera, pi/2 the image's right, -pi/2 its left, +-pi away from the camera.

    Read from the left-to-right lines of the shoulders and of the hips seen from above (x and MediaPipe's
    depth z): a back view and a front view can have the same 2-D skeleton, never the same turn. NaN where no
    person was found, or without depth (landmarks with z all 0, as a drawn figure's truth)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 3 or lm.shape[2] < 3:
        return np.full(len(lm), np.nan)
    across = (lm[:, 11, 0:3:2] - lm[:, 12, 0:3:2]) + (lm[:, 23, 0:3:2] - lm[:, 24, 0:3:2])
    angles = np.arctan2(across[:, 1], across[:, 0])
    angles[np.all(lm[:, :, 2] == 0, axis=1)] = np.nan
    return angles


def held_facings(landmarks: np.ndarray, window: int = 7) -> np.ndarray:
    """`facing_angles` of a clip, averaged as directions over `window` frames (MediaPipe's depth is noisy
    from frame to frame), a frame without a person holding the last known facing; NaN where none is known."""
    angles = facing_angles(landmarks)
    known = np.isfinite(angles)
    if not known.any():
        return angles
    directions = np.where(known[:, None], np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.0)
    kernel = np.ones(max(1, int(window)))
    smoothed = np.stack([np.convolve(directions[:, k], kernel, mode="same") for k in range(2)], axis=1)
    return forward_fill(np.arctan2(smoothed[:, 1], smoothed[:, 0]), known)
