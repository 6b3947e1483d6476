"""The drawing strokes of the synthetic renderer: anti-aliased capsules, limbs and polygons in cv2's
sub-pixel fixed point, shaded as if lit from the upper left."""

from __future__ import annotations

import cv2
import numpy as np

#: Sub-pixel precision of the cv2 drawing calls (coordinates are multiplied by 2**SHIFT).
SHIFT = 4
ONE = 1 << SHIFT
#: Light comes from the upper left of the image (unit vector, image coordinates).
LIGHT = (-0.5, -0.866)


def fixed_point(p) -> tuple:
    """A pixel point as cv2's fixed-point integer coordinates."""
    return int(round(float(p[0]) * ONE)), int(round(float(p[1]) * ONE))


def shade(color, f: float) -> tuple:
    """Darker (f < 1) or lighter towards white (f > 1) version of an RGB colour."""
    if f <= 1:
        return tuple(int(round(c * f)) for c in color)
    return tuple(int(round(c + (255 - c) * (f - 1))) for c in color)


def capsule(img, p0, p1, r0: float, r1: float, color) -> None:
    """A filled tapered capsule from p0 (radius r0) to p1 (radius r1), anti-aliased.
    (Plain floats here: this is the inner loop of the renderer.)"""
    x0, y0, x1, y1 = float(p0[0]), float(p0[1]), float(p1[0]), float(p1[1])
    dx, dy = x1 - x0, y1 - y0
    length = (dx * dx + dy * dy) ** 0.5
    if length > 1e-6:
        nx, ny = -dy / length, dx / length
        quad = np.array(
            [
                [x0 + nx * r0, y0 + ny * r0],
                [x1 + nx * r1, y1 + ny * r1],
                [x1 - nx * r1, y1 - ny * r1],
                [x0 - nx * r0, y0 - ny * r0],
            ]
        )
        cv2.fillConvexPoly(img, np.round(quad * ONE).astype(np.int32), color, cv2.LINE_AA, SHIFT)
    cv2.circle(
        img,
        (int(round(x0 * ONE)), int(round(y0 * ONE))),
        max(1, int(round(r0 * ONE))),
        color,
        -1,
        cv2.LINE_AA,
        SHIFT,
    )
    cv2.circle(
        img,
        (int(round(x1 * ONE)), int(round(y1 * ONE))),
        max(1, int(round(r1 * ONE))),
        color,
        -1,
        cv2.LINE_AA,
        SHIFT,
    )


def limb(img, p0, p1, r0: float, r1: float, color) -> None:
    """A shaded capsule: dark rim, body colour shifted towards the light, a narrow highlight."""
    x0, y0, x1, y1 = float(p0[0]), float(p0[1]), float(p1[0]), float(p1[1])
    dx, dy = x1 - x0, y1 - y0
    length = (dx * dx + dy * dy) ** 0.5
    nx, ny = (-dy / length, dx / length) if length > 1e-6 else (0.0, 0.0)
    # Towards the lit side; smaller when the limb points at the light.
    k = nx * LIGHT[0] + ny * LIGHT[1]
    lx, ly = nx * k, ny * k
    capsule(img, (x0, y0), (x1, y1), r0, r1, shade(color, 0.68))
    for f, shrink, c in ((0.16, 0.82, color), (0.45, 0.28, shade(color, 1.22))):
        capsule(
            img, (x0 + lx * f * r0, y0 + ly * f * r0), (x1 + lx * f * r1, y1 + ly * f * r1), shrink * r0, shrink * r1, c
        )


def polygon(img, points: np.ndarray, color) -> None:
    cv2.fillPoly(img, [np.round(np.asarray(points)[:, :2] * ONE).astype(np.int32)], color, cv2.LINE_AA, SHIFT)


def shaded_polygon(img, points: np.ndarray, color) -> None:
    """A polygon with a dark rim and its lit part shifted towards the light."""
    points = np.asarray(points)[:, :2]
    centre = points.mean(0)
    size = float(np.ptp(points, axis=0).max())
    polygon(img, points, shade(color, 0.7))
    polygon(img, centre + (points - centre) * 0.88 + np.array(LIGHT) * 0.04 * size, color)


def darken_ellipse(img, centre, axes, amount: float) -> None:
    """Multiply the pixels under an anti-aliased ellipse by (1 - amount)."""
    h, w = img.shape[:2]
    if min(axes) <= 0.5:
        return
    x0, x1 = int(max(0, centre[0] - axes[0] - 2)), int(min(w, centre[0] + axes[0] + 3))
    y0, y1 = int(max(0, centre[1] - axes[1] - 2)), int(min(h, centre[1] + axes[1] + 3))
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.ellipse(
        mask,
        fixed_point((centre[0] - x0, centre[1] - y0)),
        (max(1, int(axes[0] * ONE)), max(1, int(axes[1] * ONE))),
        0,
        0,
        360,
        255,
        -1,
        cv2.LINE_AA,
        SHIFT,
    )
    roi = img[y0:y1, x0:x1]
    roi[:] = (roi * (1.0 - amount * mask[..., None] / 255.0)).astype(np.uint8)
