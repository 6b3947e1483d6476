"""Steadiness figures (temporal.py) on clips whose answer is known, and pose smoothing over time."""

import numpy as np
import pytest

from motion_transfer.evaluation.steadiness import TemporalFigures, sequence_figures, yt_slice
from motion_transfer.pose.retarget import (
    check_smoothing,
    median_smooth,
    one_euro_smooth,
    smooth_poses,
    smoothing_figures,
)
from motion_transfer.runtime.errors import UserError
from test_drawing import STANDING


def _panning_clip(n=16, step=2, seed=0):
    """A textured scene the camera pans across by `step` pixels a frame: (n, 96, 128, 3) uint8."""
    import cv2

    rng = np.random.default_rng(seed)
    scene = cv2.GaussianBlur((rng.random((110, 128 + step * n, 3)) * 255).astype(np.uint8), (7, 7), 2)
    return np.stack([scene[8:104, step * t : step * t + 128] for t in range(n)])


def test_a_perfect_copy_is_as_steady_as_the_real_clip():
    real = _panning_clip()
    figures = sequence_figures(np.arange(len(real)), real, real.copy())
    assert figures["pairs"] == len(real) - 1
    assert figures["warping_error"] == pytest.approx(figures["warping_error_real"])
    assert figures["warping_error_real"] < 0.01 and figures["temporal_difference"] == 0.0
    assert figures["flow_valid_share"] > 0.8  # the flow of a plain pan is trusted almost everywhere


def test_flicker_and_frozen_output_score_worse_than_a_copy():
    real = _panning_clip()
    numbers = np.arange(len(real))
    rng = np.random.default_rng(1)
    flicker = np.clip(real + rng.normal(0, 10, real.shape), 0, 255).astype(np.uint8)
    frozen = np.repeat(real[:1], len(real), axis=0)
    steady_offset = np.clip(real.astype(int) + 20, 0, 255).astype(np.uint8)  # wrong colour, but steady
    copy, noisy, still, offset = (sequence_figures(numbers, real, f) for f in (real, flicker, frozen, steady_offset))
    assert noisy["warping_error"] > 0.02 > copy["warping_error"] + 0.01
    assert still["warping_error"] > copy["warping_error"] + 0.01  # it does not move with the scene
    assert noisy["temporal_difference"] > 0.02 and still["temporal_difference"] > 0.01
    # A per-frame error that stays put is not flicker.
    assert offset["warping_error"] < copy["warping_error"] + 0.005 and offset["temporal_difference"] < 0.005


def test_only_consecutive_frames_make_pairs():
    real = _panning_clip(n=8)
    figures = TemporalFigures(["a"])
    for number in (0, 1, 2, 5, 6, 9):  # a person missing in frames 3-4 and 7-8 breaks the sequence
        figures.add(number, real[min(number, 7)], {"a": real[min(number, 7)]})
    assert figures.result()["a"]["pairs"] == 3
    assert np.isnan(sequence_figures(np.array([0, 2]), real[:2], real[:2])["warping_error"])


def test_yt_slice_stacks_one_row_of_every_frame():
    real = _panning_clip(n=5)
    picture = yt_slice(real, 40)
    assert picture.shape == (5, 128, 3)
    np.testing.assert_array_equal(picture[3], real[3, 40])


def _walk(n=100, fps=25.0, noise=0.01, seed=0):
    """A standing skeleton swaying sideways (a slow sine), with detection noise."""
    t = np.arange(n) / fps
    clean = np.repeat(STANDING[None], n, 0).astype(np.float64)
    clean[..., 0] += 0.05 * np.sin(2 * np.pi * 0.1 * t)[:, None]
    noisy = clean + np.random.default_rng(seed).normal(0, noise, clean.shape)
    return clean, noisy


def test_one_euro_removes_jitter_and_follows_a_fast_move_with_little_lag():
    clean, noisy = _walk()
    calm = one_euro_smooth(noisy, 25.0, min_cutoff=1.0, beta=0.0)
    figures = smoothing_figures(noisy, calm)
    assert figures["jitter"] < 0.3 * figures["jitter_raw"]
    assert np.abs(calm[10:] - clean[10:]).mean() < np.abs(noisy - clean).mean()
    # A sudden step of the whole body: beta raises the cut-off while the joint moves fast.
    step = np.repeat(STANDING[None], 40, 0).astype(np.float64)
    step[20:, :, 0] += 0.3
    fixed, adaptive = (one_euro_smooth(step, 25.0, min_cutoff=1.0, beta=b) for b in (0.0, 20.0))
    lag_fixed, lag_adaptive = (np.abs(s[22:30] - step[22:30]).mean() for s in (fixed, adaptive))
    assert lag_adaptive < 0.5 * lag_fixed
    # Causal: frames before the step are untouched by it.
    np.testing.assert_allclose(adaptive[:20], step[:20], atol=1e-6)


def test_one_euro_holds_its_value_over_missing_joints():
    clean, _ = _walk(n=30)
    holed = clean.copy()
    holed[10:13, 4] = np.nan
    out = one_euro_smooth(holed, 25.0, min_cutoff=1.0, beta=1.0)
    assert np.isnan(out[10:13, 4]).all() and np.isfinite(out[13:]).all() and np.isfinite(out[:10]).all()


def test_smooth_poses_follows_the_option():
    _, noisy = _walk(n=40)
    noisy = noisy.astype(np.float32)
    np.testing.assert_array_equal(smooth_poses(noisy, {"method": "none"}, 25.0), noisy)
    np.testing.assert_array_equal(smooth_poses(noisy, {"method": "median", "window": 5}, 25.0), median_smooth(noisy, 5))
    euro = smooth_poses(noisy, {"method": "one_euro", "min_cutoff": 1.0, "beta": 0.5}, 25.0)
    np.testing.assert_allclose(euro, one_euro_smooth(noisy, 25.0, 1.0, 0.5), atol=1e-6)


@pytest.mark.parametrize(
    "smoothing, words",
    [
        ({"method": "gaussian"}, ["smoothing.method", "one_euro"]),
        ({"method": "median", "window": 0}, ["smoothing.window"]),
        ({"method": "one_euro", "min_cutoff": 0, "beta": 1}, ["smoothing.min_cutoff"]),
        ({"method": "one_euro", "min_cutoff": 1, "beta": "fast"}, ["smoothing.beta"]),
    ],
)
def test_bad_smoothing_options_say_which(smoothing, words):
    with pytest.raises(UserError) as error:
        check_smoothing(smoothing)
    assert all(word in str(error.value) for word in words)


@pytest.mark.real_data
def test_smoothing_figures_on_the_real_source(real_outputs):
    """Prints how each smoothing trades shake against lag on karate1.mp4 (`-s` shows the table)."""
    from motion_transfer.data.cache import SkeletonCache
    from motion_transfer.demo import forward_fill
    from motion_transfer.pose.skeleton import sanitize

    (folder,) = (real_outputs / "cache").glob("karate1-*")
    cache = SkeletonCache.load(folder)
    raw, usable = sanitize(np.asarray(cache.skeletons))
    raw = forward_fill(raw, usable & np.asarray(cache.detected, dtype=bool))
    settings = {
        "median 5": {"method": "median", "window": 5},
        "median 7": {"method": "median", "window": 7},
        "one_euro 4/5": {"method": "one_euro", "min_cutoff": 4.0, "beta": 5.0},
        "one_euro 1/5": {"method": "one_euro", "min_cutoff": 1.0, "beta": 5.0},
    }
    for label, smoothing in settings.items():
        figures = smoothing_figures(raw, smooth_poses(raw, smoothing, cache.fps))
        print(f"{label:>14}: " + ", ".join(f"{k} {v:.4f}" for k, v in figures.items()))
        assert figures["jitter"] < 0.7 * figures["jitter_raw"] and 0 < figures["deviation"] < 0.05
