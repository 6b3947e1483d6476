"""The empty room each role is filmed in: a wall and a floor in perspective, a courtyard with a window
for the target, a dojo with a scroll for the source."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from motion_transfer.data.synthetic.camera import CAMERAS
from motion_transfer.data.synthetic.strokes import SHIFT, fixed_point, shade


@dataclass(frozen=True)
class _Room:
    """Static background: a wall with a vertical gradient, a floor below `junction` (fraction of
    the height)."""

    wall_top: tuple
    wall_bottom: tuple
    floor_far: tuple
    floor_near: tuple
    junction: float
    style: str  # "courtyard" or "dojo": the static details drawn on top


_ROOMS = {
    "target": _Room(
        wall_top=(96, 128, 140),
        wall_bottom=(150, 168, 170),
        floor_far=(128, 122, 108),
        floor_near=(168, 158, 138),
        junction=0.72,
        style="courtyard",
    ),
    "source": _Room(
        wall_top=(214, 196, 158),
        wall_bottom=(190, 166, 124),
        floor_far=(150, 102, 60),
        floor_near=(182, 128, 78),
        junction=0.73,
        style="dojo",
    ),
}


def draw_room(role: str, width: int, height: int) -> np.ndarray:
    """The empty, static background of a role: (height, width, 3) uint8 RGB."""
    sc = _ROOMS[role]
    cam = CAMERAS[role]
    junction = int(round(sc.junction * height))
    y = np.arange(height, dtype=np.float64)[:, None]
    f_wall = np.clip(y / max(junction, 1), 0, 1)
    f_floor = np.clip((y - junction) / max(height - junction, 1), 0, 1)
    wall = np.array(sc.wall_top) * (1 - f_wall) + np.array(sc.wall_bottom) * f_wall
    floor = np.array(sc.floor_far) * (1 - f_floor) + np.array(sc.floor_near) * f_floor
    column = np.where(y < junction, wall, floor)
    img = np.ascontiguousarray(np.broadcast_to(np.round(column)[:, None, :], (height, width, 3)).astype(np.uint8))
    vanish = np.array([width / 2, cam.horizon * height])
    if sc.style == "courtyard":
        # Stone floor tiles in perspective, a darker plinth along the wall, a pale window.
        joint = shade(sc.floor_far, 0.82)
        for i in range(1, 7):
            yy = junction + (height - junction) * (i / 6.5) ** 1.6
            cv2.line(img, fixed_point((0, yy)), fixed_point((width, yy)), joint, 1, cv2.LINE_AA, SHIFT)
        for i in range(-9, 10):
            bottom = np.array([width / 2 + i * width / 7, height])
            a = vanish + (bottom - vanish) * (junction - vanish[1]) / (height - vanish[1])
            cv2.line(img, fixed_point(a), fixed_point(bottom), joint, 1, cv2.LINE_AA, SHIFT)
        cv2.rectangle(img, (0, junction - max(2, height // 40)), (width, junction), shade(sc.wall_top, 0.7), -1)
        x0, y0, x1, y1 = int(0.06 * width), int(0.1 * height), int(0.24 * width), int(0.42 * height)
        cv2.rectangle(img, (x0, y0), (x1, y1), (205, 220, 228), -1)
        cv2.rectangle(img, (x0, y0), (x1, y1), shade(sc.wall_top, 0.6), max(1, height // 100))
        cv2.line(img, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), shade(sc.wall_top, 0.6), max(1, height // 128))
    else:
        # Dojo: wooden wall panels, a scroll, floor planks converging in perspective.
        panel = shade(sc.wall_bottom, 0.8)
        for i in range(1, 8):
            x = i * width / 8
            cv2.line(img, fixed_point((x, 0)), fixed_point((x, junction)), panel, 1, cv2.LINE_AA, SHIFT)
        cv2.rectangle(img, (0, junction - max(3, height // 30)), (width, junction), shade(sc.wall_bottom, 0.55), -1)
        x0, x1 = int(0.78 * width), int(0.86 * width)
        cv2.rectangle(img, (x0, int(0.06 * height)), (x1, int(0.4 * height)), (238, 232, 214), -1)
        cv2.rectangle(img, (x0, int(0.06 * height)), (x1, int(0.4 * height)), (90, 60, 40), max(1, height // 128))
        plank = shade(sc.floor_far, 0.75)
        for i in range(-12, 13):
            bottom = np.array([width / 2 + i * width / 10, height])
            a = vanish + (bottom - vanish) * (junction - vanish[1]) / (height - vanish[1])
            cv2.line(img, fixed_point(a), fixed_point(bottom), plank, 1, cv2.LINE_AA, SHIFT)
    return img
