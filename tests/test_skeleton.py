import numpy as np
import pytest

from motion_transfer.pose.skeleton import (
    NUM_JOINTS,
    REDUCED_LANDMARKS,
    body_height,
    forward_fill,
    reduce_landmarks,
    sanitize,
    to_vector,
)


def test_reduce_keeps_the_lab_joints_in_order():
    landmarks = np.zeros((5, 33, 4), np.float32)
    landmarks[..., 0] = np.arange(33)  # x = landmark index
    landmarks[..., 1] = 100 + np.arange(33)
    reduced = reduce_landmarks(landmarks)
    assert reduced.shape == (5, 13, 2)
    assert list(reduced[0, :, 0]) == [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    assert list(REDUCED_LANDMARKS) == [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    assert np.all(reduced[..., 1] == reduced[..., 0] + 100)


def test_reduce_refuses_other_layouts():
    with pytest.raises(ValueError):
        reduce_landmarks(np.zeros((2, 17, 2)))


def test_vector_round_trip_and_range():
    rng = np.random.default_rng(0)
    sk = rng.uniform(0, 1, (7, NUM_JOINTS, 2)).astype(np.float32)
    vec = to_vector(sk)
    assert vec.shape == (7, 26) and vec.min() >= -1 and vec.max() <= 1
    np.testing.assert_allclose(((vec + 1) / 2).reshape(7, NUM_JOINTS, 2), sk, atol=1e-6)  # x, y per joint


def test_body_height_is_nose_to_lowest_ankle():
    sk = np.zeros((1, NUM_JOINTS, 2), np.float32)
    sk[0, 0, 1] = 0.1  # nose
    sk[0, 11, 1] = 0.8
    sk[0, 12, 1] = 0.9  # lower ankle
    assert body_height(sk)[0] == pytest.approx(0.8)


def test_sanitize_flags_hostile_frames():
    rng = np.random.default_rng(1)
    sk = rng.uniform(0.2, 0.8, (5, NUM_JOINTS, 2)).astype(np.float32)
    sk[1, 3, 0] = np.nan
    sk[2, 4, 1] = np.inf
    sk[3, 5, 0] = 1e9
    sk[4] = 0.0
    clean, usable = sanitize(sk)
    assert usable.tolist() == [True, False, False, False, False]
    assert np.isnan(clean[3, 5, 0])


def test_forward_fill_holds_the_last_pose():
    sk = np.arange(4 * NUM_JOINTS * 2, dtype=np.float32).reshape(4, NUM_JOINTS, 2)
    filled = forward_fill(sk, np.array([False, True, False, True]))
    np.testing.assert_array_equal(filled[0], sk[1])  # before the first usable: the first usable
    np.testing.assert_array_equal(filled[2], sk[1])
    np.testing.assert_array_equal(filled[3], sk[3])
    neutral = forward_fill(sk, np.zeros(4, bool))  # nothing usable: a standing pose, still finite
    assert np.isfinite(neutral).all() and neutral.shape == sk.shape
