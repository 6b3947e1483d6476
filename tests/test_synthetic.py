"""The embedded synthetic data set: shapes, determinism, two distinct people, framing, landmarks."""

import numpy as np
import pytest

from motion_transfer.data.synthetic import SYNTHETIC_FPS, _draw_scene, render_clip

W, H = 320, 256
N = 300


@pytest.fixture(scope="module")
def target():
    return render_clip("target", N, 0)


@pytest.fixture(scope="module")
def source():
    return render_clip("source", N, 0)


def _body_height(lm):
    """Nose to the lower ankle, in pixels, per frame."""
    return lm[:, [27, 28], 1].max(axis=1) - lm[:, 0, 1]


def _torso_point(lm):
    """(N, 2) a point on the torso: its centre, moved a little towards the left shoulder so it
    misses the buttons on the centre seam of the target's jacket."""
    centre = 0.5 * (lm[:, [11, 12], :2].mean(axis=1) + lm[:, [23, 24], :2].mean(axis=1))
    return centre + 0.2 * (lm[:, 11, :2] - lm[:, 12, :2])


def _differs(frames, scene, xy):
    """(N,) bool: the frame pixel at each (N, 2) point differs from the empty scene there."""
    x = np.clip(np.round(xy[:, 0]).astype(int), 0, frames.shape[2] - 1)
    y = np.clip(np.round(xy[:, 1]).astype(int), 0, frames.shape[1] - 1)
    n = np.arange(len(frames))
    return np.abs(frames[n, y, x].astype(int) - scene[y, x].astype(int)).sum(axis=-1) > 30


def test_shapes_and_dtypes(target):
    frames, lm = target
    assert SYNTHETIC_FPS == 25
    assert frames.shape == (N, H, W, 3) and frames.dtype == np.uint8
    assert lm.shape == (N, 33, 4) and lm.dtype == np.float32
    assert np.isfinite(lm).all()
    assert np.all(lm[..., 3] == 1.0)
    small_frames, small_lm = render_clip("source", 3, 5, width=96, height=80)
    assert small_frames.shape == (3, 80, 96, 3) and small_lm.shape == (3, 33, 4)
    empty_frames, empty_lm = render_clip("target", 0, 0)
    assert empty_frames.shape == (0, H, W, 3) and empty_lm.shape == (0, 33, 4)


def test_deterministic_and_seeded(target):
    frames, lm = target
    again_frames, again_lm = render_clip("target", 40, 0)
    assert np.array_equal(again_frames, frames[:40]) and np.array_equal(again_lm, lm[:40])
    other_frames, other_lm = render_clip("target", 40, 1)
    assert np.abs(other_lm[..., :2] - lm[:40, :, :2]).mean() > 2.0
    assert not np.array_equal(other_frames, frames[:40])


def test_invalid_arguments():
    with pytest.raises(ValueError, match="target"):
        render_clip("dancer", 10, 0)
    with pytest.raises(ValueError):
        render_clip("target", -1, 0)


def test_left_is_the_persons_left(target, source):
    """Facing the camera, the person's left landmarks are on the image's right."""
    for _, lm in (target, source):
        for left, right in ((2, 5), (7, 8), (11, 12), (23, 24)):
            assert np.median(lm[:, left, 0] - lm[:, right, 0]) > 0


@pytest.mark.parametrize("size", [(W, H), (128, 128), (640, 360), (160, 320), (96, 64)])
@pytest.mark.parametrize("role", ["target", "source"])
def test_whole_body_inside_the_frame(role, size):
    width, height = size
    frames, lm = render_clip(role, 75, 3, width=width, height=height)
    margin = 2.0
    assert lm[..., 0].min() >= margin and lm[..., 0].max() <= width - 1 - margin
    assert lm[..., 1].min() >= margin and lm[..., 1].max() <= height - 1 - margin
    # Nothing of the figure (hair, hands, feet) touches a 1-pixel border: it is still the scene.
    scene = _draw_scene(role, width, height)
    for band in (np.s_[:, :1], np.s_[:, -1:], np.s_[:, :, :1], np.s_[:, :, -1:]):
        assert np.array_equal(frames[band], np.broadcast_to(scene[None], frames.shape)[band])


def test_scene_is_static(target):
    frames, _ = target
    scene = _draw_scene("target", W, H)
    # The top-right corner is far from the person in every frame.
    assert np.array_equal(frames[:, :8, -8:], np.broadcast_to(scene[:8, -8:], (N, 8, 8, 3)))


def test_target_walks_closer_and_away(target):
    """The target's size in pixels changes like a person approaching the camera."""
    _, lm = target
    height = _body_height(lm)
    assert np.percentile(height, 95) >= 1.15 * np.percentile(height, 5)
    # Nearer means lower feet: feet and body height go together.
    feet = lm[:, [27, 28], 1].max(axis=1)
    assert np.corrcoef(feet, height)[0, 1] > 0.8
    # And it drifts left and right.
    hips_x = lm[:, [23, 24], 0].mean(axis=1)
    assert np.ptp(hips_x) > 0.1 * W


def test_the_two_people_differ(target, source):
    (t_frames, t_lm), (s_frames, s_lm) = target, source

    def shoulder_to_leg(lm):
        shoulders = np.abs(lm[:, 11, 0] - lm[:, 12, 0])
        legs = lm[:, [27, 28], 1].max(axis=1) - lm[:, [23, 24], 1].mean(axis=1)
        return np.median(shoulders / legs)

    assert shoulder_to_leg(s_lm) > shoulder_to_leg(t_lm) + 0.05  # broader
    assert np.median(_body_height(s_lm)) > 1.05 * np.median(_body_height(t_lm))  # taller in the frame

    # Outfits: the target's top is white, the source wears a blue gi (colour on the torso).
    def torso_colour(frames, lm):
        mid = _torso_point(lm)
        x, y = np.round(mid[:, 0]).astype(int), np.round(mid[:, 1]).astype(int)
        return np.median(frames[np.arange(len(frames)), y, x].astype(int), axis=0)

    t_col, s_col = torso_colour(t_frames, t_lm), torso_colour(s_frames, s_lm)
    assert t_col.min() > 170
    assert s_col[2] > s_col[0] + 60
    # And they move differently: the karateka's arms move in fast bursts (90th percentile of the
    # elbow and wrist speeds, in body heights per frame).
    speed = [
        np.percentile(np.linalg.norm(np.diff(lm[:, 13:17, :2], axis=0), axis=-1) / _body_height(lm)[1:, None], 90)
        for lm in (t_lm, s_lm)
    ]
    assert speed[1] > 2 * speed[0]


@pytest.mark.parametrize("role", ["target", "source"])
def test_landmarks_sit_on_the_drawn_body(role, target, source):
    """The torso centre and the limb joints are drawn where the landmarks say."""
    frames, lm = target if role == "target" else source
    scene = _draw_scene(role, W, H)
    assert _differs(frames, scene, _torso_point(lm)).mean() > 0.97
    joints = [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    hits = np.stack([_differs(frames, scene, lm[:, j, :2]) for j in joints], axis=1)
    assert hits.mean() > 0.95


def test_poses_are_varied(target, source):
    (_, t_lm), (_, s_lm) = target, source
    wrists_y = t_lm[:, [15, 16], 1]
    assert (wrists_y < t_lm[:, [0], 1]).any()  # a hand above the head
    assert (wrists_y > t_lm[:, [23, 24], 1]).any()  # hands hanging below the hips
    reach = np.abs(t_lm[:, [15, 16], 0] - t_lm[:, [11, 12], 0]) / _body_height(t_lm)[:, None]
    assert reach.max() > 0.25  # an arm out to the side
    # The karateka lifts a foot well off the floor (a kick) at some point.
    lift = np.abs(s_lm[:, 27, 1] - s_lm[:, 28, 1]) / _body_height(s_lm)
    assert lift.max() > 0.15

    # Knees bend: the hip-knee-ankle angle goes well below straight.
    def knee_angle(lm, hip, knee, ankle):
        a, b = lm[:, hip, :2] - lm[:, knee, :2], lm[:, ankle, :2] - lm[:, knee, :2]
        cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        return np.degrees(np.arccos(np.clip(cos, -1, 1)))

    assert knee_angle(s_lm, 23, 25, 27).min() < 120 or knee_angle(s_lm, 24, 26, 28).min() < 120
