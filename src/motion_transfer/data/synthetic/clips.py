"""Whole clips of the embedded default data set, drawn by a procedural renderer of two people-like figures.

`render_clip("target", ...)` draws a slim person in a white top and dark trousers doing slow
tai-chi-like moves (arms rising and sweeping, soft knees, side steps, weight shifts) while
drifting across the frame and walking closer to and away from the camera, so the body height in
pixels changes by roughly a quarter. `render_clip("source", ...)` draws a taller, broader person
in a blue gi doing faster karate-like moves (punches, blocks, kicks, stance changes). Both come
with the exact landmarks they were drawn from, in MediaPipe Pose's 33-landmark layout, so the
rest of the pipeline treats a clip like a real video after pose extraction.

How it works: the motion is a few control channels (arm and forearm directions, foot positions,
weight shift, crouch, lean, turn) given as keyframes and interpolated over time; a 3-D forward
and inverse kinematics turns them into joint positions for all frames at once (numpy), in body
units (standing height = 1, x right, y down, z away from the camera, ground at y = 0); a camera
maps them to pixels; then cv2 draws each frame over a static scene. Everything comes from
`np.random.default_rng` seeded with (seed, role): same arguments, byte-identical output.

The parts: keyframes.py (the channels and their interpolation), choreography.py (the moves),
body.py (proportions and kinematics), camera.py (body units to pixels), strokes.py and
figure.py (drawing the person and their mask), room.py (the empty scene).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_transfer.data.synthetic.body import BODIES, joint_positions
from motion_transfer.data.synthetic.camera import CAMERAS, MARGIN_PX, place_in_frame
from motion_transfer.data.synthetic.choreography import source_motion, target_motion
from motion_transfer.data.synthetic.figure import draw_figure, person_mask
from motion_transfer.data.synthetic.room import draw_room

SYNTHETIC_FPS = 25
ROLES = ("target", "source")


def _rng(role: str, seed: int) -> np.random.Generator:
    """The role's random stream for a seed: the two roles never share motions."""
    return np.random.default_rng([int(seed) % (1 << 64), ROLES.index(role)])


def _motion(role: str, n_frames: int, seed: int, width: int, height: int):
    """Pixel points (N, 37, 3), pixels per body unit (N,) and floor line y (N,) of a clip."""
    body, cam = BODIES[role], CAMERAS[role]
    rng = _rng(role, seed)
    t = np.arange(n_frames) / SYNTHETIC_FPS
    # Walk towards / away from the camera: one slow cycle, with a random start and period.
    period = rng.uniform(*cam.depth_period_s)
    depth = 0.5 - 0.5 * np.cos(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    # Left/right wander: as far as the frame allows at the nearest distance.
    drift = 0.85 * max(0.0, (width / 2 - MARGIN_PX) / (cam.scale_near * height) - body.half_width)
    motion = target_motion if role == "target" else source_motion
    channels = motion(rng, t, drift)
    pts = joint_positions(body, channels)
    placed, scale = place_in_frame(pts, body, cam, depth, width, height)
    # The floor line under the person follows the same zoom as the figure.
    ground = np.maximum(placed[:, 27, 1], placed[:, 28, 1]) + scale * body.ankle_h
    return placed, scale, ground


def _check_arguments(role: str, n_frames: int, width: int, height: int) -> tuple[int, int, int]:
    if role not in ROLES:
        raise ValueError(f"unknown synthetic role {role!r}: expected one of {', '.join(ROLES)}")
    n_frames, width, height = int(n_frames), int(width), int(height)
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    if width < 32 or height < 32:
        raise ValueError(f"frame size must be at least 32x32 pixels, got {width}x{height}")
    return n_frames, width, height


def render_background(role: str, width: int = 320, height: int = 256) -> np.ndarray:
    """The true background of a role's clips, the scene without the person: (height, width, 3)
    uint8 RGB (the person's floor shadow is not in it)."""
    _check_arguments(role, 0, width, height)
    return draw_room(role, int(width), int(height))


@dataclass(frozen=True)
class SyntheticClip:
    """A rendered clip with what a real video does not tell: frames (N, H, W, 3) uint8 RGB;
    landmarks (N, 33, 4) float32 as render_clip gives them; masks (N, H, W) uint8 0..255, the
    exact share of each pixel the person covers (soft only at anti-aliased edges, the floor
    shadow excluded); background (H, W, 3) uint8 RGB, the scene without the person."""

    frames: np.ndarray
    landmarks: np.ndarray
    masks: np.ndarray
    background: np.ndarray


def _render(role: str, n_frames: int, seed: int, width: int, height: int, with_masks: bool):
    n_frames, width, height = _check_arguments(role, n_frames, width, height)
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    landmarks = np.ones((n_frames, 33, 4), np.float32)
    masks = np.zeros((n_frames, height, width), np.uint8) if with_masks else None
    scene = draw_room(role, width, height)
    if n_frames == 0:
        return frames, landmarks, masks, scene
    pts, scale, ground = _motion(role, n_frames, seed, width, height)
    for i in range(n_frames):
        frame = frames[i]
        frame[:] = scene
        draw_figure(frame, pts[i], float(scale[i]), float(ground[i]), role)
        if with_masks:
            masks[i] = person_mask(pts[i], float(scale[i]), float(ground[i]), role, width, height)
    landmarks[..., :3] = pts[:, :33]
    return frames, landmarks, masks, scene


def render_clip(
    role: str, n_frames: int, seed: int, width: int = 320, height: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Render a synthetic clip of one person in front of a static camera.

    role: "target" (slow tai chi, walks closer and away) or "source" (fast karate).
    Returns (frames, landmarks): frames (n_frames, height, width, 3) uint8 RGB; landmarks
    (n_frames, 33, 4) float32 in MediaPipe Pose's layout: x, y in pixels of the frame (x right,
    y down), z in pixels relative to the hip midpoint (negative = nearer the camera),
    visibility 1. The landmarks are the exact points the figure was drawn from.
    See render_clip_with_masks for the person's masks and the background as well.
    """
    frames, landmarks, _, _ = _render(role, n_frames, seed, width, height, with_masks=False)
    return frames, landmarks


def render_clip_with_masks(role: str, n_frames: int, seed: int, width: int = 320, height: int = 256) -> SyntheticClip:
    """render_clip's frames and landmarks (byte-identical) with the exact person masks and the
    true background (see SyntheticClip). About three times render_clip's drawing time."""
    frames, landmarks, masks, scene = _render(role, n_frames, seed, width, height, with_masks=True)
    return SyntheticClip(frames=frames, landmarks=landmarks, masks=masks, background=scene)
