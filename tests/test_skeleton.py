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


def test_the_facing_is_read_from_the_depth_of_shoulders_and_hips():
    from motion_transfer.pose.skeleton import facing_angles, held_facings

    def body(left_x: float, left_z: float) -> np.ndarray:
        """Landmarks whose left shoulder and hip lie (left_x, left_z) from the right ones (x right, z away)."""
        lm = np.zeros((33, 4), np.float32)
        lm[:, 2] = 5.0
        for left, right in ((11, 12), (23, 24)):
            lm[right, [0, 2]] = (100.0, 0.0)
            lm[left, [0, 2]] = (100.0 + left_x, left_z)
        return lm

    bodies = np.stack([body(40, 0), body(-40, 0), body(0, -40), body(0, 40), body(30, -30)])
    angles = facing_angles(bodies)
    np.testing.assert_allclose(angles[[0, 2, 3, 4]], [0.0, -np.pi / 2, np.pi / 2, -np.pi / 4], atol=1e-6)
    assert abs(abs(angles[1]) - np.pi) < 1e-6  # the left side on the image's left: her back
    missing = np.full((1, 33, 4), np.nan, np.float32)
    flat = body(40, 0)[None].copy()
    flat[..., 2] = 0.0  # a drawn figure's truth has no depth
    assert np.isnan(facing_angles(np.concatenate([missing, flat]))).all()
    held = held_facings(np.concatenate([bodies[:1], missing, bodies[2:3]]), window=1)
    np.testing.assert_allclose(held, [0.0, 0.0, -np.pi / 2], atol=1e-6)  # no person: the last facing held


def test_frames_turned_beyond_the_limit_are_left_out_while_enough_others_remain():
    from motion_transfer.models.nearest import facing_allowed

    frames = np.array([0.0, np.pi, np.pi / 2 - 0.01, np.nan, -3.0])
    allowed = facing_allowed(np.array([0.0, np.nan, 3.1]), frames, np.pi / 2)
    assert allowed.tolist() == [
        [True, False, True, True, False],
        [True, True, True, True, True],  # the asked facing unknown: any frame
        [False, True, True, True, True],  # 3.1 and -3.0 are 0.18 apart across +-pi
    ]
    few = facing_allowed(np.array([np.pi]), np.array([0.0, 0.5, 1.0]), np.pi / 2, k=2)
    assert few.tolist() == [[False, True, True]]  # none within the limit: the k least turned
