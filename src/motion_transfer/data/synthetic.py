"""The embedded default data set: a procedural renderer of two people-like figures.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SYNTHETIC_FPS = 25
ROLES = ("target", "source")

#: Sub-pixel precision of the cv2 drawing calls (coordinates are multiplied by 2**_SHIFT).
_SHIFT = 4
_ONE = 1 << _SHIFT
#: Free pixels kept between the drawn figure and the frame border.
_MARGIN_PX = 3.0
#: Light comes from the upper left of the image (unit vector, image coordinates).
_LIGHT = (-0.5, -0.866)

# --------------------------------------------------------------------------------------------
# Per-role constants: body, look, camera, scene
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Body:
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


@dataclass(frozen=True)
class _Look:
    """Colours (RGB) of one person."""

    skin: tuple
    hair: tuple
    top: tuple  # jacket / shirt and sleeves
    trousers: tuple
    shoes: tuple | None  # None: barefoot
    belt: tuple | None
    sleeve_end: float  # where the sleeve ends along the forearm (1 = at the wrist)
    trouser_end: float  # where the trousers end along the shin (1 = at the ankle)
    bun: bool  # hair tied in a bun on top of the head
    fists: bool  # closed fists (karate) rather than open hands with a thumb


@dataclass(frozen=True)
class _Camera:
    """Static camera. Body height in pixels is `scale * height`; it varies between `scale_far`
    and `scale_near` with the person's distance. The camera is at head height, so the feet stand
    at y = (horizon + scale) * height: nearer means bigger and lower in the frame."""

    scale_far: float
    scale_near: float
    horizon: float
    depth_period_s: tuple  # range of the period of the walk towards / away from the camera
    drift_period_s: tuple  # range of the periods of the left/right drift


@dataclass(frozen=True)
class _Scene:
    """Static background: a wall with a vertical gradient, a floor below `junction` (fraction of
    the height)."""

    wall_top: tuple
    wall_bottom: tuple
    floor_far: tuple
    floor_near: tuple
    junction: float
    style: str  # "courtyard" or "dojo": the static details drawn on top


_BODIES = {
    # Shorter (in pixels), slimmer, narrow shoulders.
    "target": _Body(
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
    "source": _Body(
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
_LOOKS = {
    "target": _Look(
        skin=(236, 196, 166),
        hair=(178, 176, 172),
        top=(238, 238, 232),
        trousers=(38, 38, 48),
        shoes=(22, 22, 24),
        belt=None,
        sleeve_end=0.95,
        trouser_end=1.0,
        bun=True,
        fists=False,
    ),
    "source": _Look(
        skin=(150, 100, 68),
        hair=(28, 22, 20),
        top=(36, 78, 186),
        trousers=(36, 78, 186),
        shoes=None,
        belt=(20, 20, 20),
        sleeve_end=0.6,
        trouser_end=0.82,
        bun=False,
        fists=True,
    ),
}
_CAMERAS = {
    "target": _Camera(
        scale_far=0.52, scale_near=0.68, horizon=0.23, depth_period_s=(7.5, 10.5), drift_period_s=(14.0, 26.0)
    ),
    "source": _Camera(
        scale_far=0.72, scale_near=0.76, horizon=0.17, depth_period_s=(10.0, 16.0), drift_period_s=(10.0, 20.0)
    ),
}
_SCENES = {
    "target": _Scene(
        wall_top=(96, 128, 140),
        wall_bottom=(150, 168, 170),
        floor_far=(128, 122, 108),
        floor_near=(168, 158, 138),
        junction=0.72,
        style="courtyard",
    ),
    "source": _Scene(
        wall_top=(214, 196, 158),
        wall_bottom=(190, 166, 124),
        floor_far=(150, 102, 60),
        floor_near=(182, 128, 78),
        junction=0.73,
        style="dojo",
    ),
}

# --------------------------------------------------------------------------------------------
# Control channels and keyframe tracks
# --------------------------------------------------------------------------------------------

#: Arm segment directions (unit 3-vectors, interpolated then renormalised, so no angle wrapping).
_ARM_CHANNELS = tuple(f"{seg}{side}_{c}" for side in "LR" for seg in "uf" for c in "xyz")
#: Feet: ankle target x (world units), lift above the ground, z; knee hint (0 stand .. 1 kick).
_FOOT_CHANNELS = ("aL_x", "aL_lift", "aL_z", "aR_x", "aR_lift", "aR_z", "kickL", "kickR", "weight")
#: Body: crouch (units the hips drop), lean and head tilt (degrees, + leans to image right),
#: yaw (degrees, + turns towards the person's left).
_BODY_CHANNELS = ("crouch", "lean", "yaw", "tilt")
_CHANNELS = _ARM_CHANNELS + _FOOT_CHANNELS + _BODY_CHANNELS


def _arm(side: str, a: float, e: float, af: float, ef: float) -> dict:
    """Channels of one arm from angles in degrees: `a` swings the upper arm outwards in the image
    plane (0 hanging down, 90 sideways, 180 straight up; negative crosses towards the midline),
    `e` raises it towards the camera; `af`, `ef` the same for the forearm."""
    sg = 1.0 if side == "L" else -1.0  # the person's left is the image's right (+x)
    out = {}
    for seg, (aa, ee) in (("u", (a, e)), ("f", (af, ef))):
        ar, er = np.radians(aa), np.radians(ee)
        v = (sg * np.sin(ar) * np.cos(er), np.cos(ar) * np.cos(er), -np.sin(er))
        out.update({f"{seg}{side}_{c}": float(x) for c, x in zip("xyz", v)})
    return out


def _other(side: str) -> str:
    return "R" if side == "L" else "L"


class _Timeline:
    """Keyframes built by appending: each key copies the previous pose with some changes."""

    def __init__(self, t0: float, pose: dict):
        self.t = t0
        self.pose = dict(pose)
        self.times = [t0]
        self.rows = [dict(pose)]

    def key(self, dt: float, **changes) -> None:
        self.t += dt
        self.pose.update(changes)
        self.times.append(self.t)
        self.rows.append(dict(self.pose))

    def arrays(self, names: tuple) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.times), np.array([[row[n] for n in names] for row in self.rows])


def _track(times: np.ndarray, values: np.ndarray, t: np.ndarray, spline: bool) -> np.ndarray:
    """Interpolate keyframes (K,), (K, C) at times t (N,) -> (N, C).

    spline=False eases in and out of every key (crisp moves that stop, like strikes); spline=True
    is a Catmull-Rom curve through the keys (flowing moves that never stop, like tai chi).
    """
    k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    t0, t1 = times[k], times[k + 1]
    h = np.maximum(t1 - t0, 1e-9)
    u = np.clip((t - t0) / h, 0.0, 1.0)[:, None]
    v0, v1 = values[k], values[k + 1]
    if not spline:
        w = 0.5 - 0.5 * np.cos(np.pi * u)
        return v0 + (v1 - v0) * w
    # Tangents from the neighbouring keys; zero at both ends.
    tangents = np.zeros_like(values)
    tangents[1:-1] = (values[2:] - values[:-2]) / (times[2:] - times[:-2])[:, None]
    m0, m1 = tangents[k] * h[:, None], tangents[k + 1] * h[:, None]
    u2, u3 = u * u, u * u * u
    return (2 * u3 - 3 * u2 + 1) * v0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * v1 + (u3 - u2) * m1


def _wave(rng: np.random.Generator, periods: tuple, count: int = 2):
    """A smooth random function of time in [-1, 1]: a normalised sum of sinusoids."""
    p = rng.uniform(*periods, size=count)
    phase = rng.uniform(0, 2 * np.pi, size=count)
    amp = rng.uniform(0.5, 1.0, size=count)

    def f(t):
        t = np.asarray(t, dtype=np.float64)[..., None]
        return (amp * np.sin(2 * np.pi * t / p + phase)).sum(-1) / amp.sum()

    return f


# --------------------------------------------------------------------------------------------
# Motions: keyframe authoring per role -> (N, C) channels
# --------------------------------------------------------------------------------------------


def _target_motion(rng: np.random.Generator, t: np.ndarray, drift: float) -> np.ndarray:
    """Slow tai-chi-like moves. t: (N,) seconds; drift: how far (body units) the person may
    wander left/right. Returns (N, len(_CHANNELS)) channel values."""
    end = (t[-1] if len(t) else 0.0) + 3.0
    centre = _wave(rng, _CAMERAS["target"].drift_period_s)
    # Separate random streams for the two tracks, so that a shorter clip is the start of a
    # longer one (each track draws as many keys as its clip needs).
    upper_rng, feet_rng = (np.random.default_rng(k) for k in rng.integers(0, 2**63, size=2))

    # Arms and torso: a new posture every 1.5-2.8 s, flowing through them on a spline.
    upper = _Timeline(-upper_rng.uniform(0.5, 2.5), _tai_chi_posture(upper_rng))
    while upper.t < end:
        upper.key(upper_rng.uniform(1.5, 2.8), **_tai_chi_posture(upper_rng))
    upper_names = _ARM_CHANNELS + _BODY_CHANNELS
    feet = _tai_chi_feet(feet_rng, end, lambda when: drift * centre(when))

    out = np.zeros((len(t), len(_CHANNELS)))
    out[:, [_CHANNELS.index(n) for n in upper_names]] = _track(*upper.arrays(upper_names), t, spline=True)
    out[:, [_CHANNELS.index(n) for n in _FOOT_CHANNELS]] = _track(*feet.arrays(_FOOT_CHANNELS), t, spline=False)
    return out


def _tai_chi_posture(rng: np.random.Generator) -> dict:
    """Arm and torso channels of one tai-chi-like posture, drawn at random."""
    kind = rng.choice(
        ["rest", "press", "raise", "open", "up", "cloud", "push", "whip"],
        p=[0.14, 0.12, 0.13, 0.1, 0.11, 0.18, 0.11, 0.11],
    )
    side = "L" if rng.random() < 0.5 else "R"
    sg = 1.0 if side == "L" else -1.0
    yaw = rng.uniform(-10, 10)
    arms = {}
    if kind == "rest":  # arms hanging by the sides, elbows soft
        for s in "LR":
            a, e = rng.uniform(6, 22), rng.uniform(0, 15)
            arms.update(_arm(s, a, e, a - rng.uniform(0, 20), e + rng.uniform(0, 20)))
    elif kind == "press":  # palms pressing down in front of the hips
        for s in "LR":
            arms.update(_arm(s, rng.uniform(5, 20), rng.uniform(0, 20), -rng.uniform(10, 35), rng.uniform(10, 30)))
    elif kind == "raise":  # arms floating up in front to shoulder height
        a, e = rng.uniform(15, 35), rng.uniform(55, 85)
        for s in "LR":
            arms.update(_arm(s, a, e, a - 10, e - rng.uniform(0, 20)))
    elif kind == "open":  # arms open sideways
        for s in "LR":
            a = rng.uniform(65, 100)
            arms.update(_arm(s, a, rng.uniform(0, 25), a + rng.uniform(-25, 10), rng.uniform(0, 30)))
    elif kind == "up":  # hands overhead
        for s in "LR":
            a = rng.uniform(125, 165)
            arms.update(_arm(s, a, rng.uniform(0, 30), a + rng.uniform(-40, 0), rng.uniform(0, 30)))
    elif kind == "cloud":  # one hand at face height palm in, the other in front of the belly
        a = rng.uniform(70, 115)
        arms.update(_arm(side, a, rng.uniform(25, 50), -rng.uniform(110, 150), rng.uniform(10, 40)))
        arms.update(
            _arm(_other(side), rng.uniform(10, 35), rng.uniform(30, 50), -rng.uniform(50, 80), rng.uniform(20, 50))
        )
        yaw = sg * rng.uniform(10, 28)
    elif kind == "push":  # both hands pushing forward at chest height
        for s in "LR":
            a = rng.uniform(20, 40)
            arms.update(_arm(s, a, rng.uniform(50, 75), a + rng.uniform(10, 40), rng.uniform(60, 85)))
    else:  # single whip: one arm extended sideways, the other bent forward in a hook
        a, b = rng.uniform(80, 95), rng.uniform(60, 85)
        arms.update(_arm(side, a, rng.uniform(0, 15), a + rng.uniform(-10, 10), rng.uniform(0, 20)))
        arms.update(_arm(_other(side), b, rng.uniform(20, 45), b - rng.uniform(0, 30), rng.uniform(20, 50)))
        yaw = sg * rng.uniform(5, 20)
    return {
        **arms,
        "crouch": rng.uniform(0.0, 0.13),
        "lean": rng.uniform(-6, 6),
        "yaw": yaw,
        "tilt": rng.uniform(-8, 8),
    }


def _tai_chi_feet(rng: np.random.Generator, end: float, centre) -> _Timeline:
    """Foot keyframes up to time `end`: slow side steps that follow the wandering `centre(t)`
    (body units), and now and then a knee raised high on one leg (golden rooster)."""
    width = rng.uniform(0.18, 0.32)
    c = centre(0.0)
    feet = _Timeline(
        -0.5,
        {
            "aL_x": c + width / 2,
            "aL_lift": 0.0,
            "aL_z": 0.0,
            "aR_x": c - width / 2,
            "aR_lift": 0.0,
            "aR_z": 0.0,
            "kickL": 0.0,
            "kickR": 0.0,
            "weight": 0.0,
        },
    )
    while feet.t < end:
        feet.key(rng.uniform(0.3, 1.4), weight=rng.uniform(-0.5, 0.5))
        left, right = feet.pose["aL_x"], feet.pose["aR_x"]
        if rng.random() < 0.12:  # golden rooster
            side = "L" if rng.random() < 0.5 else "R"
            sg = 1.0 if side == "L" else -1.0
            x0 = feet.pose[f"a{side}_x"]
            feet.key(0.5, weight=-sg * 0.9)
            feet.key(
                0.8,
                **{
                    f"a{side}_lift": rng.uniform(0.15, 0.24),
                    f"a{side}_x": x0 - sg * 0.04,
                    f"a{side}_z": -0.12,
                    f"kick{side}": 1.0,
                },
            )
            feet.key(rng.uniform(0.5, 1.2))
            feet.key(0.8, **{f"a{side}_lift": 0.0, f"a{side}_x": x0, f"a{side}_z": 0.0, f"kick{side}": 0.0})
            continue
        # Step: widen the stance towards where the centre is going, or close it behind.
        want, here = centre(feet.t + 1.3), 0.5 * (left + right)
        if abs(want - here) > 0.02:
            side = "L" if (want > here) == (left - right < 0.28) else "R"
        else:
            side = "L" if rng.random() < 0.5 else "R"
        sg = 1.0 if side == "L" else -1.0
        fixed, old = (right, left) if side == "L" else (left, right)
        new = fixed + sg * float(np.clip(sg * (2 * want - 2 * fixed), 0.14, 0.4))
        if abs(new - old) < 0.03:  # no need to travel: step to another stance width
            new = fixed + sg * rng.uniform(0.16, 0.38)
        feet.key(0.4, weight=-sg * 0.85)  # weight onto the standing foot first
        feet.key(0.45, **{f"a{side}_lift": rng.uniform(0.04, 0.07), f"a{side}_x": 0.5 * (old + new)})
        feet.key(0.45, **{f"a{side}_lift": 0.0, f"a{side}_x": new, f"a{side}_z": rng.uniform(-0.06, 0.06)})
    return feet


def _source_motion(rng: np.random.Generator, t: np.ndarray, drift: float) -> np.ndarray:
    """Fast karate-like moves: from a fighting guard, punches, blocks, kicks and stance
    changes, each a few tenths of a second. t: (N,) seconds; drift: how far (body units) the
    person may wander left/right. Returns (N, len(_CHANNELS)) channel values."""
    end = (t[-1] if len(t) else 0.0) + 2.0
    centre = _wave(rng, _CAMERAS["source"].drift_period_s)
    width = rng.uniform(0.32, 0.44)
    c = centre(0.0) * drift
    lead = "L" if rng.random() < 0.5 else "R"  # the side whose foot is forward
    guard, chamber = (lambda: _guard(rng, lead)), (lambda side: _chamber(rng, side))
    start = {
        **{n: 0.0 for n in _CHANNELS},
        **guard(),
        "aL_x": c + width / 2,
        "aR_x": c - width / 2,
        f"a{lead}_z": -0.1,
        f"a{_other(lead)}_z": 0.08,
    }
    tl = _Timeline(-rng.uniform(0.2, 1.0), start)
    moves = ["punch", "double", "high", "low", "middle", "kick", "step"]
    while tl.t < end:
        tl.key(rng.uniform(0.15, 0.7))  # pause in guard
        move = rng.choice(moves, p=[0.28, 0.1, 0.13, 0.1, 0.09, 0.18, 0.12])
        side = lead if rng.random() < 0.5 else _other(lead)
        sg = 1.0 if side == "L" else -1.0
        if move in ("punch", "double"):
            for s in [side, _other(side)] if move == "double" else [side]:
                g = 1.0 if s == "L" else -1.0
                a, e = rng.uniform(70, 95), rng.uniform(0, 40)
                tl.key(
                    rng.uniform(0.1, 0.18),
                    **_arm(s, a, e, a + rng.uniform(-8, 4), e + rng.uniform(-5, 5)),
                    **chamber(_other(s)),
                    yaw=-g * rng.uniform(15, 30),
                )
                tl.key(rng.uniform(0.08, 0.25))
            tl.key(rng.uniform(0.2, 0.35), **guard())
        elif move == "high":  # rising block: forearm across above the head
            tl.key(
                rng.uniform(0.15, 0.25),
                **_arm(side, rng.uniform(140, 160), rng.uniform(0, 20), -rng.uniform(95, 112), rng.uniform(0, 20)),
                **chamber(_other(side)),
            )
            tl.key(rng.uniform(0.2, 0.4))
            tl.key(rng.uniform(0.25, 0.35), **guard())
        elif move == "low":  # downward block: arm swept down and out
            a = rng.uniform(20, 40)
            tl.key(
                rng.uniform(0.15, 0.25),
                **_arm(side, a, rng.uniform(0, 15), a + rng.uniform(0, 10), rng.uniform(0, 15)),
                **chamber(_other(side)),
                crouch=rng.uniform(0.09, 0.14),
            )
            tl.key(rng.uniform(0.2, 0.4))
            tl.key(rng.uniform(0.25, 0.35), **guard())
        elif move == "middle":  # inside block: forearm upright at shoulder height
            tl.key(
                rng.uniform(0.15, 0.25),
                **_arm(side, rng.uniform(45, 70), rng.uniform(10, 30), rng.uniform(150, 178), rng.uniform(0, 20)),
                **chamber(_other(side)),
            )
            tl.key(rng.uniform(0.2, 0.4))
            tl.key(rng.uniform(0.25, 0.35), **guard())
        elif move == "kick":
            x0 = tl.pose[f"a{side}_x"]
            stand_x = tl.pose[f"a{_other(side)}_x"]
            hip_x = stand_x + sg * 0.1  # where the kicking hip will be with the weight on the other foot
            arms = {
                **_arm("L", rng.uniform(30, 50), rng.uniform(20, 40), -rng.uniform(60, 100), rng.uniform(30, 60)),
                **_arm("R", rng.uniform(30, 50), rng.uniform(20, 40), -rng.uniform(60, 100), rng.uniform(30, 60)),
            }
            tl.key(rng.uniform(0.2, 0.3), weight=-sg * 1.0, crouch=0.03, **arms)
            tl.key(
                rng.uniform(0.15, 0.22),
                **{
                    f"a{side}_lift": rng.uniform(0.2, 0.26),
                    f"a{side}_x": hip_x,
                    f"a{side}_z": -0.12,
                    f"kick{side}": 1.0,
                },
            )
            if rng.random() < 0.5:  # side kick, the upper body leaning away from it
                ext = {
                    f"a{side}_x": hip_x + sg * rng.uniform(0.36, 0.46),
                    f"a{side}_lift": rng.uniform(0.3, 0.42),
                    f"a{side}_z": 0.0,
                    "lean": -sg * rng.uniform(8, 16),
                }
            else:  # front kick
                ext = {
                    f"a{side}_x": hip_x + sg * 0.04,
                    f"a{side}_lift": rng.uniform(0.28, 0.38),
                    f"a{side}_z": -rng.uniform(0.32, 0.42),
                }
            tl.key(rng.uniform(0.12, 0.18), **ext)
            tl.key(rng.uniform(0.1, 0.25))
            tl.key(rng.uniform(0.12, 0.18), **{f"a{side}_lift": 0.22, f"a{side}_x": hip_x, f"a{side}_z": -0.12})
            tl.key(
                rng.uniform(0.2, 0.3),
                **{f"a{side}_lift": 0.0, f"a{side}_x": x0, f"a{side}_z": 0.05, f"kick{side}": 0.0},
            )
            tl.key(rng.uniform(0.2, 0.3), weight=0.0, **guard())
        else:  # step: switch stance, steering towards the wandering centre
            left, right = tl.pose["aL_x"], tl.pose["aR_x"]
            want = centre(tl.t + 0.5) * drift
            w = rng.uniform(0.3, 0.46)
            if abs(want - 0.5 * (left + right)) > 0.03:
                side = "L" if (want > 0.5 * (left + right)) == (left - right < 0.38) else "R"
            sg = 1.0 if side == "L" else -1.0
            fixed = right if side == "L" else left
            # The moving foot lands w from the fixed one, moved towards the wandering path
            # (keeps the person inside the frame), then the stance is kept 0.28-0.48 wide.
            new = fixed + sg * w
            new = float(np.clip(new, 2 * (want - 0.12) - fixed, 2 * (want + 0.12) - fixed))
            new = fixed + sg * float(np.clip(sg * (new - fixed), 0.28, 0.48))
            old = tl.pose[f"a{side}_x"]
            lead = _other(lead)
            tl.key(0.18, weight=-sg * 0.7, **{f"a{side}_lift": 0.08, f"a{side}_x": 0.5 * (old + new)})
            tl.key(
                0.2,
                weight=0.0,
                **{f"a{side}_lift": 0.0, f"a{side}_x": new, f"a{lead}_z": -0.1, f"a{_other(lead)}_z": 0.08},
                **guard(),
            )
    return _track(*tl.arrays(_CHANNELS), t, spline=False)


def _guard(rng: np.random.Generator, lead: str) -> dict:
    """Fighting guard: lead fist forward, rear fist by the chin, turned a little sideways."""
    sg = 1.0 if lead == "L" else -1.0
    return {
        **_arm(lead, rng.uniform(25, 45), rng.uniform(35, 55), -rng.uniform(20, 60), rng.uniform(50, 70)),
        **_arm(_other(lead), rng.uniform(15, 30), rng.uniform(20, 40), -rng.uniform(105, 130), rng.uniform(30, 50)),
        "yaw": -sg * rng.uniform(8, 20),
        "crouch": rng.uniform(0.04, 0.1),
        "lean": rng.uniform(-3, 3),
        "tilt": rng.uniform(-4, 4),
    }


def _chamber(rng: np.random.Generator, side: str) -> dict:
    """The pulled-back fist at the hip, while the other arm strikes or blocks."""
    return _arm(side, rng.uniform(10, 20), -rng.uniform(15, 30), -rng.uniform(30, 50), rng.uniform(60, 80))


# --------------------------------------------------------------------------------------------
# Kinematics: channels -> 3-D joint positions in body units
# --------------------------------------------------------------------------------------------

#: Extra points used for drawing, appended after the 33 landmarks.
_HEAD, _NECK_TOP, _SHOULDER_C, _PELVIS_C = 33, 34, 35, 36
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


def _kinematics(body: _Body, ch: np.ndarray) -> np.ndarray:
    """Channels (N, C) -> points (N, 37, 3) in body units (x right, y down, z away from the
    camera; ground at y = 0). Points 0-32 are MediaPipe's landmarks, then head centre, neck
    top, shoulder centre, pelvis centre."""
    n = len(ch)
    c = {name: ch[:, i] for i, name in enumerate(_CHANNELS)}
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
    pts[:, _PELVIS_C] = pelvis

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
    pts[:, _SHOULDER_C] = shoulder_c

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
    pts[:, _NECK_TOP], pts[:, _HEAD] = neck_top, head
    yaw_h = np.clip(1.2 * yaw, -1.0, 1.0)[:, None]
    for i, azimuth, down, out in _FACE:
        x = body.head_rx * out * np.sin(azimuth + yaw_h)
        z = -body.head_rx * out * np.cos(azimuth + yaw_h)
        pts[:, i] = head + head_right * x - head_up * (down * body.head_ry) + np.concatenate([np.zeros((n, 2)), z], -1)
    return pts


# --------------------------------------------------------------------------------------------
# Camera: body units -> pixels
# --------------------------------------------------------------------------------------------


def _place(pts: np.ndarray, body: _Body, cam: _Camera, depth: np.ndarray, width: int, height: int):
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
            np.minimum((out[:, :33, 1] - pad).min(1), out[:, _HEAD, 1] - scale * body.head_ry * 1.55),
        ],
        -1,
    )
    hi = np.stack([(out[:, :33, 0] + pad).max(1), (out[:, :33, 1] + pad).max(1)], -1)
    lo, hi = lo.min(0), hi.max(0)
    size = np.array([width, height], dtype=np.float64)
    room = size - 2 * _MARGIN_PX
    k = min(1.0, *(room / np.maximum(hi - lo, 1e-9)))
    # Zoom about the bottom centre, so the feet stay on the floor, then move in if still out.
    anchor = np.array([width / 2, hi[1]])
    lo, hi = anchor + k * (lo - anchor), anchor + k * (hi - anchor)
    shift = np.maximum(_MARGIN_PX - lo, 0.0) + np.minimum(size - _MARGIN_PX - hi, 0.0)
    out[..., :2] = anchor + k * (out[..., :2] - anchor) + shift
    out[..., 2] *= k
    return out, scale * k


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def _fix(p) -> tuple:
    """A pixel point as cv2's fixed-point integer coordinates."""
    return int(round(float(p[0]) * _ONE)), int(round(float(p[1]) * _ONE))


def _shade(color, f: float) -> tuple:
    """Darker (f < 1) or lighter towards white (f > 1) version of an RGB colour."""
    if f <= 1:
        return tuple(int(round(c * f)) for c in color)
    return tuple(int(round(c + (255 - c) * (f - 1))) for c in color)


def _capsule(img, p0, p1, r0: float, r1: float, color) -> None:
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
        cv2.fillConvexPoly(img, np.round(quad * _ONE).astype(np.int32), color, cv2.LINE_AA, _SHIFT)
    cv2.circle(
        img,
        (int(round(x0 * _ONE)), int(round(y0 * _ONE))),
        max(1, int(round(r0 * _ONE))),
        color,
        -1,
        cv2.LINE_AA,
        _SHIFT,
    )
    cv2.circle(
        img,
        (int(round(x1 * _ONE)), int(round(y1 * _ONE))),
        max(1, int(round(r1 * _ONE))),
        color,
        -1,
        cv2.LINE_AA,
        _SHIFT,
    )


def _limb(img, p0, p1, r0: float, r1: float, color) -> None:
    """A shaded capsule: dark rim, body colour shifted towards the light, a narrow highlight."""
    x0, y0, x1, y1 = float(p0[0]), float(p0[1]), float(p1[0]), float(p1[1])
    dx, dy = x1 - x0, y1 - y0
    length = (dx * dx + dy * dy) ** 0.5
    nx, ny = (-dy / length, dx / length) if length > 1e-6 else (0.0, 0.0)
    # Towards the lit side; smaller when the limb points at the light.
    k = nx * _LIGHT[0] + ny * _LIGHT[1]
    lx, ly = nx * k, ny * k
    _capsule(img, (x0, y0), (x1, y1), r0, r1, _shade(color, 0.68))
    for f, shrink, c in ((0.16, 0.82, color), (0.45, 0.28, _shade(color, 1.22))):
        _capsule(
            img, (x0 + lx * f * r0, y0 + ly * f * r0), (x1 + lx * f * r1, y1 + ly * f * r1), shrink * r0, shrink * r1, c
        )


def _poly(img, points: np.ndarray, color) -> None:
    cv2.fillPoly(img, [np.round(np.asarray(points)[:, :2] * _ONE).astype(np.int32)], color, cv2.LINE_AA, _SHIFT)


def _shaded_poly(img, points: np.ndarray, color) -> None:
    """A polygon with a dark rim and its lit part shifted towards the light."""
    points = np.asarray(points)[:, :2]
    centre = points.mean(0)
    size = float(np.ptp(points, axis=0).max())
    _poly(img, points, _shade(color, 0.7))
    _poly(img, centre + (points - centre) * 0.88 + np.array(_LIGHT) * 0.04 * size, color)


def _draw_figure(img: np.ndarray, p: np.ndarray, s: float, ground: float, role: str, shadow: bool = True) -> None:
    """Draw one person into img (H, W, 3) uint8 RGB, in place. p: (37, 3) pixel points, s:
    pixels per body unit, ground: image y of the floor under the person. shadow=False leaves out
    the shadow on the floor (for the person's mask: a shadow is not the person)."""
    body, look = _BODIES[role], _LOOKS[role]
    if shadow:
        # Soft shadow on the floor under the feet that touch it (darkens what is there).
        feet_x = [p[i, 0] for i in (27, 28) if p[i, 1] > max(p[27, 1], p[28, 1]) - 0.06 * s]
        cx = 0.5 * (min(feet_x) + max(feet_x))
        ax = min((max(feet_x) - min(feet_x)) / 2 + 0.12 * s, cx - _MARGIN_PX, img.shape[1] - 1 - _MARGIN_PX - cx)
        _darken_ellipse(img, (cx, ground), (ax, 0.028 * s), 0.3)

    def leg(side: int) -> None:
        hip, knee, ankle, heel, toe = (23, 25, 27, 29, 31) if side == 0 else (24, 26, 28, 30, 32)
        dim = 1.0 if side == 0 else 0.86  # the person's right side a little darker
        trousers, skin = _shade(look.trousers, dim), _shade(look.skin, dim)
        _limb(img, p[hip], p[knee], body.r_thigh * s, 0.8 * body.r_thigh * s, trousers)
        if look.trouser_end < 1.0:  # bare lower shin and feet
            cut = p[knee] + (p[ankle] - p[knee]) * look.trouser_end
            _limb(img, p[knee], p[ankle], body.r_shin * s, 0.72 * body.r_shin * s, skin)
            foot = skin
            _limb(img, p[knee], cut, body.r_shin * s * 1.02, 0.95 * body.r_shin * s, trousers)
        else:
            _limb(img, p[knee], p[ankle], body.r_shin * s, 0.75 * body.r_shin * s, trousers)
            foot = _shade(look.shoes, dim) if look.shoes is not None else skin
        _capsule(img, p[ankle], 0.5 * (p[heel] + p[toe]), 0.7 * body.r_shin * s, body.r_foot * s, foot)
        _limb(img, p[heel], p[toe], body.r_foot * s, 0.85 * body.r_foot * s, foot)

    def arm(side: int) -> None:
        sh, el, wr, pinky, index, thumb = (11, 13, 15, 17, 19, 21) if side == 0 else (12, 14, 16, 18, 20, 22)
        dim = 1.0 if side == 0 else 0.86
        top, skin = _shade(look.top, dim), _shade(look.skin, dim)
        _limb(img, p[sh], p[el], body.r_upper_arm * s, 0.9 * body.r_upper_arm * s, top)
        hand_end = 0.5 * (p[index] + p[pinky])
        if look.fists:  # sleeve to mid-forearm, bare forearm, closed fist
            _limb(img, p[el], p[wr], body.r_forearm * s, 0.75 * body.r_forearm * s, skin)
            cut = p[el] + (p[wr] - p[el]) * look.sleeve_end
            _limb(img, p[el], cut, body.r_forearm * s * 1.08, body.r_forearm * s * 1.05, top)
            _limb(img, p[wr], hand_end, 0.9 * body.r_forearm * s, 0.95 * body.r_forearm * s, skin)
        else:  # long sleeve, open hand with a thumb
            cut = p[el] + (p[wr] - p[el]) * look.sleeve_end
            _limb(img, p[wr], p[thumb], 0.3 * body.r_forearm * s, 0.28 * body.r_forearm * s, skin)
            _limb(img, p[wr], hand_end, 0.7 * body.r_forearm * s, 0.62 * body.r_forearm * s, skin)
            _limb(img, p[el], cut, body.r_forearm * s, 0.85 * body.r_forearm * s, top)

    def torso() -> None:
        _draw_torso(img, p, s, body, look)

    def head() -> None:
        _draw_head(img, p, s, body, look)

    # Paint from far to near: legs behind the torso unless raised towards the camera, arms in
    # front of it unless swung behind; the person's right side first on ties.
    z = p[:, 2] / max(s, 1e-9)
    parts = [
        (z[[26, 28, 30, 32]].mean() + 0.12 + 0.002, lambda: leg(1)),
        (z[[25, 27, 29, 31]].mean() + 0.12, lambda: leg(0)),
        (0.0, torso),
        (-0.01, head),
        (z[[14, 16]].mean() - 0.12 + 0.002, lambda: arm(1)),
        (z[[13, 15]].mean() - 0.12, lambda: arm(0)),
    ]
    for _, draw in sorted(parts, key=lambda kv: -kv[0]):
        draw()


def _draw_torso(img, p: np.ndarray, s: float, body: _Body, look: _Look) -> None:
    """Trousers over the pelvis, then the jacket / top from the shoulders to the hips."""
    sl, sr, hl, hr = p[11, :2], p[12, :2], p[23, :2], p[24, :2]
    sc, pc = p[_SHOULDER_C, :2], p[_PELVIS_C, :2]
    up = (sc - pc) / max(float(np.hypot(*(sc - pc))), 1e-9)
    left = np.array([-up[1], up[0]])  # towards the person's left (image right when upright)
    ra, rt = body.r_upper_arm * s, body.r_thigh * s
    # Pelvis block in trouser colour, down to the crotch.
    crotch = pc - up * 0.075 * s
    _shaded_poly(
        img,
        np.array(
            [
                hl + left * rt - up * 0.2 * rt,
                hl - up * rt,
                crotch,
                hr - up * rt,
                hr - left * rt - up * 0.2 * rt,
                hr - left * rt + up * rt,
                hl + left * rt + up * rt,
            ]
        ),
        look.trousers,
    )
    waist_c = sc + (pc - sc) * 0.62
    wl = waist_c + (sl + (hl - sl) * 0.62 - waist_c) * body.waist
    wr = waist_c + (sr + (hr - sr) * 0.62 - waist_c) * body.waist
    hem = 0.45 * rt if look.belt is None else 0.75 * rt  # tai chi top hangs below the hips a little
    # Shoulder tops rise towards the neck (trapezius), so the neck does not look too long.
    rn = body.r_neck * s
    outline = np.array(
        [
            sc + up * 0.045 * s + left * 1.1 * rn,  # neck, left side
            sl + up * 0.9 * ra - left * 0.25 * ra,
            sl + left * 0.8 * ra + up * 0.35 * ra,
            sl + left * 0.95 * ra - up * 0.6 * ra,
            wl,
            hl + left * 1.05 * rt - up * hem,
            hl - up * hem * 1.1,  # left flank down to the hem
            hr - up * hem * 1.1,
            hr - left * 1.05 * rt - up * hem,
            wr,  # right flank up
            sr - left * 0.95 * ra - up * 0.6 * ra,
            sr - left * 0.8 * ra + up * 0.35 * ra,
            sr + up * 0.9 * ra + left * 0.25 * ra,
            sc + up * 0.045 * s - left * 1.1 * rn,  # neck, right side
        ]
    )
    _shaded_poly(img, outline, look.top)
    neck_base = sc + up * 0.035 * s
    if look.belt is not None:
        # Gi: an inner V of skin at the chest, lapels, and the belt above the hips.
        v_bottom = sc + (pc - sc) * 0.32
        _poly(
            img,
            np.array([neck_base + left * 0.55 * ra, v_bottom, neck_base - left * 0.55 * ra]),
            _shade(look.skin, 0.92),
        )
        lapel = _shade(look.top, 0.78)
        for sg in (1, -1):
            a = neck_base + sg * left * 0.7 * ra
            b = sc + (pc - sc) * 0.74 - sg * left * 0.2 * ra
            cv2.line(img, _fix(a), _fix(b), lapel, max(1, int(round(0.012 * s))), cv2.LINE_AA, _SHIFT)
        belt_c = sc + (pc - sc) * 0.8
        bl = belt_c + (sl + (hl - sl) * 0.8 - belt_c) * 1.02
        br = belt_c + (sr + (hr - sr) * 0.8 - belt_c) * 1.02
        _capsule(img, bl, br, 0.016 * s, 0.016 * s, look.belt)
        _capsule(img, belt_c - up * 0.01 * s, belt_c - up * 0.07 * s - left * 0.02 * s, 0.009 * s, 0.008 * s, look.belt)
    else:
        # Tai chi top: a centre seam with frog buttons.
        seam = _shade(look.top, 0.8)
        bottom = pc - up * 0.3 * rt
        cv2.line(img, _fix(neck_base), _fix(bottom), seam, 1, cv2.LINE_AA, _SHIFT)
        for f in (0.15, 0.35, 0.55, 0.75):
            q = neck_base + (bottom - neck_base) * f
            cv2.line(img, _fix(q - left * 0.022 * s), _fix(q + left * 0.022 * s), (40, 40, 48), 1, cv2.LINE_AA, _SHIFT)


def _draw_head(img, p: np.ndarray, s: float, body: _Body, look: _Look) -> None:
    """Neck, ears, head, hair and a simple face, at the face landmarks."""
    head, neck_top, sc = p[_HEAD, :2], p[_NECK_TOP, :2], p[_SHOULDER_C, :2]
    up = head - neck_top
    up /= max(float(np.hypot(*up)), 1e-9)
    angle = float(np.degrees(np.arctan2(up[0], -up[1])))
    rx, ry = body.head_rx * s, body.head_ry * s
    _limb(img, sc, neck_top, body.r_neck * s, body.r_neck * s, _shade(look.skin, 0.85))
    for ear in (7, 8):
        cv2.ellipse(
            img,
            _fix(p[ear]),
            (max(1, int(0.18 * rx * _ONE)), max(1, int(0.3 * ry * _ONE))),
            angle,
            0,
            360,
            _shade(look.skin, 0.82),
            -1,
            cv2.LINE_AA,
            _SHIFT,
        )
    axes = (max(1, int(round(rx * _ONE))), max(1, int(round(ry * _ONE))))
    cv2.ellipse(img, _fix(head), axes, angle, 0, 360, _shade(look.skin, 0.75), -1, cv2.LINE_AA, _SHIFT)
    inner = (max(1, int(round(0.9 * rx * _ONE))), max(1, int(round(0.92 * ry * _ONE))))
    cv2.ellipse(
        img, _fix(head + np.array(_LIGHT) * 0.08 * rx), inner, angle, 0, 360, look.skin, -1, cv2.LINE_AA, _SHIFT
    )
    # Hair: a cap over the upper half of the head, shifted with the turn of the face.
    turn = float(p[0, 0] - head[0]) / max(rx, 1e-9)  # -1..1, where the nose is
    cap_c = head + up * 0.12 * ry
    cap_axes = (max(1, int(round(1.07 * rx * _ONE))), max(1, int(round(1.0 * ry * _ONE))))
    cv2.ellipse(img, _fix(cap_c), cap_axes, angle, 180 - 8 * turn, 360 - 8 * turn, look.hair, -1, cv2.LINE_AA, _SHIFT)
    if look.bun:
        cv2.circle(
            img,
            _fix(head + up * 1.05 * ry),
            max(1, int(round(0.42 * rx * _ONE))),
            _shade(look.hair, 0.85),
            -1,
            cv2.LINE_AA,
            _SHIFT,
        )
    # Face: eyes, nose shadow, mouth.
    eye_r = max(0.7, 0.1 * rx)
    # Tiny heads: a lighter eye colour, as a sub-pixel dark eye would blur to it anyway.
    eye = tuple(int(round(d + (k - d) * max(0.0, 1.0 - 0.1 * rx))) for d, k in zip((35, 28, 26), look.skin))
    for i in (2, 5):
        cv2.circle(img, _fix(p[i]), max(1, int(round(eye_r * _ONE))), eye, -1, cv2.LINE_AA, _SHIFT)
    cv2.circle(img, _fix(p[0]), max(1, int(round(0.09 * rx * _ONE))), _shade(look.skin, 0.78), -1, cv2.LINE_AA, _SHIFT)
    cv2.line(img, _fix(p[9]), _fix(p[10]), _shade((150, 60, 60), 1.0), 1, cv2.LINE_AA, _SHIFT)


def _darken_ellipse(img, centre, axes, amount: float) -> None:
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
        _fix((centre[0] - x0, centre[1] - y0)),
        (max(1, int(axes[0] * _ONE)), max(1, int(axes[1] * _ONE))),
        0,
        0,
        360,
        255,
        -1,
        cv2.LINE_AA,
        _SHIFT,
    )
    roi = img[y0:y1, x0:x1]
    roi[:] = (roi * (1.0 - amount * mask[..., None] / 255.0)).astype(np.uint8)


def _draw_scene(role: str, width: int, height: int) -> np.ndarray:
    """The empty, static background of a role: (height, width, 3) uint8 RGB."""
    sc = _SCENES[role]
    cam = _CAMERAS[role]
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
        joint = _shade(sc.floor_far, 0.82)
        for i in range(1, 7):
            yy = junction + (height - junction) * (i / 6.5) ** 1.6
            cv2.line(img, _fix((0, yy)), _fix((width, yy)), joint, 1, cv2.LINE_AA, _SHIFT)
        for i in range(-9, 10):
            bottom = np.array([width / 2 + i * width / 7, height])
            a = vanish + (bottom - vanish) * (junction - vanish[1]) / (height - vanish[1])
            cv2.line(img, _fix(a), _fix(bottom), joint, 1, cv2.LINE_AA, _SHIFT)
        cv2.rectangle(img, (0, junction - max(2, height // 40)), (width, junction), _shade(sc.wall_top, 0.7), -1)
        x0, y0, x1, y1 = int(0.06 * width), int(0.1 * height), int(0.24 * width), int(0.42 * height)
        cv2.rectangle(img, (x0, y0), (x1, y1), (205, 220, 228), -1)
        cv2.rectangle(img, (x0, y0), (x1, y1), _shade(sc.wall_top, 0.6), max(1, height // 100))
        cv2.line(img, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), _shade(sc.wall_top, 0.6), max(1, height // 128))
    else:
        # Dojo: wooden wall panels, a scroll, floor planks converging in perspective.
        panel = _shade(sc.wall_bottom, 0.8)
        for i in range(1, 8):
            x = i * width / 8
            cv2.line(img, _fix((x, 0)), _fix((x, junction)), panel, 1, cv2.LINE_AA, _SHIFT)
        cv2.rectangle(img, (0, junction - max(3, height // 30)), (width, junction), _shade(sc.wall_bottom, 0.55), -1)
        x0, x1 = int(0.78 * width), int(0.86 * width)
        cv2.rectangle(img, (x0, int(0.06 * height)), (x1, int(0.4 * height)), (238, 232, 214), -1)
        cv2.rectangle(img, (x0, int(0.06 * height)), (x1, int(0.4 * height)), (90, 60, 40), max(1, height // 128))
        plank = _shade(sc.floor_far, 0.75)
        for i in range(-12, 13):
            bottom = np.array([width / 2 + i * width / 10, height])
            a = vanish + (bottom - vanish) * (junction - vanish[1]) / (height - vanish[1])
            cv2.line(img, _fix(a), _fix(bottom), plank, 1, cv2.LINE_AA, _SHIFT)
    return img


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def _rng(role: str, seed: int) -> np.random.Generator:
    """The role's random stream for a seed: the two roles never share motions."""
    return np.random.default_rng([int(seed) % (1 << 64), ROLES.index(role)])


def _motion(role: str, n_frames: int, seed: int, width: int, height: int):
    """Pixel points (N, 37, 3), pixels per body unit (N,) and floor line y (N,) of a clip."""
    body, cam = _BODIES[role], _CAMERAS[role]
    rng = _rng(role, seed)
    t = np.arange(n_frames) / SYNTHETIC_FPS
    # Walk towards / away from the camera: one slow cycle, with a random start and period.
    period = rng.uniform(*cam.depth_period_s)
    depth = 0.5 - 0.5 * np.cos(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    # Left/right wander: as far as the frame allows at the nearest distance.
    drift = 0.85 * max(0.0, (width / 2 - _MARGIN_PX) / (cam.scale_near * height) - body.half_width)
    motion = _target_motion if role == "target" else _source_motion
    channels = motion(rng, t, drift)
    pts = _kinematics(body, channels)
    placed, scale = _place(pts, body, cam, depth, width, height)
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


def _person_mask(p: np.ndarray, s: float, ground: float, role: str, width: int, height: int) -> np.ndarray:
    """(H, W) uint8 0..255: how much of each pixel the figure covers (soft at anti-aliased edges).

    The figure is drawn (without its floor shadow) over black and over white: every anti-aliased
    stroke blends as out = under * (1 - a) + colour * a, so a pixel covered by a share A ends as
    F over black and 255 * (1 - A) + F over white, and A = 1 - (white - black) / 255.
    """
    black = np.zeros((height, width, 3), np.uint8)
    white = np.full((height, width, 3), 255, np.uint8)
    _draw_figure(black, p, s, ground, role, shadow=False)
    _draw_figure(white, p, s, ground, role, shadow=False)
    seen = (white.astype(np.int16) - black.astype(np.int16)).mean(axis=-1)
    return np.clip(np.round(255.0 - seen), 0, 255).astype(np.uint8)


def render_background(role: str, width: int = 320, height: int = 256) -> np.ndarray:
    """The true background of a role's clips, the scene without the person: (height, width, 3)
    uint8 RGB (the person's floor shadow is not in it)."""
    _check_arguments(role, 0, width, height)
    return _draw_scene(role, int(width), int(height))


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
    scene = _draw_scene(role, width, height)
    if n_frames == 0:
        return frames, landmarks, masks, scene
    pts, scale, ground = _motion(role, n_frames, seed, width, height)
    for i in range(n_frames):
        frame = frames[i]
        frame[:] = scene
        _draw_figure(frame, pts[i], float(scale[i]), float(ground[i]), role)
        if with_masks:
            masks[i] = _person_mask(pts[i], float(scale[i]), float(ground[i]), role, width, height)
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
