"""Stick-figure rendering: coloured, anti-aliased limbs at any size.

One renderer serves both uses: network inputs (figure on black) and overlays on video frames.
OpenCV's anti-aliased line rasteriser draws only the pixels a limb touches, far less work at 256 px
than a vectorised distance field over the whole (frames, limbs, H, W) grid; the joint arithmetic
(fixed-point coordinates, NaN checks) is still done on whole arrays.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from motion_transfer.pose.skeleton import LIMB_COLORS, LIMBS, NUM_JOINTS, with_neck

#: Limb thickness as a fraction of the image side (about 3 px at 64 px).
DEFAULT_THICKNESS = 0.045
# Sub-pixel precision for cv2.line: coordinates are passed as fixed point with this many bits.
_SHIFT = 4
# Coordinates further than this many image sides from the image are not drawn (cv2 needs int32).
_FAR = 8.0


def _fixed_point_limbs(points: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 13, 2) pixel points -> limb end points (N, L, 2, 2) int32 fixed point, drawable (N, L) bool."""
    pts = with_neck(np.asarray(points, dtype=np.float64))
    ends = pts[:, np.array(LIMBS)]  # (N, L, 2, 2): limb, end, xy
    far = _FAR * max(height, width)
    drawable = np.isfinite(ends).all(axis=(-1, -2)) & (np.abs(np.nan_to_num(ends)) < far).all(axis=(-1, -2))
    # Pixel centres sit at integer coordinates for cv2, at +0.5 in our convention.
    fixed = np.round((np.clip(np.nan_to_num(ends), -far, far) - 0.5) * (1 << _SHIFT)).astype(np.int32)
    return fixed, drawable


def _thickness(height: int, width: int, relative: float) -> int:
    return max(1, int(round(relative * min(height, width))))


def draw_skeletons(images: np.ndarray, points: np.ndarray, thickness: float = DEFAULT_THICKNESS) -> np.ndarray:
    """Draw skeletons onto RGB images, in place and returned.

    images: (N, H, W, 3) uint8, C-contiguous; points: (N, 13, 2) pixel coordinates (x right,
    y down, pixel centres at +0.5). Limbs with a non-finite or absurdly far joint are left out.
    """
    n, h, w, _ = images.shape
    if points.shape != (n, NUM_JOINTS, 2):
        raise ValueError(f"expected skeletons of shape ({n}, {NUM_JOINTS}, 2), got {points.shape}")
    fixed, drawable = _fixed_point_limbs(points, h, w)
    width_px = _thickness(h, w, thickness)
    colours = [tuple(int(v) for v in c) for c in LIMB_COLORS]
    for i in range(n):
        image = images[i]
        for limb in np.flatnonzero(drawable[i]):
            (x0, y0), (x1, y1) = fixed[i, limb]
            cv2.line(image, (int(x0), int(y0)), (int(x1), int(y1)), colours[limb], width_px, cv2.LINE_AA, _SHIFT)
    return images


def render_stick_figures(skeletons: np.ndarray, size: int, thickness: float = DEFAULT_THICKNESS) -> np.ndarray:
    """Stick figures on black, as network input.

    skeletons: (N, 13, 2) crop coordinates in [0, 1]. Returns (N, size, size, 3) uint8 RGB.
    """
    skeletons = np.asarray(skeletons, dtype=np.float32)
    canvas = np.zeros((skeletons.shape[0], size, size, 3), dtype=np.uint8)
    return draw_skeletons(canvas, skeletons * size, thickness)


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB -> (N, 3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def tensor_to_images(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) float in [-1, 1] -> (N, H, W, 3) uint8 RGB."""
    out = ((images.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5 + 0.5).to(torch.uint8)
    return out.permute(0, 2, 3, 1).contiguous().numpy()
