"""Motion as control channels: their names, keyframe timelines, and their interpolation over time."""

from __future__ import annotations

import numpy as np

#: Arm segment directions (unit 3-vectors, interpolated then renormalised, so no angle wrapping).
ARM_CHANNELS = tuple(f"{seg}{side}_{c}" for side in "LR" for seg in "uf" for c in "xyz")
#: Feet: ankle target x (world units), lift above the ground, z; knee hint (0 stand .. 1 kick).
FOOT_CHANNELS = ("aL_x", "aL_lift", "aL_z", "aR_x", "aR_lift", "aR_z", "kickL", "kickR", "weight")
#: Body: crouch (units the hips drop), lean and head tilt (degrees, + leans to image right),
#: yaw (degrees, + turns towards the person's left).
BODY_CHANNELS = ("crouch", "lean", "yaw", "tilt")
CHANNELS = ARM_CHANNELS + FOOT_CHANNELS + BODY_CHANNELS


def arm(side: str, a: float, e: float, af: float, ef: float) -> dict:
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


def other_side(side: str) -> str:
    return "R" if side == "L" else "L"


class Timeline:
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


def interpolate_keys(times: np.ndarray, values: np.ndarray, t: np.ndarray, spline: bool) -> np.ndarray:
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


def smooth_wave(rng: np.random.Generator, periods: tuple, count: int = 2):
    """A smooth random function of time in [-1, 1]: a normalised sum of sinusoids."""
    p = rng.uniform(*periods, size=count)
    phase = rng.uniform(0, 2 * np.pi, size=count)
    amp = rng.uniform(0.5, 1.0, size=count)

    def f(t):
        t = np.asarray(t, dtype=np.float64)[..., None]
        return (amp * np.sin(2 * np.pi * t / p + phase)).sum(-1) / amp.sum()

    return f
