"""Hostile skeleton values (NaN, infinities, far away, all zero) never crash and give finite output."""

import warnings

import hydra
import numpy as np
import pytest
import torch

from motion_transfer.models import NearestNeighbourGenerator
from motion_transfer.models.loading import model_config
from motion_transfer.pose.drawing import render_stick_figures
from motion_transfer.pose.retarget import median_smooth, normalize_poses
from motion_transfer.pose.skeleton import NEUTRAL_POSE, to_vector


def _hostile(n=8):
    rng = np.random.default_rng(0)
    sk = (NEUTRAL_POSE[None] + rng.normal(0, 0.02, (n, 13, 2))).astype(np.float32)
    sk[1, 4] = np.nan
    sk[2] = np.inf
    sk[3, 7] = -np.inf
    sk[4, 2] = 1e12
    sk[5] = 0.0
    sk[6, :, 0] = np.nan
    return sk


MODELS = ["nearest", "vanilla", "vanilla_image", "gan", "gan_lab"]


def _model(name):
    if name == "nearest":
        model = NearestNeighbourGenerator(image_size=32)
        good = NEUTRAL_POSE[None] + np.random.default_rng(1).normal(0, 0.05, (5, 13, 2)).astype(np.float32)
        model.set_index(torch.from_numpy(to_vector(good)), torch.zeros(5, 3, 32, 32), torch.arange(5))
        return model
    extra = {"d_base_filters": 8} if name.startswith("gan") else {}
    return hydra.utils.instantiate(model_config(name), image_size=32, base_filters=8, **extra)


@pytest.mark.parametrize("name", MODELS)
def test_every_model_gives_finite_images_and_warns(name):
    model = _model(name)
    with pytest.warns(UserWarning, match="unusable"):
        out = model.generate_from_skeletons(_hostile())
    assert out.shape == (8, 3, 32, 32) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", MODELS)
def test_all_unusable_input_still_gives_finite_images(name):
    with pytest.warns(UserWarning):
        out = _model(name).generate_from_skeletons(np.full((3, 13, 2), np.nan, np.float32))
    assert torch.isfinite(out).all()


def test_clean_input_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _model("nearest").generate_from_skeletons(NEUTRAL_POSE[None].repeat(2, 0))


def test_rendering_hostile_values_draws_what_it_can():
    images = render_stick_figures(_hostile(), 32)
    assert images.shape == (8, 32, 32, 3)
    assert images[0].any() and images[1].any()  # a missing elbow still leaves the other limbs


def test_normalisation_and_smoothing_with_hostile_frames():
    sk = _hostile(8)
    sk = np.concatenate([sk, np.repeat(NEUTRAL_POSE[None], 20, 0)])
    with np.errstate(all="ignore"):
        for mode in ("global", "center_scale", "none"):
            out = normalize_poses(sk, np.repeat(NEUTRAL_POSE[None], 10, 0), mode)
            assert out.shape == sk.shape
            assert np.isfinite(out[8:]).all()  # clean frames stay clean
        smoothed = median_smooth(sk, 5)
    assert smoothed.shape == sk.shape and np.isfinite(smoothed[10:]).all()
