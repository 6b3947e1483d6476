import numpy as np
import pytest

from motion_transfer.pose.retarget import clip_stats, median_smooth, normalize_poses
from motion_transfer.pose.skeleton import ankle_point, body_height
from test_drawing import STANDING


def _clip(scale, offset, n=50, seed=0):
    rng = np.random.default_rng(seed)
    sk = (STANDING[None] - 0.5) * scale + 0.5 + np.array(offset, np.float32)
    sk = np.repeat(sk, n, 0)
    sk[:, [3, 4, 5, 6]] += rng.normal(0, 0.02 * scale, (n, 4, 2))  # arms move, body does not
    return sk.astype(np.float32)


def test_a_source_twice_as_tall_maps_onto_the_target_height():
    target = _clip(0.4, (0.0, 0.1))
    source = _clip(0.8, (0.05, -0.05), seed=1)
    out = normalize_poses(source, target, "global")
    assert np.median(body_height(source)) == pytest.approx(2 * np.median(body_height(target)), rel=0.02)
    np.testing.assert_allclose(body_height(out), body_height(target)[0], rtol=0.02)
    # Feet on the target's foot line, horizontally where the target stands.
    np.testing.assert_allclose(out[:, [11, 12], 1].max(1), clip_stats(target).close, atol=1e-3)
    np.testing.assert_allclose(ankle_point(out)[:, 0].mean(), ankle_point(target)[:, 0].mean(), atol=1e-3)


def test_none_and_center_scale():
    target = _clip(0.4, (0.0, 0.1))
    source = _clip(0.8, (0.05, -0.05), seed=1)
    np.testing.assert_array_equal(normalize_poses(source, target, "none"), source)
    cs = normalize_poses(source, target, "center_scale")
    assert np.median(body_height(cs)) == pytest.approx(np.median(body_height(target)), rel=0.02)
    with pytest.raises(ValueError):
        normalize_poses(source, target, "bogus")


def test_median_smoothing_removes_a_one_frame_spike():
    sk = _clip(0.5, (0, 0), n=20)
    spiky = sk.copy()
    spiky[10, 5] += 0.3
    smoothed = median_smooth(spiky, 5)
    assert np.abs(smoothed[10, 5] - sk[10, 5]).max() < 0.05
