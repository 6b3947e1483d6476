"""The two people's moves as keyframed control channels: slow tai chi for the target, fast karate
for the source."""

from __future__ import annotations

import numpy as np

from motion_transfer.data.synthetic.camera import CAMERAS
from motion_transfer.data.synthetic.keyframes import (
    ARM_CHANNELS,
    BODY_CHANNELS,
    CHANNELS,
    FOOT_CHANNELS,
    Timeline,
    arm,
    interpolate_keys,
    other_side,
    smooth_wave,
)


def target_motion(rng: np.random.Generator, t: np.ndarray, drift: float) -> np.ndarray:
    """Slow tai-chi-like moves. t: (N,) seconds; drift: how far (body units) the person may
    wander left/right. Returns (N, len(CHANNELS)) channel values."""
    end = (t[-1] if len(t) else 0.0) + 3.0
    centre = smooth_wave(rng, CAMERAS["target"].drift_period_s)
    # Separate random streams for the two tracks, so that a shorter clip is the start of a
    # longer one (each track draws as many keys as its clip needs).
    upper_rng, feet_rng = (np.random.default_rng(k) for k in rng.integers(0, 2**63, size=2))

    # Arms and torso: a new posture every 1.5-2.8 s, flowing through them on a spline.
    upper = Timeline(-upper_rng.uniform(0.5, 2.5), _tai_chi_posture(upper_rng))
    while upper.t < end:
        upper.key(upper_rng.uniform(1.5, 2.8), **_tai_chi_posture(upper_rng))
    upper_names = ARM_CHANNELS + BODY_CHANNELS
    feet = _tai_chi_feet(feet_rng, end, lambda when: drift * centre(when))

    out = np.zeros((len(t), len(CHANNELS)))
    out[:, [CHANNELS.index(n) for n in upper_names]] = interpolate_keys(*upper.arrays(upper_names), t, spline=True)
    out[:, [CHANNELS.index(n) for n in FOOT_CHANNELS]] = interpolate_keys(*feet.arrays(FOOT_CHANNELS), t, spline=False)
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
            arms.update(arm(s, a, e, a - rng.uniform(0, 20), e + rng.uniform(0, 20)))
    elif kind == "press":  # palms pressing down in front of the hips
        for s in "LR":
            arms.update(arm(s, rng.uniform(5, 20), rng.uniform(0, 20), -rng.uniform(10, 35), rng.uniform(10, 30)))
    elif kind == "raise":  # arms floating up in front to shoulder height
        a, e = rng.uniform(15, 35), rng.uniform(55, 85)
        for s in "LR":
            arms.update(arm(s, a, e, a - 10, e - rng.uniform(0, 20)))
    elif kind == "open":  # arms open sideways
        for s in "LR":
            a = rng.uniform(65, 100)
            arms.update(arm(s, a, rng.uniform(0, 25), a + rng.uniform(-25, 10), rng.uniform(0, 30)))
    elif kind == "up":  # hands overhead
        for s in "LR":
            a = rng.uniform(125, 165)
            arms.update(arm(s, a, rng.uniform(0, 30), a + rng.uniform(-40, 0), rng.uniform(0, 30)))
    elif kind == "cloud":  # one hand at face height palm in, the other in front of the belly
        a = rng.uniform(70, 115)
        arms.update(arm(side, a, rng.uniform(25, 50), -rng.uniform(110, 150), rng.uniform(10, 40)))
        arms.update(
            arm(other_side(side), rng.uniform(10, 35), rng.uniform(30, 50), -rng.uniform(50, 80), rng.uniform(20, 50))
        )
        yaw = sg * rng.uniform(10, 28)
    elif kind == "push":  # both hands pushing forward at chest height
        for s in "LR":
            a = rng.uniform(20, 40)
            arms.update(arm(s, a, rng.uniform(50, 75), a + rng.uniform(10, 40), rng.uniform(60, 85)))
    else:  # single whip: one arm extended sideways, the other bent forward in a hook
        a, b = rng.uniform(80, 95), rng.uniform(60, 85)
        arms.update(arm(side, a, rng.uniform(0, 15), a + rng.uniform(-10, 10), rng.uniform(0, 20)))
        arms.update(arm(other_side(side), b, rng.uniform(20, 45), b - rng.uniform(0, 30), rng.uniform(20, 50)))
        yaw = sg * rng.uniform(5, 20)
    return {
        **arms,
        "crouch": rng.uniform(0.0, 0.13),
        "lean": rng.uniform(-6, 6),
        "yaw": yaw,
        "tilt": rng.uniform(-8, 8),
    }


def _tai_chi_feet(rng: np.random.Generator, end: float, centre) -> Timeline:
    """Foot keyframes up to time `end`: slow side steps that follow the wandering `centre(t)`
    (body units), and now and then a knee raised high on one leg (golden rooster)."""
    width = rng.uniform(0.18, 0.32)
    c = centre(0.0)
    feet = Timeline(
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


def source_motion(rng: np.random.Generator, t: np.ndarray, drift: float) -> np.ndarray:
    """Fast karate-like moves: from a fighting guard, punches, blocks, kicks and stance
    changes, each a few tenths of a second. t: (N,) seconds; drift: how far (body units) the
    person may wander left/right. Returns (N, len(CHANNELS)) channel values."""
    end = (t[-1] if len(t) else 0.0) + 2.0
    centre = smooth_wave(rng, CAMERAS["source"].drift_period_s)
    width = rng.uniform(0.32, 0.44)
    c = centre(0.0) * drift
    lead = "L" if rng.random() < 0.5 else "R"  # the side whose foot is forward
    guard, chamber = (lambda: _guard(rng, lead)), (lambda side: _chamber(rng, side))
    start = {
        **{n: 0.0 for n in CHANNELS},
        **guard(),
        "aL_x": c + width / 2,
        "aR_x": c - width / 2,
        f"a{lead}_z": -0.1,
        f"a{other_side(lead)}_z": 0.08,
    }
    tl = Timeline(-rng.uniform(0.2, 1.0), start)
    moves = ["punch", "double", "high", "low", "middle", "kick", "step"]
    while tl.t < end:
        tl.key(rng.uniform(0.15, 0.7))  # pause in guard
        move = rng.choice(moves, p=[0.28, 0.1, 0.13, 0.1, 0.09, 0.18, 0.12])
        side = lead if rng.random() < 0.5 else other_side(lead)
        sg = 1.0 if side == "L" else -1.0
        if move in ("punch", "double"):
            for s in [side, other_side(side)] if move == "double" else [side]:
                g = 1.0 if s == "L" else -1.0
                a, e = rng.uniform(70, 95), rng.uniform(0, 40)
                tl.key(
                    rng.uniform(0.1, 0.18),
                    **arm(s, a, e, a + rng.uniform(-8, 4), e + rng.uniform(-5, 5)),
                    **chamber(other_side(s)),
                    yaw=-g * rng.uniform(15, 30),
                )
                tl.key(rng.uniform(0.08, 0.25))
            tl.key(rng.uniform(0.2, 0.35), **guard())
        elif move == "high":  # rising block: forearm across above the head
            tl.key(
                rng.uniform(0.15, 0.25),
                **arm(side, rng.uniform(140, 160), rng.uniform(0, 20), -rng.uniform(95, 112), rng.uniform(0, 20)),
                **chamber(other_side(side)),
            )
            tl.key(rng.uniform(0.2, 0.4))
            tl.key(rng.uniform(0.25, 0.35), **guard())
        elif move == "low":  # downward block: arm swept down and out
            a = rng.uniform(20, 40)
            tl.key(
                rng.uniform(0.15, 0.25),
                **arm(side, a, rng.uniform(0, 15), a + rng.uniform(0, 10), rng.uniform(0, 15)),
                **chamber(other_side(side)),
                crouch=rng.uniform(0.09, 0.14),
            )
            tl.key(rng.uniform(0.2, 0.4))
            tl.key(rng.uniform(0.25, 0.35), **guard())
        elif move == "middle":  # inside block: forearm upright at shoulder height
            tl.key(
                rng.uniform(0.15, 0.25),
                **arm(side, rng.uniform(45, 70), rng.uniform(10, 30), rng.uniform(150, 178), rng.uniform(0, 20)),
                **chamber(other_side(side)),
            )
            tl.key(rng.uniform(0.2, 0.4))
            tl.key(rng.uniform(0.25, 0.35), **guard())
        elif move == "kick":
            x0 = tl.pose[f"a{side}_x"]
            stand_x = tl.pose[f"a{other_side(side)}_x"]
            hip_x = stand_x + sg * 0.1  # where the kicking hip will be with the weight on the other foot
            arms = {
                **arm("L", rng.uniform(30, 50), rng.uniform(20, 40), -rng.uniform(60, 100), rng.uniform(30, 60)),
                **arm("R", rng.uniform(30, 50), rng.uniform(20, 40), -rng.uniform(60, 100), rng.uniform(30, 60)),
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
            lead = other_side(lead)
            tl.key(0.18, weight=-sg * 0.7, **{f"a{side}_lift": 0.08, f"a{side}_x": 0.5 * (old + new)})
            tl.key(
                0.2,
                weight=0.0,
                **{f"a{side}_lift": 0.0, f"a{side}_x": new, f"a{lead}_z": -0.1, f"a{other_side(lead)}_z": 0.08},
                **guard(),
            )
    return interpolate_keys(*tl.arrays(CHANNELS), t, spline=False)


def _guard(rng: np.random.Generator, lead: str) -> dict:
    """Fighting guard: lead fist forward, rear fist by the chin, turned a little sideways."""
    sg = 1.0 if lead == "L" else -1.0
    return {
        **arm(lead, rng.uniform(25, 45), rng.uniform(35, 55), -rng.uniform(20, 60), rng.uniform(50, 70)),
        **arm(other_side(lead), rng.uniform(15, 30), rng.uniform(20, 40), -rng.uniform(105, 130), rng.uniform(30, 50)),
        "yaw": -sg * rng.uniform(8, 20),
        "crouch": rng.uniform(0.04, 0.1),
        "lean": rng.uniform(-3, 3),
        "tilt": rng.uniform(-4, 4),
    }


def _chamber(rng: np.random.Generator, side: str) -> dict:
    """The pulled-back fist at the hip, while the other arm strikes or blocks."""
    return arm(side, rng.uniform(10, 20), -rng.uniform(15, 30), -rng.uniform(30, 50), rng.uniform(60, 80))
