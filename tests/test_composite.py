import cv2
import numpy as np
import pytest

from motion_transfer.pose.skeleton import ANKLES, ankle_point
from motion_transfer.render.paste import (
    composite_frames,
    feather,
    follow_source_boxes,
    output_size,
    paste,
)
from test_drawing import STANDING  # crop coordinates in [0, 1], ankles at y = 0.9

RNG = np.random.default_rng(0)


def _skeletons(foot_x, foot_y, height):
    """(N, 13, 2) standing skeletons in frame pixels with the ankle point at (foot_x, foot_y), `height` tall."""
    foot_x, foot_y, height = (np.asarray(v, np.float64) for v in (foot_x, foot_y, height))
    unit = (STANDING - STANDING[list(ANKLES)].mean(axis=0)) / (STANDING[11, 1] - STANDING[0, 1])
    return unit[None] * height[:, None, None] + np.stack([foot_x, foot_y], axis=1)[:, None, :]


def _target_boxes(skeletons):
    """The target's own crop boxes: side 1.3 x body height, centred a bit above the middle of the body."""
    height = skeletons[:, 11, 1] - skeletons[:, 0, 1]
    foot = ankle_point(skeletons)
    return np.stack([foot[:, 0], foot[:, 1] - 0.45 * height, 1.3 * height], axis=1)


@pytest.mark.parametrize(
    "size, max_side, expected",
    [
        ((960, 720), 640, (640, 480)),
        ((1920, 1080), 1280, (1280, 720)),
        ((640, 480), 1280, (640, 480)),
        ((961, 721), 2000, (960, 720)),
        ((720, 1280), 853, (478, 852)),
        ((1000, 333), 500, (500, 166)),
    ],
)
def test_output_size_caps_keeps_even_sides_and_never_upscales(size, max_side, expected):
    out = output_size(size, max_side)
    assert out == expected
    assert out[0] % 2 == 0 and out[1] % 2 == 0
    assert max(out) <= max_side and out[0] <= size[0] and out[1] <= size[1]


def test_feathering_is_zero_on_the_border_one_in_the_middle_and_monotone():
    alpha = np.ones((128, 128), np.float32)
    out = feather(alpha, 0.1)
    assert out.dtype == np.float32 and out.shape == alpha.shape
    for border in (out[0], out[-1], out[:, 0], out[:, -1]):
        assert np.all(border == 0)
    assert np.all(out[20:-20, 20:-20] == 1)
    half = out[64, :64]
    assert np.all(np.diff(half) >= 0) and 0 < half[5] < 1  # a ramp, not a step
    np.testing.assert_array_equal(out, out[::-1, ::-1])  # symmetric
    np.testing.assert_array_equal(alpha, 1)  # input untouched
    np.testing.assert_array_equal(feather(alpha, 0.0), alpha)


def test_paste_with_alpha_one_puts_the_person_exactly_in_the_box():
    frame = RNG.integers(0, 256, (120, 160, 3), np.uint8)
    before = frame.copy()
    person = RNG.integers(0, 256, (64, 64, 3), np.uint8)
    out = paste(frame, person, np.ones((64, 64), np.float32), (80.0, 60.0, 90.0), feather_width=0.0)
    assert out is frame
    expected = cv2.resize(person, (90, 90), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(frame[15:105, 35:125], expected)
    mask = np.ones(frame.shape[:2], bool)
    mask[15:105, 35:125] = False
    np.testing.assert_array_equal(frame[mask], before[mask])


def test_paste_with_alpha_zero_leaves_the_frame_untouched_and_half_alpha_blends():
    frame = RNG.integers(0, 256, (100, 100, 3), np.uint8)
    before = frame.copy()
    person = RNG.integers(0, 256, (32, 32, 3), np.uint8)
    paste(frame, person, np.zeros((32, 32), np.float32), (50.0, 50.0, 64.0))
    np.testing.assert_array_equal(frame, before)
    paste(frame, np.full((32, 32, 3), 200, np.uint8), np.full((32, 32), 0.5, np.float32), (50, 50, 64), 0.0)
    expected = (before[18:82, 18:82].astype(np.float64) + 200) / 2
    np.testing.assert_allclose(frame[18:82, 18:82], expected, atol=1)


@pytest.mark.parametrize("box", [(10.0, 20.0, 60.0), (150.0, 110.0, 80.0), (-20.0, 50.0, 100.0), (500, 50, 60)])
def test_a_box_partly_outside_the_frame_is_clipped_and_the_rest_untouched(box):
    frame = RNG.integers(0, 256, (120, 160, 3), np.uint8)
    person = RNG.integers(0, 256, (64, 64, 3), np.uint8)
    # Reference: the same frame with room around it, where the whole box fits, cut back to the frame.
    pad = 400
    roomy = np.pad(frame, ((pad, pad), (pad, pad), (0, 0)))
    cx, cy, side = box
    x0, y0 = int(cx - side / 2) + pad, int(cy - side / 2) + pad
    roomy[y0 : y0 + int(side), x0 : x0 + int(side)] = cv2.resize(
        person, (int(side),) * 2, interpolation=cv2.INTER_LINEAR
    )
    inside = np.zeros(roomy.shape[:2], bool)
    inside[y0 : y0 + int(side), x0 : x0 + int(side)] = True
    expected, inside = roomy[pad:-pad, pad:-pad], inside[pad:-pad, pad:-pad]
    before = frame.copy()
    paste(frame, person, np.ones((64, 64), np.float32), box, feather_width=0.0)
    np.testing.assert_array_equal(frame, expected)
    np.testing.assert_array_equal(frame[~inside], before[~inside])
    assert inside.any() == (box[0] < 400)


def test_a_box_mostly_outside_matches_the_resized_person():
    """The cheap path for a box mostly outside the frame samples like cv2.resize (up to rounding)."""
    frame = np.zeros((100, 100, 3), np.uint8)
    person = cv2.resize(RNG.integers(0, 256, (8, 8, 3), np.uint8), (64, 64), interpolation=cv2.INTER_CUBIC)
    paste(frame, person, np.ones((64, 64), np.float32), (0.0, 0.0, 160.0), feather_width=0.0)
    big = cv2.resize(person, (160, 160), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(frame[:80, :80].astype(int), big[80:, 80:].astype(int), atol=2)
    assert frame[80:].max() == 0 and frame[:, 80:].max() == 0


def test_composite_frames_scales_plate_and_boxes_once():
    plate = np.full((720, 960, 3), 40, np.uint8)
    persons = np.full((3, 32, 32, 3), 220, np.uint8)
    alphas = np.ones((3, 32, 32), np.float32)
    boxes = np.array([[480, 360, 400], [100, 100, 100], [900, 700, 200]], np.float64)
    out = composite_frames(plate, persons, alphas, boxes, out_size=(480, 360))
    assert out.shape == (3, 360, 480, 3) and out.dtype == np.uint8
    assert out[0, 180, 240, 0] == 220 and out[0, 10, 10, 0] == 40  # box centre drawn, corner is plate
    assert out[0, 180, 139, 0] == 40 and out[0, 180, 160, 0] == 220  # box edge at x = 140, feathered over 12 px
    assert out[1, 50, 50, 0] == 220 and out[1, 180, 240, 0] == 40
    assert out[2, 355, 475, 0] == 220
    same = composite_frames(plate, persons[:1], alphas[:1], boxes[:1], feather_width=0.0)[0]
    expected = plate.copy()
    paste(expected, persons[0], alphas[0], boxes[0], feather_width=0.0)
    np.testing.assert_array_equal(same, expected)


def _target_clip(foot_ys, heights, foot_x=480.0, n_each=30):
    """A target standing still at each (foot_y, height) in turn, with small pose noise."""
    foot_y = np.repeat(foot_ys, n_each).astype(np.float64)
    height = np.repeat(heights, n_each).astype(np.float64)
    sk = _skeletons(np.full(len(foot_y), foot_x), foot_y, height)
    sk = sk + RNG.normal(0, 1.0, sk.shape)
    return sk, _target_boxes(sk)


def test_the_box_follows_a_source_walking_left_to_right():
    target, t_boxes = _target_clip([600.0], [300.0])  # one distance: side 390 everywhere
    n = 80
    source = _skeletons(np.linspace(40, 600, n), np.full(n, 400.0), np.full(n, 200.0))
    source += RNG.normal(0, 1.0, source.shape)
    boxes = follow_source_boxes(source, target, t_boxes, (960, 720))
    assert boxes.shape == (n, 3)
    assert np.all(np.diff(boxes[:, 0]) >= -1e-9) and boxes[-1, 0] - boxes[0, 0] > 400
    np.testing.assert_allclose(boxes[:, 2], np.median(t_boxes[:, 2]), rtol=0.02)
    half = boxes[:, 2] / 2
    assert np.all(boxes[:, 0] - half >= -1e-6) and np.all(boxes[:, 0] + half <= 960 + 1e-6)
    assert np.all(boxes[:, 1] - half >= -1e-6) and np.all(boxes[:, 1] + half <= 720 + 1e-6)
    # Scaled 1.5x (300 / 200 px bodies) around the target's place: the walk is wider than the frame, so it
    # reaches both sides and the clamp holds it there.
    assert boxes[0, 0] == pytest.approx(half[0], abs=1e-6) and boxes[-1, 0] == pytest.approx(960 - half[-1], abs=1e-6)
    # In the middle of the walk the box sits where the target stands, with its usual vertical offset.
    mid = n // 2
    assert boxes[mid, 0] == pytest.approx(480.0 + 1.5 * (source[mid, ANKLES, 0].mean() - 320), abs=15)
    assert boxes[mid, 1] == pytest.approx(np.median(t_boxes[:, 1]), abs=5)


def test_a_source_walking_towards_its_camera_moves_the_box_down_and_makes_it_larger():
    # The target was filmed at three distances: lower feet, larger body.
    target, t_boxes = _target_clip([420.0, 500.0, 580.0], [180.0, 240.0, 300.0])
    n = 60
    foot_y = np.linspace(300, 460, n)
    source = _skeletons(np.full(n, 320.0), foot_y, 0.8 * foot_y - 140)  # 100 -> 228 px tall
    boxes = follow_source_boxes(source, target, t_boxes, (960, 720), smoothing_window=5)
    foot = boxes[:, 1] + 0.45 / 1.3 * boxes[:, 2]  # the box's ankle line (its offset from the ankles is fixed)
    assert np.all(np.diff(foot) >= -1e-6) and foot[-1] - foot[0] > 100
    assert np.all(np.diff(boxes[:, 2]) >= -1e-6) and boxes[-1, 2] > 1.3 * boxes[0, 2]
    # Where the source is closest, the target is at its own closest: its largest box.
    assert boxes[-1, 2] == pytest.approx(1.3 * 300, rel=0.05)
    assert np.all(boxes[:, 1] + boxes[:, 2] / 2 <= 720 + 1e-6)


def test_invalid_source_frames_hold_the_last_valid_box():
    target, t_boxes = _target_clip([600.0], [300.0])
    n = 40
    source = _skeletons(np.linspace(200, 440, n), np.full(n, 400.0), np.full(n, 200.0))
    source[[0, 1]] = np.nan  # before any valid frame: the first valid box
    source[20:25] = np.nan
    source[30, 5] = np.nan  # one missing joint makes the frame invalid too
    boxes = follow_source_boxes(source, target, t_boxes, (960, 720))
    assert np.isfinite(boxes).all()
    np.testing.assert_array_equal(boxes[0], boxes[2])
    np.testing.assert_array_equal(boxes[1], boxes[2])
    for i in range(20, 25):
        np.testing.assert_array_equal(boxes[i], boxes[19])
    np.testing.assert_array_equal(boxes[30], boxes[29])
    assert boxes[25, 0] > boxes[19, 0]  # and it moves on afterwards
    with pytest.raises(ValueError):
        follow_source_boxes(np.full_like(source, np.nan), target, t_boxes, (960, 720))
