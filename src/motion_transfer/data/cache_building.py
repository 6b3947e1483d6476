"""What a skeleton cache is built from, beside the pose pass (pose_pass.py): the person masks held
compressed, a sample of frames for the background plate, and the crops of frames and masks around
the person with the skeletons in crop coordinates."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from motion_transfer.data.plate import MAX_PLATE_FRAMES, sample_indices
from motion_transfer.pose import crop as cropping
from motion_transfer.pose.crop import CropParams
from motion_transfer.pose.skeleton import reduce_landmarks


def as_mask_uint8(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """A frame's person mask as (H, W) uint8 0..255: floats in [0, 1] are scaled; None is empty."""
    if mask is None:
        return np.zeros(shape, dtype=np.uint8)
    mask = np.asarray(mask)
    if mask.dtype != np.uint8:
        mask = np.clip(np.round(mask.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    if mask.shape != shape:
        raise ValueError(f"a mask of shape {mask.shape} for a frame of {shape}")
    return mask


def assemble_cache_arrays(
    frames: Iterable[np.ndarray],
    landmarks: np.ndarray,
    detected: np.ndarray,
    fps: float,
    params: CropParams,
    masks: Iterable[np.ndarray | None] | None = None,
    out: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Crop every frame and its person mask around the person and express the skeletons in crop coordinates.

    frames: iterable of (H, W, 3) uint8 RGB, in order, as many as landmarks; landmarks (N, 33, 4)
    in pixels (rows of undetected frames are ignored); detected (N,) bool; masks: iterable of
    (H, W) person masks in step with the frames (float in [0, 1] or uint8 0..255; None, or a
    frame without a person, gives an empty mask), or None for no masks at all. Masks are cropped
    by the same transform as the frames (crop.crop_frame, bilinear) into (N, R, R) uint8. `out`
    may give the "crops" and "masks" to fill, row by row in order (files written as they come:
    the crops of a long clip then never all sit in memory).
    """
    landmarks = np.asarray(landmarks, dtype=np.float32).copy()
    detected = np.asarray(detected, dtype=bool)
    landmarks[~detected] = np.nan
    boxes = cropping.crop_boxes(landmarks, detected, fps, params)
    n = len(detected)
    size = params.crop_size
    out = out or {}
    crops = out["crops"] if "crops" in out else np.empty((n, size, size, 3), dtype=np.uint8)
    mask_crops = out["masks"] if "masks" in out else np.zeros((n, size, size), dtype=np.uint8)
    mask_iter = iter(masks) if masks is not None else None
    no_mask = np.zeros((size, size), dtype=np.uint8)
    i = -1
    for i, frame in enumerate(frames):
        if i >= n:
            break
        crops[i] = cropping.crop_frame(frame, boxes[i], size)
        mask = next(mask_iter, None) if mask_iter is not None else None
        if mask is not None and detected[i]:
            mask_crops[i] = cropping.crop_frame(as_mask_uint8(mask, frame.shape[:2]), boxes[i], size)
        else:
            mask_crops[i] = no_mask
    if i + 1 < n:
        raise ValueError(f"got {i + 1} frames for {n} landmark rows")
    skeletons = cropping.to_crop_coordinates(reduce_landmarks(landmarks).astype(np.float64), boxes)
    return {
        "crops": crops,
        "masks": mask_crops,
        "landmarks": landmarks,
        "skeletons": skeletons,
        "boxes": boxes,
        "detected": detected,
    }


class MaskStore:
    """The full-resolution person masks of a clip, held until the crop boxes are known: each cut
    to the bounding box of its non-zero pixels and PNG-compressed (MediaPipe's masks are ~0
    away from the person: ~15-20 kB a frame at 960x720 instead of 690 kB)."""

    def __init__(self, height: int, width: int):
        self.shape = (height, width)
        self._items: list[tuple[int, int, bytes] | None] = []

    def append(self, mask: np.ndarray | None) -> None:
        if mask is None:
            self._items.append(None)
            return
        ys = np.flatnonzero(mask.any(axis=1))
        if len(ys) == 0:
            self._items.append(None)
            return
        xs = np.flatnonzero(mask.any(axis=0))
        y0, y1, x0, x1 = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
        ok, png = cv2.imencode(".png", np.ascontiguousarray(mask[y0:y1, x0:x1]), [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise RuntimeError("could not compress a person mask")
        self._items.append((y0, x0, png.tobytes()))

    def __len__(self) -> int:
        return len(self._items)

    def extend(self, later: MaskStore) -> None:
        """Append the masks of the frames that follow these (a later part of the clip)."""
        self._items.extend(later._items)

    def __iter__(self):
        for item in self._items:
            if item is None:
                yield None
                continue
            y0, x0, png = item
            part = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
            mask = np.zeros(self.shape, dtype=np.uint8)
            mask[y0 : y0 + part.shape[0], x0 : x0 + part.shape[1]] = part
            yield mask


class PlateSampler:
    """Keeps at most MAX_PLATE_FRAMES frames and their full-resolution masks, spread evenly over
    a clip, for the background plate: memory does not grow with the clip's length.

    With the frame count known up front (the header), the indices are chosen once; without it,
    every `stride`-th frame is kept, and the stride doubles whenever twice the quota is held."""

    def __init__(self, expected_frames: int, count: int = MAX_PLATE_FRAMES):
        self.count = int(count)
        self.wanted = set(sample_indices(expected_frames, self.count).tolist()) if expected_frames > 0 else None
        self.stride = 1
        self.items: list[tuple[int, np.ndarray, np.ndarray]] = []

    def offer(self, index: int, frame: np.ndarray, mask: np.ndarray | None) -> None:
        if self.wanted is not None:
            take = index in self.wanted
        else:
            take = index % self.stride == 0
        if not take:
            return
        self.items.append((index, frame, as_mask_uint8(mask, frame.shape[:2])))
        if self.wanted is None and len(self.items) >= 2 * self.count:
            self.items = self.items[::2]
            self.stride *= 2

    def extend(self, later: PlateSampler) -> None:
        """Take the samples of a later part of the clip, chosen from the same frame count."""
        self.items.extend(later.items)

    def samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K,) frame indices, (K, H, W, 3) frames and (K, H, W) uint8 masks, K <= count."""
        items = self.items
        if len(items) > self.count:
            items = [items[i] for i in sample_indices(len(items), self.count)]
        picks = np.array([index for index, _, _ in items], dtype=np.int64)
        return picks, np.stack([frame for _, frame, _ in items]), np.stack([mask for _, _, mask in items])
