import numpy as np

from motion_transfer.pose.crop import (
    CropParams,
    body_extent,
    crop_boxes,
    crop_frame,
    to_crop_coordinates,
    to_frame_coordinates,
)


def _walking_person(n=200, fps=25.0, seed=0):
    """33 landmarks of a person who walks right and grows from 150 to 260 px tall, with jitter."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    height = np.linspace(150, 260, n)
    cx = 200 + 60 * t
    base = rng.uniform(-0.25, 0.25, (33, 2))
    base[:, 1] = np.linspace(-0.45, 0.5, 33)
    lm = np.zeros((n, 33, 4), np.float32)
    lm[..., :2] = base[None] * height[:, None, None] + np.stack([cx, 300 - 0 * t], 1)[:, None, :]
    lm[..., :2] += rng.normal(0, 2.0, (n, 33, 2))  # detector jitter
    lm[..., 3] = 1
    return lm, fps


def test_boxes_hold_the_whole_body_with_margin_in_every_frame():
    lm, fps = _walking_person()
    margin = 0.12
    boxes = crop_boxes(lm, np.ones(len(lm), bool), fps, CropParams(margin=margin))
    ext = body_extent(lm)
    half = boxes[:, 2] / 2
    lo = boxes[:, :2] - half[:, None]
    hi = boxes[:, :2] + half[:, None]
    # Each side keeps at least the margin's share of the free space.
    room = half[:, None] * (1 - 1 / (1 + margin)) * 0.999
    assert np.all(ext[:, :2] - lo >= room)
    assert np.all(hi - ext[:, 2:] >= room)


def test_boxes_follow_size_and_are_smooth():
    lm, fps = _walking_person()
    boxes = crop_boxes(lm, np.ones(len(lm), bool), fps)
    assert boxes[-1, 2] > 1.4 * boxes[0, 2]  # no fixed clip-wide size
    # Jitter of 2 px per landmark must not shake the box: the second difference stays tiny.
    assert np.abs(np.diff(boxes[:, 0], 2)).max() < 1.0
    assert np.abs(np.diff(boxes[:, 2], 2)).max() < 1.0


def test_missing_frames_get_interpolated_boxes():
    lm, fps = _walking_person(60)
    detected = np.ones(60, bool)
    detected[20:30] = False
    lm[20:30] = np.nan
    boxes = crop_boxes(lm, detected, fps)
    assert np.isfinite(boxes).all()


def test_crop_at_the_frame_border_is_padded_not_squashed():
    frame = np.zeros((100, 160, 3), np.uint8)
    frame[:, :80] = (255, 0, 0)
    frame[:, 80:] = (0, 0, 255)
    frame[95:, :] = (0, 255, 0)  # a green floor line at the bottom edge
    box = np.array([150.0, 90.0, 80.0])  # reaches past the right and bottom edges
    crop = crop_frame(frame, box, 64)
    assert crop.shape == (64, 64, 3)
    # Outside the frame the edge pixels repeat: the lower part is the green floor, not black.
    assert (crop[-5:, :, 1] > 200).all()
    assert (crop.sum(axis=2) > 0).all()


def test_crop_coordinates_match_the_pixels():
    frame = np.zeros((240, 320, 3), np.uint8)
    point = np.array([[[201.5, 97.5]]])  # the centre of pixel (201, 97)
    frame[97, 201] = 255
    box = np.array([[190.0, 110.0, 64.0]])
    crop = crop_frame(frame, box[0], 256)  # 4x enlargement
    q = to_crop_coordinates(point, box)[0, 0] * 256
    ys, xs = np.nonzero(crop[..., 0] > 100)
    assert abs(xs.mean() + 0.5 - q[0]) < 1.0 and abs(ys.mean() + 0.5 - q[1]) < 1.0
    np.testing.assert_allclose(to_frame_coordinates(to_crop_coordinates(point, box), box), point, atol=1e-4)


def test_placement_features_say_where_the_crop_lies_in_the_frame():
    from motion_transfer.pose.crop import placement_features

    boxes = np.array(
        [[480, 360, 720], [0, 0, 360], [960, 720, 1440]], dtype=np.float64
    )  # centre; top-left; bottom-right
    np.testing.assert_allclose(placement_features(boxes, (960, 720)), [[0, 0, 1], [-1, -1, 0], [1, 1, 3]], atol=1e-6)


def test_smoothing_windows_come_from_the_parameters():
    lm, fps = _walking_person()
    detected = np.ones(len(lm), bool)
    steady = crop_boxes(lm, detected, fps, CropParams(centre_smoothing_s=0.0, size_smoothing_s=0.0))
    smooth = crop_boxes(lm, detected, fps)
    assert np.abs(np.diff(steady[:, 0], 2)).max() > 3 * np.abs(np.diff(smooth[:, 0], 2)).max()


def test_crop_params_are_importable_from_the_cache_too():
    from motion_transfer.data import cache

    assert cache.CropParams is CropParams
