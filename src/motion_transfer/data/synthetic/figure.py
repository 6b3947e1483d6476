"""One person drawn into a frame: their clothes and colours, legs, torso, arms and head painted from
far to near at the pixel points, and the exact mask of what the figure covers."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from motion_transfer.data.synthetic.body import BODIES, HEAD_CENTRE, NECK_TOP, PELVIS_CENTRE, SHOULDER_CENTRE, Body
from motion_transfer.data.synthetic.camera import MARGIN_PX
from motion_transfer.data.synthetic.strokes import (
    LIGHT,
    ONE,
    SHIFT,
    capsule,
    darken_ellipse,
    fixed_point,
    limb,
    polygon,
    shade,
    shaded_polygon,
)


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


def draw_figure(img: np.ndarray, p: np.ndarray, s: float, ground: float, role: str, shadow: bool = True) -> None:
    """Draw one person into img (H, W, 3) uint8 RGB, in place. p: (37, 3) pixel points, s:
    pixels per body unit, ground: image y of the floor under the person. shadow=False leaves out
    the shadow on the floor (for the person's mask: a shadow is not the person)."""
    body, look = BODIES[role], _LOOKS[role]
    if shadow:
        # Soft shadow on the floor under the feet that touch it (darkens what is there).
        feet_x = [p[i, 0] for i in (27, 28) if p[i, 1] > max(p[27, 1], p[28, 1]) - 0.06 * s]
        cx = 0.5 * (min(feet_x) + max(feet_x))
        ax = min((max(feet_x) - min(feet_x)) / 2 + 0.12 * s, cx - MARGIN_PX, img.shape[1] - 1 - MARGIN_PX - cx)
        darken_ellipse(img, (cx, ground), (ax, 0.028 * s), 0.3)

    def leg(side: int) -> None:
        hip, knee, ankle, heel, toe = (23, 25, 27, 29, 31) if side == 0 else (24, 26, 28, 30, 32)
        dim = 1.0 if side == 0 else 0.86  # the person's right side a little darker
        trousers, skin = shade(look.trousers, dim), shade(look.skin, dim)
        limb(img, p[hip], p[knee], body.r_thigh * s, 0.8 * body.r_thigh * s, trousers)
        if look.trouser_end < 1.0:  # bare lower shin and feet
            cut = p[knee] + (p[ankle] - p[knee]) * look.trouser_end
            limb(img, p[knee], p[ankle], body.r_shin * s, 0.72 * body.r_shin * s, skin)
            foot = skin
            limb(img, p[knee], cut, body.r_shin * s * 1.02, 0.95 * body.r_shin * s, trousers)
        else:
            limb(img, p[knee], p[ankle], body.r_shin * s, 0.75 * body.r_shin * s, trousers)
            foot = shade(look.shoes, dim) if look.shoes is not None else skin
        capsule(img, p[ankle], 0.5 * (p[heel] + p[toe]), 0.7 * body.r_shin * s, body.r_foot * s, foot)
        limb(img, p[heel], p[toe], body.r_foot * s, 0.85 * body.r_foot * s, foot)

    def arm(side: int) -> None:
        sh, el, wr, pinky, index, thumb = (11, 13, 15, 17, 19, 21) if side == 0 else (12, 14, 16, 18, 20, 22)
        dim = 1.0 if side == 0 else 0.86
        top, skin = shade(look.top, dim), shade(look.skin, dim)
        limb(img, p[sh], p[el], body.r_upper_arm * s, 0.9 * body.r_upper_arm * s, top)
        hand_end = 0.5 * (p[index] + p[pinky])
        if look.fists:  # sleeve to mid-forearm, bare forearm, closed fist
            limb(img, p[el], p[wr], body.r_forearm * s, 0.75 * body.r_forearm * s, skin)
            cut = p[el] + (p[wr] - p[el]) * look.sleeve_end
            limb(img, p[el], cut, body.r_forearm * s * 1.08, body.r_forearm * s * 1.05, top)
            limb(img, p[wr], hand_end, 0.9 * body.r_forearm * s, 0.95 * body.r_forearm * s, skin)
        else:  # long sleeve, open hand with a thumb
            cut = p[el] + (p[wr] - p[el]) * look.sleeve_end
            limb(img, p[wr], p[thumb], 0.3 * body.r_forearm * s, 0.28 * body.r_forearm * s, skin)
            limb(img, p[wr], hand_end, 0.7 * body.r_forearm * s, 0.62 * body.r_forearm * s, skin)
            limb(img, p[el], cut, body.r_forearm * s, 0.85 * body.r_forearm * s, top)

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


def _draw_torso(img, p: np.ndarray, s: float, body: Body, look: _Look) -> None:
    """Trousers over the pelvis, then the jacket / top from the shoulders to the hips."""
    sl, sr, hl, hr = p[11, :2], p[12, :2], p[23, :2], p[24, :2]
    sc, pc = p[SHOULDER_CENTRE, :2], p[PELVIS_CENTRE, :2]
    up = (sc - pc) / max(float(np.hypot(*(sc - pc))), 1e-9)
    left = np.array([-up[1], up[0]])  # towards the person's left (image right when upright)
    ra, rt = body.r_upper_arm * s, body.r_thigh * s
    # Pelvis block in trouser colour, down to the crotch.
    crotch = pc - up * 0.075 * s
    shaded_polygon(
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
    shaded_polygon(img, outline, look.top)
    neck_base = sc + up * 0.035 * s
    if look.belt is not None:
        # Gi: an inner V of skin at the chest, lapels, and the belt above the hips.
        v_bottom = sc + (pc - sc) * 0.32
        polygon(
            img,
            np.array([neck_base + left * 0.55 * ra, v_bottom, neck_base - left * 0.55 * ra]),
            shade(look.skin, 0.92),
        )
        lapel = shade(look.top, 0.78)
        for sg in (1, -1):
            a = neck_base + sg * left * 0.7 * ra
            b = sc + (pc - sc) * 0.74 - sg * left * 0.2 * ra
            cv2.line(img, fixed_point(a), fixed_point(b), lapel, max(1, int(round(0.012 * s))), cv2.LINE_AA, SHIFT)
        belt_c = sc + (pc - sc) * 0.8
        bl = belt_c + (sl + (hl - sl) * 0.8 - belt_c) * 1.02
        br = belt_c + (sr + (hr - sr) * 0.8 - belt_c) * 1.02
        capsule(img, bl, br, 0.016 * s, 0.016 * s, look.belt)
        capsule(img, belt_c - up * 0.01 * s, belt_c - up * 0.07 * s - left * 0.02 * s, 0.009 * s, 0.008 * s, look.belt)
    else:
        # Tai chi top: a centre seam with frog buttons.
        seam = shade(look.top, 0.8)
        bottom = pc - up * 0.3 * rt
        cv2.line(img, fixed_point(neck_base), fixed_point(bottom), seam, 1, cv2.LINE_AA, SHIFT)
        for f in (0.15, 0.35, 0.55, 0.75):
            q = neck_base + (bottom - neck_base) * f
            half = left * 0.022 * s
            cv2.line(img, fixed_point(q - half), fixed_point(q + half), (40, 40, 48), 1, cv2.LINE_AA, SHIFT)


def _draw_head(img, p: np.ndarray, s: float, body: Body, look: _Look) -> None:
    """Neck, ears, head, hair and a simple face, at the face landmarks."""
    head, neck_top, sc = p[HEAD_CENTRE, :2], p[NECK_TOP, :2], p[SHOULDER_CENTRE, :2]
    up = head - neck_top
    up /= max(float(np.hypot(*up)), 1e-9)
    angle = float(np.degrees(np.arctan2(up[0], -up[1])))
    rx, ry = body.head_rx * s, body.head_ry * s
    limb(img, sc, neck_top, body.r_neck * s, body.r_neck * s, shade(look.skin, 0.85))
    for ear in (7, 8):
        cv2.ellipse(
            img,
            fixed_point(p[ear]),
            (max(1, int(0.18 * rx * ONE)), max(1, int(0.3 * ry * ONE))),
            angle,
            0,
            360,
            shade(look.skin, 0.82),
            -1,
            cv2.LINE_AA,
            SHIFT,
        )
    axes = (max(1, int(round(rx * ONE))), max(1, int(round(ry * ONE))))
    cv2.ellipse(img, fixed_point(head), axes, angle, 0, 360, shade(look.skin, 0.75), -1, cv2.LINE_AA, SHIFT)
    inner = (max(1, int(round(0.9 * rx * ONE))), max(1, int(round(0.92 * ry * ONE))))
    cv2.ellipse(
        img, fixed_point(head + np.array(LIGHT) * 0.08 * rx), inner, angle, 0, 360, look.skin, -1, cv2.LINE_AA, SHIFT
    )
    # Hair: a cap over the upper half of the head, shifted with the turn of the face.
    turn = float(p[0, 0] - head[0]) / max(rx, 1e-9)  # -1..1, where the nose is
    cap_c = head + up * 0.12 * ry
    cap_axes = (max(1, int(round(1.07 * rx * ONE))), max(1, int(round(1.0 * ry * ONE))))
    cv2.ellipse(
        img, fixed_point(cap_c), cap_axes, angle, 180 - 8 * turn, 360 - 8 * turn, look.hair, -1, cv2.LINE_AA, SHIFT
    )
    if look.bun:
        cv2.circle(
            img,
            fixed_point(head + up * 1.05 * ry),
            max(1, int(round(0.42 * rx * ONE))),
            shade(look.hair, 0.85),
            -1,
            cv2.LINE_AA,
            SHIFT,
        )
    # Face: eyes, nose shadow, mouth.
    eye_r = max(0.7, 0.1 * rx)
    # Tiny heads: a lighter eye colour, as a sub-pixel dark eye would blur to it anyway.
    eye = tuple(int(round(d + (k - d) * max(0.0, 1.0 - 0.1 * rx))) for d, k in zip((35, 28, 26), look.skin))
    for i in (2, 5):
        cv2.circle(img, fixed_point(p[i]), max(1, int(round(eye_r * ONE))), eye, -1, cv2.LINE_AA, SHIFT)
    cv2.circle(
        img, fixed_point(p[0]), max(1, int(round(0.09 * rx * ONE))), shade(look.skin, 0.78), -1, cv2.LINE_AA, SHIFT
    )
    cv2.line(img, fixed_point(p[9]), fixed_point(p[10]), shade((150, 60, 60), 1.0), 1, cv2.LINE_AA, SHIFT)


def person_mask(p: np.ndarray, s: float, ground: float, role: str, width: int, height: int) -> np.ndarray:
    """(H, W) uint8 0..255: how much of each pixel the figure covers (soft at anti-aliased edges).

    The figure is drawn (without its floor shadow) over black and over white: every anti-aliased
    stroke blends as out = under * (1 - a) + colour * a, so a pixel covered by a share A ends as
    F over black and 255 * (1 - A) + F over white, and A = 1 - (white - black) / 255.
    """
    black = np.zeros((height, width, 3), np.uint8)
    white = np.full((height, width, 3), 255, np.uint8)
    draw_figure(black, p, s, ground, role, shadow=False)
    draw_figure(white, p, s, ground, role, shadow=False)
    seen = (white.astype(np.int16) - black.astype(np.int16)).mean(axis=-1)
    return np.clip(np.round(255.0 - seen), 0, 255).astype(np.uint8)
