import numpy as np
import pytest

from motion_transfer.pose.drawing import draw_skeletons, images_to_tensor, render_stick_figures, tensor_to_images
from motion_transfer.pose.skeleton import LIMB_COLORS, LIMBS

STANDING = np.array(
    [
        [0.5, 0.15],
        [0.6, 0.28],
        [0.4, 0.28],
        [0.68, 0.42],
        [0.32, 0.42],
        [0.72, 0.55],
        [0.28, 0.55],
        [0.57, 0.55],
        [0.43, 0.55],
        [0.58, 0.72],
        [0.42, 0.72],
        [0.6, 0.9],
        [0.4, 0.9],
    ],
    np.float32,
)


@pytest.mark.parametrize("size", [32, 64, 128, 256, 300])
def test_limbs_are_drawn_in_their_colours_at_any_size(size):
    img = render_stick_figures(STANDING[None], size)[0]
    assert img.shape == (size, size, 3) and img.dtype == np.uint8
    # The middle of the left forearm (elbow 3 -> wrist 5, the last limb drawn) has its colour.
    mid = (STANDING[3] + STANDING[5]) / 2 * size
    limb = LIMBS.index((3, 5))
    np.testing.assert_allclose(img[int(mid[1]), int(mid[0])], LIMB_COLORS[limb], atol=40)
    assert img[0, 0].sum() == 0  # background stays black


def test_anti_aliased_edges_have_intermediate_values():
    img = render_stick_figures(STANDING[None], 128)[0]
    values = np.unique(img[..., 0])
    assert len(values) > 10


def test_nan_joint_leaves_its_limbs_out_without_failing():
    sk = STANDING.copy()[None]
    sk[0, 5] = np.nan  # left wrist
    img = render_stick_figures(sk, 64)[0]
    full = render_stick_figures(STANDING[None], 64)[0]
    assert img.sum() < full.sum() and img.sum() > 0
    far = STANDING.copy()[None]
    far[0, 6] = 1e12
    assert render_stick_figures(far, 64).shape == (1, 64, 64, 3)


def test_overlay_draws_on_a_copy_of_the_frame():
    frames = np.full((2, 90, 160, 3), 80, np.uint8)
    out = draw_skeletons(frames.copy(), np.repeat(STANDING[None], 2, 0) * 90)
    assert (out != 80).any() and (out == 80).any()


def test_tensor_conversions_round_trip():
    img = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    t = images_to_tensor(img)
    assert t.shape == (3, 3, 8, 8) and t.min() >= -1 and t.max() <= 1
    np.testing.assert_array_equal(tensor_to_images(t), img)
