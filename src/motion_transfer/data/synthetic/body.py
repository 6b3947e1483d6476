"""The two people's bodies: their proportions, and the kinematics that turn motion channels into
the 3-D positions of their joints and face points, in body units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_transfer.data.synthetic.keyframes import CHANNELS


@dataclass(frozen=True)
class Body:
    """Proportions in units of standing height (sole to head top = about 1)."""

    ankle_h: float  # sole to ankle joint
    shin: float
    thigh: float
    hip_hw: float  # half distance between the hip joints
    torso: float  # hip-joint line to shoulder-joint line
    shoulder_hw: float  # half distance between the shoulder joints
    waist: float  # waist width relative to the shoulder/hip line
    neck: float  # shoulder centre to the top of the neck
    head_rx: float  # head ellipse half axes
    head_ry: float
    upper_arm: float
    forearm: float
    hand: float
    r_upper_arm: float  # limb radii (half widths) at the proximal end
    r_forearm: float
    r_thigh: float
    r_shin: float
    r_neck: float
    r_foot: float
    half_width: float  # most the drawn body reaches sideways from the pelvis (placement bound)


BODIES = {
    # Shorter (in pixels), slimmer, narrow shoulders.
    "target": Body(
        ankle_h=0.045,
        shin=0.23,
        thigh=0.245,
        hip_hw=0.068,
        torso=0.285,
        shoulder_hw=0.088,
        waist=0.82,
        neck=0.065,
        head_rx=0.054,
        head_ry=0.067,
        upper_arm=0.175,
        forearm=0.15,
        hand=0.065,
        r_upper_arm=0.027,
        r_forearm=0.022,
        r_thigh=0.042,
        r_shin=0.031,
        r_neck=0.023,
        r_foot=0.021,
        half_width=0.5,
    ),
    # Taller, broader shoulders, longer legs.
    "source": Body(
        ankle_h=0.045,
        shin=0.25,
        thigh=0.265,
        hip_hw=0.076,
        torso=0.255,
        shoulder_hw=0.126,
        waist=0.9,
        neck=0.06,
        head_rx=0.051,
        head_ry=0.064,
        upper_arm=0.18,
        forearm=0.155,
        hand=0.06,
        r_upper_arm=0.033,
        r_forearm=0.027,
        r_thigh=0.047,
        r_shin=0.034,
        r_neck=0.029,
        r_foot=0.022,
        half_width=0.62,
    ),
}


#: Extra points used for drawing, appended after the 33 landmarks.
HEAD_CENTRE, NECK_TOP, SHOULDER_CENTRE, PELVIS_CENTRE = 33, 34, 35, 36
_N_POINTS = 37

#: Face landmarks on the head: (index, azimuth around the head in radians, + towards the
#: person's left; vertical offset in head half-heights, + down; how far they stick out).
_FACE = (
    (0, 0.0, 0.35, 1.12),  # nose
    (1, 0.17, -0.05, 1.0),
    (2, 0.36, -0.05, 1.0),
    (3, 0.55, -0.05, 1.0),  # left eye
    (4, -0.17, -0.05, 1.0),
    (5, -0.36, -0.05, 1.0),
    (6, -0.55, -0.05, 1.0),  # right eye
    (7, 1.5, 0.02, 1.0),
    (8, -1.5, 0.02, 1.0),  # ears
    (9, 0.3, 0.55, 1.0),
    (10, -0.3, 0.55, 1.0),  # mouth
)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _two_bone(root: np.ndarray, target: np.ndarray, l1: float, l2: float, hint: np.ndarray):
    """Inverse kinematics of a two-segment limb. (N, 3) root and target, (N, 3) bend direction
    hint -> (mid, end): the end is the target, pulled in where it is out of reach."""
    v = target - root
    dist = np.linalg.norm(v, axis=-1, keepdims=True)
    u = v / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(l1 - l2) + 1e-3, (l1 + l2) * 0.999)
    along = (l1 * l1 - l2 * l2 + dist * dist) / (2 * dist)
    across = np.sqrt(np.maximum(l1 * l1 - along * along, 0.0))
    bend = _unit(hint - (hint * u).sum(-1, keepdims=True) * u)
    return root + u * along + bend * across, root + u * dist


def joint_positions(body: Body, ch: np.ndarray) -> np.ndarray:
    """Channels (N, C) -> points (N, 37, 3) in body units (x right, y down, z away from the
    camera; ground at y = 0). Points 0-32 are MediaPipe's landmarks, then head centre, neck
    top, shoulder centre, pelvis centre."""
    n = len(ch)
    c = {name: ch[:, i] for i, name in enumerate(CHANNELS)}
    pts = np.zeros((n, _N_POINTS, 3))
    yaw = np.radians(c["yaw"])
    lean = np.radians(c["lean"])
    leg = body.thigh + body.shin

    # Pelvis: between the feet, shifted by the weight; over the standing foot when one is lifted.
    lift = {s: np.maximum(c[f"a{s}_lift"], 0.0) for s in "LR"}
    up_l, up_r = _smoothstep(lift["L"] / 0.08), _smoothstep(lift["R"] / 0.08)
    mid = 0.5 * (c["aL_x"] + c["aR_x"])
    half = 0.5 * (c["aL_x"] - c["aR_x"])
    px = (
        (mid + 0.7 * c["weight"] * half) * (1 - up_l) * (1 - up_r)
        + up_l * (1 - up_r) * (c["aR_x"] + 0.03)
        + up_r * (1 - up_l) * (c["aL_x"] - 0.03)
        + up_l * up_r * mid
    )
    # Hips turn half as much as the shoulders.
    hip_off = np.stack([body.hip_hw * np.cos(0.5 * yaw), np.zeros(n), body.hip_hw * np.sin(0.5 * yaw)], -1)
    ankle_target = {s: np.stack([c[f"a{s}_x"], -(body.ankle_h + lift[s]), c[f"a{s}_z"]], -1) for s in "LR"}

    # Pelvis height: as wished (legs almost straight minus the crouch), but low enough that each
    # planted foot can be reached. A lifted foot does not hold the pelvis down.
    reach = 0.985 * leg
    height = reach + body.ankle_h - c["crouch"]
    for s, sg, up in (("L", 1.0, up_l), ("R", -1.0, up_r)):
        dx = c[f"a{s}_x"] - (px + sg * hip_off[:, 0])
        dz = c[f"a{s}_z"] - sg * hip_off[:, 2]
        can = np.sqrt(np.maximum(reach**2 - dx**2 - dz**2, (0.3 * leg) ** 2)) + body.ankle_h + lift[s]
        height = np.minimum(height, can + 2.0 * up)
    pelvis = np.stack([px, -height, np.zeros(n)], -1)
    pts[:, PELVIS_CENTRE] = pelvis

    for s, sg, hip_i, knee_i, ankle_i, heel_i, toe_i in (
        ("L", 1.0, 23, 25, 27, 29, 31),
        ("R", -1.0, 24, 26, 28, 30, 32),
    ):
        hip = pelvis + sg * hip_off
        # Knees bend forward and a little outwards when standing, upwards when kicking.
        stand_hint = _unit(np.array([sg * 0.2, 0.0, -0.98]))
        kick_hint = _unit(np.array([sg * 0.3, -1.0, -0.3]))
        k = c[f"kick{s}"][:, None]
        knee, ankle = _two_bone(hip, ankle_target[s], body.thigh, body.shin, (1 - k) * stand_hint + k * kick_hint)
        # A planted foot stands flat on the floor; a lifted one follows the shin (pointed toes).
        up = (up_l if s == "L" else up_r)[:, None]
        down = _unit((1 - up) * np.array([0.0, 1.0, 0.0]) + up * _unit(ankle - knee))
        # The toes point towards the camera and a little outwards, at right angles to `down`.
        fwd = np.array([sg * 0.35, 0.0, -1.0])
        fwd = _unit(fwd - (down @ fwd)[:, None] * down)
        sole = ankle + down * (body.ankle_h - body.r_foot)
        pts[:, hip_i], pts[:, knee_i], pts[:, ankle_i] = hip, knee, ankle
        pts[:, heel_i] = sole - fwd * 0.02 + np.array([0, 0, 0.02])
        pts[:, toe_i] = sole + fwd * 0.1

    # Spine and shoulders: the shoulder line turns with the yaw (the far shoulder moves back).
    spine_up = np.stack([np.sin(lean), -np.cos(lean), np.zeros(n)], -1)
    across = np.stack([np.cos(lean), np.sin(lean), np.zeros(n)], -1)
    shoulder_c = pelvis + body.torso * spine_up
    sh_off = body.shoulder_hw * (across * np.cos(yaw)[:, None] + np.stack([np.zeros(n), np.zeros(n), np.sin(yaw)], -1))
    pts[:, SHOULDER_CENTRE] = shoulder_c

    for s, sg, sh_i, el_i, wr_i, pinky_i, index_i, thumb_i in (
        ("L", 1.0, 11, 13, 15, 17, 19, 21),
        ("R", -1.0, 12, 14, 16, 18, 20, 22),
    ):
        shoulder = shoulder_c + sg * sh_off
        upper = _unit(np.stack([c[f"u{s}_{a}"] for a in "xyz"], -1))
        fore = _unit(np.stack([c[f"f{s}_{a}"] for a in "xyz"], -1))
        elbow = shoulder + body.upper_arm * upper
        wrist = elbow + body.forearm * fore
        # Thumb side of the hand: towards the midline when the arm hangs down.
        side = np.stack([fore[:, 1], -fore[:, 0], np.zeros(n)], -1) * -sg
        side = np.where(np.linalg.norm(side, axis=-1, keepdims=True) < 1e-3, np.array([-sg, 0.0, 0.0]), _unit(side))
        pts[:, sh_i], pts[:, el_i], pts[:, wr_i] = shoulder, elbow, wrist
        pts[:, index_i] = wrist + fore * body.hand + side * 0.006
        pts[:, pinky_i] = wrist + fore * body.hand * 0.8 - side * 0.018
        pts[:, thumb_i] = wrist + fore * body.hand * 0.45 + side * 0.024

    # Neck and head; the face turns with the shoulders (a little more).
    roll = lean + np.radians(c["tilt"])
    head_up = np.stack([np.sin(roll), -np.cos(roll), np.zeros(n)], -1)
    head_right = np.stack([np.cos(roll), np.sin(roll), np.zeros(n)], -1)
    neck_top = shoulder_c + body.neck * spine_up
    head = neck_top + 0.9 * body.head_ry * head_up
    pts[:, NECK_TOP], pts[:, HEAD_CENTRE] = neck_top, head
    yaw_h = np.clip(1.2 * yaw, -1.0, 1.0)[:, None]
    for i, azimuth, down, out in _FACE:
        x = body.head_rx * out * np.sin(azimuth + yaw_h)
        z = -body.head_rx * out * np.cos(azimuth + yaw_h)
        pts[:, i] = head + head_right * x - head_up * (down * body.head_ry) + np.concatenate([np.zeros((n, 2)), z], -1)
    return pts
