"""Hostile skeleton values (NaN, infinities, far away, all zero) never crash and give finite output."""

import warnings

import hydra
import numpy as np
import pytest
import torch
from hydra.errors import InstantiationException

from motion_transfer.models.kinds import model_kinds, model_names
from motion_transfer.models.loading import model_config
from motion_transfer.pose.drawing import render_stick_figures
from motion_transfer.pose.retarget import median_smooth, normalize_poses
from motion_transfer.pose.skeleton import NEUTRAL_POSE, to_vector
from motion_transfer.runtime.errors import UserError


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


#: The size the models are built at; a model that trains from another run refines a trained one at half its size.
SIZE = 32


def _refining_model(cfg, options: dict, trained):
    """A model with `trains_from` at twice the trained runs' size, each of those options naming the
    first tiny trained run (at SIZE px) it accepts."""
    kind = model_kinds()[cfg.name]
    refused = []
    for ckpt in trained.ckpts.values():
        runs = {option: str(ckpt) for option in kind.trains_from}
        try:
            return hydra.utils.instantiate(cfg, image_size=2 * SIZE, **options, **runs)
        except InstantiationException as err:
            if not isinstance(err.__cause__, UserError):
                raise
            refused.append(str(err.__cause__))
    pytest.fail(f"{cfg.name} refines none of the trained runs: {refused}")


def _model(name, request):
    kind = model_kinds()[name]
    if not kind.learns:
        model = kind.cls(image_size=SIZE)
        good = NEUTRAL_POSE[None] + np.random.default_rng(1).normal(0, 0.05, (5, 13, 2)).astype(np.float32)
        model.set_index(torch.from_numpy(to_vector(good)), torch.zeros(5, 3, SIZE, SIZE), torch.arange(5))
        return model
    cfg = model_config(name)
    options = {key: 8 for key in ("base_filters", "d_base_filters") if key in cfg}
    if kind.trains_from:
        return _refining_model(cfg, options, request.getfixturevalue("trained"))
    return hydra.utils.instantiate(cfg, image_size=SIZE, **options)


@pytest.mark.parametrize("name", model_names())
def test_every_model_gives_finite_images_and_warns(name, request):
    model = _model(name, request)
    with pytest.warns(UserWarning, match="unusable"):
        out = model.generate_from_skeletons(_hostile())
    assert out.shape == (8, 3, model.image_size, model.image_size) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", model_names())
def test_all_unusable_input_still_gives_finite_images(name, request):
    with pytest.warns(UserWarning):
        out = _model(name, request).generate_from_skeletons(np.full((3, 13, 2), np.nan, np.float32))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", model_names(learns=False))
def test_clean_input_gives_no_warning(name, request):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _model(name, request).generate_from_skeletons(NEUTRAL_POSE[None].repeat(2, 0))


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
