"""The background plate: per-pixel median of the uncovered frames, inpainting, the camera check."""

import time

import cv2
import numpy as np
import pytest

from motion_transfer.data.plate import (
    MAX_PLATE_FRAMES,
    STATIC_CAMERA_MAX_RESIDUAL,
    estimate_plate,
    sample_indices,
)
from motion_transfer.data.synthetic import render_background, render_clip_with_masks


@pytest.fixture(scope="module")
def clip():
    return render_clip_with_masks("target", 100, 0, width=160, height=128)


def test_sample_indices_are_few_and_spread_over_the_clip():
    idx = sample_indices(901)
    assert len(idx) == MAX_PLATE_FRAMES and idx[0] == 0 and idx[-1] == 900
    assert np.ptp(np.diff(idx)) <= 1  # evenly spread
    assert sample_indices(10).tolist() == list(range(10))
    assert len(sample_indices(0)) == 0


def test_plate_of_a_synthetic_clip_is_its_true_background(clip):
    """Measured: mean absolute error 0.28 grey levels at 160x128 from 48 of 100 frames (0.24 at
    320x256; 0.0 from 48 of 400 frames, where every pixel is uncovered often enough)."""
    idx = sample_indices(len(clip.frames))
    est = estimate_plate(clip.frames[idx], clip.masks[idx])
    assert est.plate.shape == clip.background.shape and est.plate.dtype == np.uint8
    error = np.abs(est.plate.astype(int) - clip.background.astype(int))
    assert error.mean() < 1.0
    assert np.percentile(error, 99) <= 10  # the person left no ghost
    assert est.static_camera and est.residual <= 1.0
    assert est.frames_used == len(idx) and 0.0 <= est.inpainted_fraction < 0.1


def test_float_and_uint8_masks_give_the_same_plate(clip):
    idx = sample_indices(len(clip.frames), 12)
    a = estimate_plate(clip.frames[idx], clip.masks[idx])
    b = estimate_plate(clip.frames[idx], clip.masks[idx].astype(np.float32) / 255.0)
    np.testing.assert_array_equal(a.plate, b.plate)


def test_a_person_who_never_leaves_one_spot_is_inpainted():
    """A magenta block covers the same place in every frame: nothing of the background is seen
    there, and inpainting fills it from around (the wall and floor gradients)."""
    background = render_background("target", 160, 128)
    rng = np.random.default_rng(0)
    k = 20
    frames = np.repeat(background[None], k, axis=0)
    frames = np.clip(frames + rng.normal(0, 1.0, frames.shape), 0, 255).astype(np.uint8)
    masks = np.zeros(frames.shape[:3], np.float32)
    masks[:, 40:100, 60:90] = 1.0
    frames[:, 40:100, 60:90] = (255, 0, 255)
    est = estimate_plate(frames, masks)
    hole = np.zeros(masks.shape[1:], bool)
    hole[40:100, 60:90] = True
    assert est.inpainted_fraction >= hole.mean()  # the block, grown by the dilation
    assert est.inpainted_fraction < 2 * hole.mean()
    inside = est.plate[hole].astype(int)
    assert np.isfinite(est.plate.astype(float)).all()
    # Plausible colours: wall and floor, no magenta.
    assert np.abs(inside - background[hole].astype(int)).mean() < 20
    assert not np.any((inside[:, 0] > 200) & (inside[:, 1] < 60) & (inside[:, 2] > 200))
    assert est.static_camera


def _textured_scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A scene with detail in every direction (blurred noise), as real rooms have."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (height, width, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0) * 3 - 255, 0, 255).astype(np.uint8)


def _filmed(scene: np.ndarray, offsets, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames of `size` px cut out of the scene at (x, y) offsets, with a grey block walking
    across them as the person (and its exact mask)."""
    frames, masks = [], []
    for i, (x, y) in enumerate(offsets):
        frame = scene[y : y + size, x : x + size].copy()
        mask = np.zeros((size, size), np.float32)
        px = 5 + (3 * i) % (size - 30)
        frame[20:60, px : px + 16] = 128
        mask[20:60, px : px + 16] = 1.0
        frames.append(frame)
        masks.append(mask)
    return np.stack(frames), np.stack(masks)


def test_a_moving_camera_is_not_static():
    scene = _textured_scene(140, 180)
    k = 30
    still = estimate_plate(*_filmed(scene, [(20, 20)] * k, 96))
    pan = estimate_plate(*_filmed(scene, [(2 * i, i // 2) for i in range(k)], 96))
    rng = np.random.default_rng(1)
    shake = estimate_plate(*_filmed(scene, [tuple(20 + rng.integers(-3, 4, 2)) for _ in range(k)], 96))
    assert still.static_camera and still.residual <= 1.0
    assert not pan.static_camera and pan.residual > 2 * STATIC_CAMERA_MAX_RESIDUAL
    assert not shake.static_camera


def test_a_synthetic_clip_filmed_by_a_panning_camera_is_not_static():
    clip = render_clip_with_masks("target", 40, 0, width=240, height=160)
    frames = np.stack([clip.frames[i, i // 2 : i // 2 + 120, i : i + 120] for i in range(40)])
    masks = np.stack([clip.masks[i, i // 2 : i // 2 + 120, i : i + 120] for i in range(40)])
    est = estimate_plate(frames, masks)
    assert not est.static_camera and est.residual > 2 * STATIC_CAMERA_MAX_RESIDUAL


def test_bad_inputs_are_refused():
    frames = np.zeros((3, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="masks"):
        estimate_plate(frames, np.zeros((3, 32, 31), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        estimate_plate(frames.astype(np.float32), np.zeros((3, 32, 32), np.float32))
    with pytest.raises(ValueError, match="no frame"):
        estimate_plate(frames[:0], np.zeros((0, 32, 32), np.float32))


# -- the camera check's threshold, measured on a real clip --------------------------------------


def _tri(v: np.ndarray, period: float) -> np.ndarray:
    v = np.mod(v, 2 * period)
    return np.where(v > period, 2 * period - v, v)


@pytest.mark.real_data
@pytest.mark.slow
def test_camera_check_on_taichi2(shared_data):
    """The figures behind plate.STATIC_CAMERA_MAX_RESIDUAL (run with -s to see them).

    taichi2.mp4's camera is still for its first ~4 s and then follows the performer (the doors
    and wall corners behind her move by 10-60 px between frames 19 apart), so the still part must
    pass, the whole clip fail, and the still part filmed through a window panning by a pixel a
    frame or more (a simulated moving camera) fail clearly. Slower pans (0.5 px a frame: 6.0)
    and shakes of +-8 px (7.0) sit at the threshold.
    """
    from motion_transfer.data.video import decoded_ahead, probe_video
    from motion_transfer.pose.detector import PoseExtractor

    video = probe_video(shared_data / "taichi2.mp4")
    whole_idx = set(sample_indices(video.frame_count).tolist())
    still_idx = set(range(0, 2 * MAX_PLATE_FRAMES, 2))  # frames 0..94
    whole, still = [], []
    with PoseExtractor() as extract:
        for i, frame in enumerate(decoded_ahead(video.path)):
            if i not in whole_idx and i > max(still_idx) + 1:
                extract(frame)  # keep the tracking (and its mask smoothing) going
                continue
            _, mask = extract.extract(frame)
            mask = np.zeros(frame.shape[:2], np.float32) if mask is None else mask
            if i in whole_idx:
                whole.append((frame, mask))
            if i in still_idx:
                still.append((frame, mask))
    wf, wm = np.stack([f for f, _ in whole]), np.stack([m for _, m in whole])
    sf, sm = np.stack([f for f, _ in still]), np.stack([m for _, m in still])
    h, w = sf.shape[1:3]
    ww, wh = w - 160, h - 120  # an 800x600 window of the 960x720 frames
    t = np.array(sorted(still_idx))

    def window(offsets):
        f = np.stack([sf[i, y : y + wh, x : x + ww] for i, (x, y) in enumerate(offsets)])
        m = np.stack([sm[i, y : y + wh, x : x + ww] for i, (x, y) in enumerate(offsets)])
        return np.ascontiguousarray(f), np.ascontiguousarray(m)

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    whole_est = estimate_plate(wf, wm)
    seconds = time.perf_counter() - start
    rows = {
        "taichi2 whole clip (camera follows her)": whole_est,
        "taichi2 frames 0-94 (camera still)": estimate_plate(sf, sm),
    }
    for sd in (2, 4):
        noisy = np.clip(sf + rng.normal(0, sd, sf.shape), 0, 255).astype(np.uint8)
        rows[f"  + Gaussian noise sd {sd}"] = estimate_plate(noisy, sm)
    jpeg = np.stack(
        [cv2.imdecode(cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 60])[1], cv2.IMREAD_COLOR) for f in sf]
    )
    rows["  re-encoded as JPEG quality 60"] = estimate_plate(jpeg, sm)
    rows["  800x600 window, still"] = estimate_plate(*window([(80, 60)] * len(t)))
    for speed in (0.1, 0.25, 0.5, 1, 2):
        offsets = [(int(np.round(_tri(speed * ti, 160))), 60) for ti in t]
        rows[f"  800x600 window panning {speed} px a frame"] = estimate_plate(*window(offsets))
    for amp in (1, 2, 4, 8):
        offsets = [(80 + int(rng.integers(-amp, amp + 1)), 60 + int(rng.integers(-amp, amp + 1))) for _ in t]
        rows[f"  800x600 window shaking +-{amp} px"] = estimate_plate(*window(offsets))
    print(f"\nestimate_plate on {len(wf)} frames of 960x720: {seconds:.2f} s")
    print(f"camera check (static up to {STATIC_CAMERA_MAX_RESIDUAL}):")
    for name, est in rows.items():
        print(f"  {name:48s} residual {est.residual:5.1f}  inpainted {100 * est.inpainted_fraction:4.1f}%")

    limit = STATIC_CAMERA_MAX_RESIDUAL
    assert rows["taichi2 frames 0-94 (camera still)"].residual <= limit / 2
    assert rows["  + Gaussian noise sd 2"].static_camera and rows["  re-encoded as JPEG quality 60"].static_camera
    assert rows["taichi2 whole clip (camera follows her)"].residual >= 2 * limit
    for speed in (1, 2):
        assert rows[f"  800x600 window panning {speed} px a frame"].residual >= 2 * limit
