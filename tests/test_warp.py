"""Bending a person image to an asked pose (render/warp.py), checked against the synthetic renderer's truth.

The renderer draws its figure from control channels through its own kinematics (`joint_positions`), so the same
figure can be drawn in two poses that differ in one limb: warping the first drawing to the second skeleton must come
close to the second drawing. `test_measure_table` prints the measurements quoted in warp.py's docstring
(`pytest -s tests/test_warp.py -k table`).
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from motion_transfer.data.synthetic.body import BODIES, joint_positions
from motion_transfer.data.synthetic.figure import draw_figure, person_mask
from motion_transfer.data.synthetic.keyframes import CHANNELS, arm
from motion_transfer.pose.skeleton import REDUCED_LANDMARKS
from motion_transfer.render.warp import DEFAULT_METHOD, WARP_METHODS, WarpedPerson, warp_person

SIDE = 256
BACKGROUND = (90, 110, 100)
#: Arms hanging by the sides, elbows a little bent: the pose every case starts from.
REST = {"L": (20, 0, 10, 0), "R": (20, 0, 10, 0)}


def channels(arms: dict, **changes) -> np.ndarray:
    """One frame of control channels: feet apart on the floor, upright, the arms' angles as keyframes.arm takes
    them (outwards in the image plane, towards the camera; upper arm then forearm, in degrees)."""
    row = dict.fromkeys(CHANNELS, 0.0) | {"aL_x": 0.1, "aR_x": -0.1, "crouch": 0.02}
    for side, angles in arms.items():
        row |= arm(side, *angles)
    row |= changes
    return np.array([[row[name] for name in CHANNELS]])


def figure(arms: dict, role: str = "source", size: int = SIDE, background=BACKGROUND, **changes):
    """The renderer's figure in one pose over a plain background: image (size, size, 3), its exact mask and its 13
    joints (13, 2) in pixels."""
    points = joint_positions(BODIES[role], channels(arms, **changes))[0]
    scale = 0.82 * size
    ground = 0.93 * size
    hips_z = points[[23, 24], 2].mean()
    pixels = np.stack(
        [size / 2 + scale * points[:, 0], ground + scale * points[:, 1], scale * (points[:, 2] - hips_z)],
        -1,
    )
    image = np.empty((size, size, 3), np.uint8)
    image[:] = background
    draw_figure(image, pixels, scale, ground, role, shadow=False)
    mask = person_mask(pixels, scale, ground, role, size, size)
    return image, mask, pixels[list(REDUCED_LANDMARKS), :2].astype(np.float32)


#: Pairs of poses: the first is warped to the second's skeleton and compared with the second's drawing.
CASES = {
    "elbow": (REST, {"L": (20, 0, 70, 0), "R": (20, 0, 10, 0)}, {}),  # the left forearm bent by 60 degrees
    "shoulder": (REST, {"L": (65, 0, 55, 0), "R": (20, 0, 10, 0)}, {}),  # the left arm raised by 45 degrees
    "across": (REST, {"L": (10, 10, -100, 20), "R": (20, 0, 10, 0)}, {}),  # the left forearm across the chest
    "knee": (REST, REST, {"aL_lift": 0.18, "aL_z": -0.12, "aL_x": 0.06, "kickL": 1.0}),  # the left knee raised
}


def composite(person: WarpedPerson) -> np.ndarray:
    alpha = person.alpha[..., None]
    return (person.rgb * alpha + np.float32(BACKGROUND) * (1 - alpha)).round().astype(np.uint8)


def score(image: np.ndarray, alpha: np.ndarray, truth: np.ndarray, truth_mask: np.ndarray, regions) -> tuple:
    """(mean absolute grey-level error inside each region..., IoU of alpha > 0.5 with the true mask > 127)."""
    error = np.abs(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) - cv2.cvtColor(truth, cv2.COLOR_RGB2GRAY))
    ours, real = alpha > 0.5, truth_mask > 127
    return (*(float(error[region].mean()) for region in regions), float((ours & real).sum() / (ours | real).sum()))


def measure(case: str, role: str = "source") -> dict:
    """Method -> (error over the union of both masks, error where the two drawings differ, IoU) against the second
    drawing, each region widened by 3 px; "unwarped" is the first drawing as it is."""
    first_arms, second_arms, second_changes = CASES[case]
    image, mask, src = figure(first_arms, role)
    truth, truth_mask, dst = figure(second_arms, role, **second_changes)
    widen = np.ones((7, 7), np.uint8)
    union = cv2.dilate(((mask > 0) | (truth_mask > 0)).astype(np.uint8), widen) > 0
    moved = cv2.dilate((np.abs(image.astype(int) - truth).max(-1) > 8).astype(np.uint8), widen) > 0
    unwarped = WarpedPerson(image, (mask / 255.0).astype(np.float32), 0.0)
    results = {"unwarped": score(composite(unwarped), unwarped.alpha, truth, truth_mask, (union, moved))}
    for method in WARP_METHODS:
        warped = warp_person(image, mask, src, dst, SIDE, method)
        results[method] = score(composite(warped), warped.alpha, truth, truth_mask, (union, moved))
    return results


@pytest.fixture(scope="module")
def measured() -> dict:
    return {case: measure(case) for case in CASES}


def test_warp_follows_the_truth_far_better_than_placing_by_the_torso(measured):
    """Measured (the source figure at 256 px; error in grey levels over the union of both masks / where the two
    drawings differ, each widened by 3 px; IoU of alpha > 0.5 with the true mask):

        case      unwarped           similarity         bones              mls                tps
        elbow     2.17 12.07 0.905   2.17 12.07 0.905   1.57  6.77 0.990   1.47  6.62 0.987   4.19 12.21 0.874
        shoulder  3.64 13.63 0.823   3.64 13.63 0.823   1.82  5.76 0.992   1.74  5.43 0.991   5.56 13.04 0.765
        across    3.61 14.88 0.913   3.61 14.88 0.913   1.81  6.11 0.988   2.28  6.48 0.997   6.75 16.27 0.859
        knee     19.27 20.02 0.439   6.91  6.90 0.658   2.85  2.91 0.970   2.77  2.82 0.968   4.85  4.86 0.893

    Bones leaves 0.41-0.56 of the similarity's error where the drawings differ (the rest is mostly the renderer's
    shading of a turned limb, which moved pixels keep) and lifts IoU to 0.97-0.99 from 0.66-0.91. Asserted for the
    default with room for the renderer to change: at most 0.65 x the similarity's and the unwarped error where the
    drawings differ, below theirs over the union, IoU at least 0.95 and 0.04 above theirs.
    """
    for case, results in measured.items():
        _, moved, iou = results[DEFAULT_METHOD]
        for baseline in ("similarity", "unwarped"):
            assert moved <= 0.65 * results[baseline][1], (case, baseline, results)
            assert results[DEFAULT_METHOD][0] < results[baseline][0], (case, baseline, results)
            assert iou >= 0.95 and iou >= results[baseline][2] + 0.04, (case, baseline, results)


def test_an_arm_moved_across_the_chest_is_drawn_over_it_without_doubling():
    """The left forearm swings from the side across the chest: along it the output shows the forearm (skin), not
    the jacket drawn over it; and where the arm hung, nothing of it is left behind. Measured: mean RGB distance to
    the truth along the forearm 14.0 for bones (mls 11.7) against 79.8 for the similarity; skin-coloured pixels
    where the truth shows none within 3 px: bones 4, mls 46 (its forearm bends down the belly), similarity 165."""
    first, second, _ = CASES["across"]
    image, mask, src = figure(first)
    truth, truth_mask, dst = figure(second)
    warped = warp_person(image, mask, src, dst, SIDE)
    elbow, wrist = dst[3], dst[5]
    along = np.round(elbow + np.linspace(0.2, 0.9, 12)[:, None] * (wrist - elbow)).astype(int)
    ours, real = composite(warped)[along[:, 1], along[:, 0]], truth[along[:, 1], along[:, 0]]
    placed = composite(warp_person(image, mask, src, dst, SIDE, "similarity"))[along[:, 1], along[:, 0]]
    distance = np.linalg.norm(ours.astype(float) - real, axis=1).mean()
    assert distance < 30 and distance < 0.3 * np.linalg.norm(placed.astype(float) - real, axis=1).mean()
    skin = np.array([150, 100, 68])  # the source figure's skin
    output_skin = np.linalg.norm(composite(warped).astype(float) - skin, axis=-1) < 40
    truth_skin = (np.linalg.norm(truth.astype(float) - skin, axis=-1) < 60).astype(np.uint8)
    left_behind = output_skin & (cv2.dilate(truth_skin, np.ones((7, 7), np.uint8)) == 0)
    assert left_behind.sum() < 15


def test_what_the_source_does_not_show_stays_transparent():
    """The other way round: the source holds its forearm across the chest and the asked pose hangs the arm down.
    The chest behind the forearm is not in the image: the output leaves it transparent rather than keeping the
    forearm there or stretching something over it. Measured over the chest pixels the forearm hid: mean alpha
    0.19 for bones and mls (1.00 for the similarity and tps), skin-coloured opaque pixels 35 (similarity 148)."""
    first, second, _ = CASES["across"]
    image, mask, src = figure(second)
    truth, truth_mask, dst = figure(first)
    skin = np.array([150, 100, 68])
    truth_skin = (np.linalg.norm(truth.astype(float) - skin, axis=-1) < 60).astype(np.uint8)
    near_truth_skin = cv2.dilate(truth_skin, np.ones((7, 7), np.uint8)) > 0
    hidden = (np.linalg.norm(image.astype(float) - skin, axis=-1) < 60) & (truth_mask > 127) & ~near_truth_skin
    assert hidden.sum() > 150
    warped = warp_person(image, mask, src, dst, SIDE)
    assert warped.alpha[hidden].mean() < 0.4
    skin_left = (np.linalg.norm(warped.rgb.astype(float) - skin, axis=-1) < 40) & (warped.alpha > 0.5) & hidden
    assert skin_left.sum() < 60


@pytest.mark.parametrize("method", WARP_METHODS)
def test_the_asked_pose_equal_to_the_image_s_own_gives_the_image_back(method):
    """Measured: every colour inside the mask exact, alpha within 1/255 of the mask (where parts meet inside the
    body their shares add up to the mask)."""
    image, mask, joints = figure({"L": (60, 10, 100, 20), "R": (-20, 20, -90, 30)})
    warped = warp_person(image, mask, joints, joints, SIDE, method)
    inside = mask > 0
    assert np.abs(warped.rgb.astype(int) - image)[inside].max() <= 1
    assert np.abs(warped.alpha - mask / 255.0).max() <= 2 / 255
    assert warped.stretch == pytest.approx(0.0, abs=1e-6)


def spread(joints: np.ndarray) -> np.ndarray:
    """All limbs spread straight out: arms level with the shoulders, legs wide, each bone as long as before."""
    out = joints.copy()
    for shoulder, elbow, wrist, sign in ((1, 3, 5, 1), (2, 4, 6, -1)):
        upper, fore = (np.linalg.norm(joints[b] - joints[a]) for a, b in ((shoulder, elbow), (elbow, wrist)))
        out[elbow] = out[shoulder] + (sign * upper, 0)
        out[wrist] = out[elbow] + (sign * fore, 0)
    for hip, knee, ankle, sign in ((7, 9, 11, 1), (8, 10, 12, -1)):
        thigh, shin = (np.linalg.norm(joints[b] - joints[a]) for a, b in ((hip, knee), (knee, ankle)))
        direction = np.array([sign * 0.6, 0.8])
        out[knee] = out[hip] + thigh * direction
        out[ankle] = out[knee] + shin * direction
    return out


@pytest.mark.parametrize("method", WARP_METHODS)
def test_poses_far_from_the_image_s_own_give_a_whole_finite_person_and_no_background(method):
    """Magenta around the person: wherever the output is opaque it shows the person, never the background
    stretched into it; a pose three times the size in a square three times as large keeps the whole person. Parts
    moved one by one keep about the person's area when the limbs spread (bones 1.03x, mls 1.03x); one smooth warp
    (tps) fills the space between the limbs with the stretched body (2.6x)."""
    magenta = (255, 0, 255)
    image, mask, joints = figure(REST, background=magenta)
    area = mask.sum() / 255.0
    grown = warp_person(image, mask, joints, 3 * joints, 3 * SIDE, method)
    assert grown.alpha.sum() == pytest.approx(9 * area, rel=0.02)
    spread_out = warp_person(image, mask, joints, spread(joints), SIDE, method)
    for warped in (grown, spread_out):
        assert np.isfinite(warped.alpha).all() and 0 <= warped.alpha.min() and warped.alpha.max() <= 1
        opaque = warped.alpha > 0.9
        assert opaque.any()
        background_like = np.linalg.norm(warped.rgb.astype(float) - magenta, axis=-1) < 120
        assert (background_like & opaque).sum() == 0
    assert 0.8 * area < spread_out.alpha.sum() < (3 if method == "tps" else 1.2) * area
    assert spread_out.stretch > 0.3


def test_stretch_grows_with_how_far_the_pose_bends_the_image():
    image, mask, joints = figure(REST)
    centre = joints.mean(0)
    turn = np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
    moved = (joints - centre) @ turn.T * 1.7 + centre + (40, -10)
    stretches = [
        warp_person(image, mask, joints, dst, SIDE).stretch
        for dst in (moved, figure(CASES["elbow"][1])[2], figure(CASES["shoulder"][1])[2], spread(joints))
    ]
    assert stretches[0] < 1e-6 < stretches[1] < stretches[2] < stretches[3]


@pytest.mark.parametrize("method", WARP_METHODS)
def test_output_shapes_and_types(method):
    image, mask, joints = figure(REST)
    wide = np.concatenate([image, image[:, :50]], axis=1)  # a frame that is not square
    wide_mask = np.concatenate([mask, np.zeros_like(mask[:, :50])], axis=1)
    warped = warp_person(wide, wide_mask > 127, joints, joints * 0.4 + 3, 101, method)
    assert warped.rgb.shape == (101, 101, 3) and warped.rgb.dtype == np.uint8
    assert warped.alpha.shape == (101, 101) and warped.alpha.dtype == np.float32
    assert isinstance(warped.stretch, float)
    empty = warp_person(image, np.zeros_like(mask), joints, joints, 64, method)
    assert not empty.alpha.any()


def test_bad_arguments_are_refused():
    image, mask, joints = figure(REST)
    bad = joints.copy()
    bad[3] = np.nan
    for call in (
        lambda: warp_person(image, mask, bad, joints, SIDE),
        lambda: warp_person(image, mask, joints[:12], joints, SIDE),
        lambda: warp_person(image, mask[:-1], joints, joints, SIDE),
        lambda: warp_person(image, mask / 255.0, joints, joints, SIDE),
        lambda: warp_person(image.astype(np.float32), mask, joints, joints, SIDE),
        lambda: warp_person(image, mask, joints, joints, 0),
        lambda: warp_person(image, mask, joints, joints, SIDE, "nearest"),
    ):
        with pytest.raises(ValueError):
            call()


def test_measure_table():
    """The table of warp.py's docstring: error and IoU against the truth per method (the mean over the cases, both
    figures), and milliseconds per warp of a person filling a 512 and a 1024 px square (the fastest of 5). Timing
    only measures: it depends on the machine and asserts nothing."""
    rows = {name: [] for name in ("unwarped", *WARP_METHODS)}
    for role in ("source", "target"):
        for case in CASES:
            for name, values in measure(case, role).items():
                rows[name].append(values)
    times = {}
    for size in (512, 1024):
        image, mask, src = figure(REST, size=size)
        dst = figure(CASES["shoulder"][1], size=size)[2]
        for method in WARP_METHODS:
            spent = []
            for _ in range(5):
                start = time.perf_counter()
                warp_person(image, mask, src, dst, size, method)
                spent.append(time.perf_counter() - start)
            times[method, size] = 1000 * min(spent)
    print("\n    method      union  moved  IoU    ms@512  ms@1024")
    for name, values in rows.items():
        union, moved, iou = np.mean(values, axis=0)
        timing = "".join(f"{times[name, size]:8.1f}" for size in (512, 1024)) if name in WARP_METHODS else ""
        print(f"    {name:10s} {union:6.2f} {moved:6.2f}  {iou:.3f} {timing}")


def test_a_forearm_before_the_face_is_the_arms_and_hair_on_a_shoulder_the_heads():
    """Depth order of the source's parts: a point in both the head's and a forearm's capsule is the arm's (a hand
    raised before the face); one in both the head's and an upper arm's stays the head's (hair falling on a shoulder
    is not carried off when that arm rises)."""
    from motion_transfer.pose.skeleton import NEUTRAL_POSE
    from motion_transfer.render.skinning import ARM_L, ARM_R, HEAD, PARTS, Pose, arm_order, label_points

    src = NEUTRAL_POSE.copy() * 400.0
    # The left forearm raised so that the wrist lies just before the nose.
    src[5] = src[0] + np.array([0.0, 8.0])
    pose = Pose.of(src, src.copy())
    before_face = src[0] + np.array([0.0, 4.0])
    shoulder, elbow = src[2], src[4]  # the other arm, hanging
    on_shoulder = shoulder + 0.2 * (elbow - shoulder) + np.array([12.0, -18.0])
    labels = label_points(np.stack([before_face, on_shoulder]), pose, arm_order(pose.dst))
    assert PARTS[labels[0]] is ARM_L
    assert PARTS[labels[1]] is HEAD
    # The same point with the head's capsule ignored is the upper arm's: both capsules hold it.
    far_head = Pose.of(np.where(np.arange(13)[:, None] == 0, src + [0.0, -400.0], src), src.copy())
    assert PARTS[label_points(on_shoulder[None], far_head, arm_order(far_head.dst))[0]] is ARM_R
