"""A moving camera: registration onto one scene, the scene's plate, the picture inside letterbox bars."""

import cv2
import numpy as np
import pytest

from motion_transfer.data.plate import STATIC_CAMERA_MAX_RESIDUAL, estimate_plate, sample_indices
from motion_transfer.data.registration import (
    Scene,
    map_boxes,
    map_points,
    picture_region,
    register_frames,
    scene_of_clip,
)
from motion_transfer.pose.crop import crop_frame

W, H = 320, 240


def _stage(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A wide textured scene (walls with panels, posters, a patterned floor) for a camera to film."""
    rng = np.random.default_rng(seed)
    scene = np.full((height, width, 3), (150, 120, 90), np.uint8)
    for _ in range(250):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(8, 50)), int(rng.integers(8, 50))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            cv2.rectangle(scene, (x, y), (x + w, y + h), colour, -1)
        else:
            cv2.circle(scene, (x, y), w // 3 + 2, colour, -1)
    noise = rng.normal(0, 6, (height // 4, width // 4, 3))
    scene = np.clip(scene + cv2.resize(noise, (width, height)), 0, 255).astype(np.uint8)
    return cv2.GaussianBlur(scene, (3, 3), 0)


def _scene_to_frame(t: int, n: int) -> np.ndarray:
    """The true camera of frame t: a pan of ~1.5 px a frame to the right and a 10% zoom-in."""
    s = 1.0 + 0.1 * t / max(1, n - 1)
    return np.array([[s, 0.0, -(60 + 1.5 * t) * s], [0.0, s, -(40 + 0.3 * t) * s], [0.0, 0.0, 1.0]])


def _filmed(n: int = 60, bars: bool = False):
    """Frames (n, H, W, 3), the person's masks (n, H, W) uint8, and the true maps onto frame 0."""
    stage = _stage(720, 420)
    frames, masks, truth = [], [], []
    first = _scene_to_frame(0, n)
    for t in range(n):
        m = _scene_to_frame(t, n)
        frame = cv2.warpAffine(stage, m[:2], (W, H), flags=cv2.INTER_LINEAR)
        mask = np.zeros((H, W), np.uint8)
        x = 40 + (4 * t) % 200
        cv2.ellipse(mask, (x, 130), (18, 60), 0, 0, 360, 255, -1)
        frame[mask > 0] = (60, 200, 60)
        if bars:  # letterbox bars with burned-in captions, fixed in the frame
            frame[:30], frame[-30:], frame[:, :24], frame[:, -24:] = 30, 30, 30, 30
            cv2.putText(frame, "Queen of the stage", (40, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (220, 220, 220), 1)
            cv2.putText(frame, "a caption at the bottom", (30, H - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (220,) * 3, 1)
        frames.append(frame)
        masks.append(mask)
        truth.append(first @ np.linalg.inv(m))
    return np.stack(frames), np.stack(masks), np.stack(truth)


def _corner_error(estimated: np.ndarray, truth: np.ndarray) -> float:
    corners = np.tile(np.array([[[0, 0], [W, 0], [0, H], [W, H]]], float), (len(truth), 1, 1))
    return float(np.abs(map_points(estimated, corners) - map_points(truth, corners)).max())


def test_a_panning_zooming_camera_is_registered_onto_its_first_frame():
    frames, masks, truth = _filmed()
    to_first, failures = register_frames(frames, masks, (0, 0, W, H))
    assert failures == 0
    assert np.allclose(to_first[0], np.eye(3))
    # The camera moved 88 px and zoomed 10%; every frame's corners land within 1.5 px.
    assert _corner_error(to_first, truth) < 1.5


def test_letterbox_bars_and_captions_are_left_out_of_the_picture():
    frames, masks, truth = _filmed(bars=True)
    picks = sample_indices(len(frames))
    still = estimate_plate(frames[picks], masks[picks])
    assert not still.static_camera
    x, y, w, h = picture_region(frames[picks], still.plate)
    assert abs(x - 24) <= 2 and abs(y - 30) <= 2 and abs(x + w - (W - 24)) <= 2 and abs(y + h - (H - 30)) <= 2
    # The captions would pin the registration to the identity if they were tracked.
    to_first, failures = register_frames(frames, masks, (x, y, w, h))
    assert failures == 0 and _corner_error(to_first, truth) < 2.0


def test_a_moving_camera_gets_a_scene_whose_plate_fits_every_frame():
    frames, masks, _ = _filmed(bars=True)
    n = len(frames)
    picks = sample_indices(n)
    still = estimate_plate(frames[picks], masks[picks])
    scene, record = scene_of_clip(
        still, picks, frames[picks], masks[picks], lambda: iter(frames), lambda: iter(masks), n
    )
    assert record["camera"] == "registered" and record["fits"] is True and record["failed_frames"] == 0
    assert record["residual"] <= STATIC_CAMERA_MAX_RESIDUAL < record["still_residual"]
    assert scene.moves and scene.frame_to_scene.shape == (n, 3, 3) and 0 <= scene.reference < n
    # Each frame's plate is that frame without the person: compare away from the person.
    for t in (0, n // 2, n - 1):
        plate = scene.plate_for(t)
        away = cv2.dilate(masks[t], np.ones((9, 9), np.uint8)) == 0
        diff = np.abs(plate.astype(int) - frames[t].astype(int)).max(axis=-1)
        assert np.median(diff[away]) <= 3 and np.percentile(diff[away], 90) <= 12
        # Outside the picture the bars and captions are the frame's own.
        assert np.array_equal(plate[:30], frames[t][:30]) or np.abs(plate[:30].astype(int) - frames[t][:30]).max() <= 2


def test_plate_crops_of_a_moving_camera_line_up_with_the_frames():
    frames, masks, _ = _filmed()
    n = len(frames)
    picks = sample_indices(n)
    still = estimate_plate(frames[picks], masks[picks])
    scene, _ = scene_of_clip(still, picks, frames[picks], masks[picks], lambda: iter(frames), lambda: iter(masks), n)
    boxes = np.tile([[250.0, 80.0, 60.0]], (n, 1))  # a corner the person never reaches
    crops = scene.crops(boxes, 64, 32)
    real = np.stack(
        [cv2.resize(crop_frame(f, b, 64), (32, 32), interpolation=cv2.INTER_AREA) for f, b in zip(frames, boxes)]
    )
    assert crops.shape == (n, 32, 32, 3)
    assert np.median(np.abs(crops.astype(int) - real.astype(int))) <= 3


def test_a_still_scene_crops_exactly_like_the_frames():
    plate = _stage(W, H)
    scene = Scene.still(plate, 3)
    assert (
        not scene.moves
        and scene.plate_for(2) is plate
        and scene.meta() == {"picture": [0, 0, W, H], "reference_frame": 0}
    )
    boxes = np.array([[100.0, 120.0, 90.0], [200.0, 100.0, 150.0], [10.0, 10.0, 60.0]])
    expected = np.stack([cv2.resize(crop_frame(plate, b, 64), (32, 32), interpolation=cv2.INTER_AREA) for b in boxes])
    assert np.array_equal(scene.crops(boxes, 64, 32), expected)


def test_frames_that_are_not_one_scene_fall_back_to_the_still_plate():
    rng = np.random.default_rng(0)
    frames = np.stack([_stage(W, H, seed=int(s)) for s in rng.integers(0, 1000, 20)])  # a new scene every frame
    masks = np.zeros(frames.shape[:3], np.uint8)
    picks = sample_indices(20)
    still = estimate_plate(frames[picks], masks[picks])
    scene, record = scene_of_clip(
        still, picks, frames[picks], masks[picks], lambda: iter(frames), lambda: iter(masks), 20
    )
    assert record["fits"] is False and record["camera"] == "moving"
    assert not scene.moves and np.array_equal(scene.image, still.plate)


def test_boxes_and_points_follow_the_transforms():
    shift_zoom = np.array([[[2.0, 0.0, 10.0], [0.0, 2.0, -5.0], [0.0, 0.0, 1.0]]])
    assert np.allclose(map_points(shift_zoom, np.array([[[1.0, 1.0], [0.0, 0.0]]])), [[[12.0, -3.0], [10.0, -5.0]]])
    assert np.allclose(map_boxes(shift_zoom, np.array([[1.0, 1.0, 30.0]])), [[12.0, -3.0, 60.0]])


@pytest.mark.real_data
@pytest.mark.slow
def test_taichi2_is_registered_onto_one_scene(real_outputs):
    """taichi2.mp4's camera follows the performer (a ~580-px pan and a ~10% zoom); registered,
    one scene fits every frame (residual 4.0 grey levels against 14.0 for one still plate)."""
    from motion_transfer.data.cache import SkeletonCache

    (folder,) = (real_outputs / "cache").glob("taichi2-*")
    cache = SkeletonCache.load(folder)
    info = cache.meta["plate"]
    assert info["camera"] == "registered" and info["fits"] is True
    assert info["residual"] <= STATIC_CAMERA_MAX_RESIDUAL < info["still_residual"]
    assert info["picture"] == pytest.approx([120, 89, 720, 542], abs=4)  # inside the letterbox and captions
    scene = cache.background()
    pan = np.ptp(scene.frame_to_scene[:, 0, 2])
    assert pan > 300
