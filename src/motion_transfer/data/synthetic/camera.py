"""The static camera of each role: how large the person appears as they walk nearer and away, and
the mapping of body units to pixels that keeps the whole figure inside the frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_transfer.data.synthetic.body import HEAD_CENTRE, Body

#: Free pixels kept between the drawn figure and the frame border.
MARGIN_PX = 3.0


@dataclass(frozen=True)
class Camera:
    """Static camera. Body height in pixels is `scale * height`; it varies between `scale_far`
    and `scale_near` with the person's distance. The camera is at head height, so the feet stand
    at y = (horizon + scale) * height: nearer means bigger and lower in the frame."""

    scale_far: float
    scale_near: float
    horizon: float
    depth_period_s: tuple  # range of the period of the walk towards / away from the camera
    drift_period_s: tuple  # range of the periods of the left/right drift


CAMERAS = {
    "target": Camera(
        scale_far=0.52, scale_near=0.68, horizon=0.23, depth_period_s=(7.5, 10.5), drift_period_s=(14.0, 26.0)
    ),
    "source": Camera(
        scale_far=0.72, scale_near=0.76, horizon=0.17, depth_period_s=(10.0, 16.0), drift_period_s=(10.0, 20.0)
    ),
}


def place_in_frame(pts: np.ndarray, body: Body, cam: Camera, depth: np.ndarray, width: int, height: int):
    """Body-unit points (N, P, 3) -> pixel points (N, P, 3) (z in pixels, relative to the hip
    midpoint) and the pixels per body unit (N,). If the figure would leave the frame anywhere
    (very narrow frames), the whole clip is zoomed out once, like a wider lens."""
    scale = height * (cam.scale_far + (cam.scale_near - cam.scale_far) * depth)
    ground = height * cam.horizon + scale
    out = np.empty_like(pts)
    out[..., 0] = width / 2 + scale[:, None] * pts[..., 0]
    out[..., 1] = ground[:, None] + scale[:, None] * pts[..., 1]
    hips_z = 0.5 * (pts[:, 23, 2] + pts[:, 24, 2])
    out[..., 2] = scale[:, None] * (pts[..., 2] - hips_z[:, None])

    # Extent of the drawn figure: limb widths around the points, hair on the head, soles.
    pad = scale[:, None] * max(body.r_thigh, body.r_upper_arm, body.r_foot)
    lo = np.stack(
        [
            (out[:, :33, 0] - pad).min(1),
            np.minimum((out[:, :33, 1] - pad).min(1), out[:, HEAD_CENTRE, 1] - scale * body.head_ry * 1.55),
        ],
        -1,
    )
    hi = np.stack([(out[:, :33, 0] + pad).max(1), (out[:, :33, 1] + pad).max(1)], -1)
    lo, hi = lo.min(0), hi.max(0)
    size = np.array([width, height], dtype=np.float64)
    room = size - 2 * MARGIN_PX
    k = min(1.0, *(room / np.maximum(hi - lo, 1e-9)))
    # Zoom about the bottom centre, so the feet stay on the floor, then move in if still out.
    anchor = np.array([width / 2, hi[1]])
    lo, hi = anchor + k * (lo - anchor), anchor + k * (hi - anchor)
    shift = np.maximum(MARGIN_PX - lo, 0.0) + np.minimum(size - MARGIN_PX - hi, 0.0)
    out[..., :2] = anchor + k * (out[..., :2] - anchor) + shift
    out[..., 2] *= k
    return out, scale * k
