"""pix2pixHD's local enhancer (model=enhancer): a generator at twice the size refining a trained one."""

import shutil

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

from motion_transfer.models.checkpoints import load_generator
from motion_transfer.models.export import export_onnx
from motion_transfer.pose.skeleton import NEUTRAL_POSE

COARSE_SIZE = 32  # the `trained` fixture's size
SIZE = 2 * COARSE_SIZE


def _overrides(coarse) -> tuple[str, ...]:
    return ("data.image_size=64", f"model.coarse_from={coarse}", "model.base_filters=8")


@pytest.fixture(scope="module")
def enhancer(trained, tmp_path_factory):
    """An enhancer trained for 2 batches on a copy of the tiny U-Net, the copy deleted afterwards:
    its checkpoint must hold everything it draws with."""
    from conftest import Small
    from motion_transfer.training import run_training

    small = Small(tmp_path_factory.mktemp("enhancer"))
    coarse = small.outputs / "coarse.ckpt"
    shutil.copy(trained.ckpts["vanilla_image"], coarse)
    ckpt = run_training(small.compose("train", "+trainer.limit_train_batches=2", *_overrides(coarse), model="enhancer"))
    coarse.unlink()
    return small, ckpt


def test_the_enhancer_starts_near_the_upsampled_coarse_output(trained):
    from motion_transfer.models import EnhancerGenerator

    torch.manual_seed(0)
    model = EnhancerGenerator(image_size=SIZE, coarse_from=str(trained.ckpts["vanilla_image"]), base_filters=8)
    model.eval()
    coarse = load_generator(trained.ckpts["vanilla_image"], None, COARSE_SIZE)[0]
    poses = np.repeat(NEUTRAL_POSE[None], 2, axis=0)
    rgb, alpha = model.layers_from_skeletons(poses)
    assert rgb.shape == (2, 3, SIZE, SIZE) and alpha.shape == (2, 1, SIZE, SIZE)
    coarse_rgb, _ = coarse.layers_from_skeletons(poses)
    upsampled = F.interpolate(coarse_rgb, scale_factor=2, mode="bilinear", align_corners=False)
    # Small initial weights: a correction of a few grey levels, not a new picture.
    assert (rgb - upsampled).abs().mean() < 0.1
    assert not any(p.requires_grad for p in model.coarse.parameters())
    assert all(p.requires_grad for p in model.generator.parameters())


def test_a_trained_enhancer_loads_without_its_coarse_checkpoint_and_draws_like_its_onnx(enhancer, tmp_path):
    _, ckpt = enhancer
    model = load_generator(ckpt, "enhancer", SIZE)[0]
    assert model.hparams["coarse"]["class"] == "VanillaGenerator"
    vector, stick = model.make_inputs(np.repeat(NEUTRAL_POSE[None], 1, axis=0))
    placement = torch.tensor([[0.0, 0.1, 0.4]])
    with torch.no_grad():
        rgb, alpha = model.generate_layers(vector, stick, placement)
    session = ort.InferenceSession(str(export_onnx(model, tmp_path / "e.onnx")), providers=["CPUExecutionProvider"])
    image, drawn_alpha = session.run(None, {"pose": stick.numpy(), "placement": placement.numpy()})
    assert np.abs(image - rgb.numpy()).max() < 1e-4
    assert np.abs(drawn_alpha - alpha.numpy()).max() < 1e-4


@pytest.mark.slow
def test_the_demo_runs_an_enhancer(enhancer):
    small, ckpt = enhancer
    result = small.run("demo", "data.image_size=64", f"ckpt_path={ckpt}", model="enhancer")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].startswith("video: ")


@pytest.mark.parametrize(
    ("size", "coarse", "expected"),
    [
        (64, None, "model.coarse_from is not set"),
        (128, "vanilla_image", "was trained at 32 px"),  # not half the size
        (64, "vanilla", "holds a 'vanilla' model"),  # a vector generator
    ],
)
def test_an_enhancer_needs_an_image_generator_at_half_its_size(trained, small, capsys, size, coarse, expected):
    from conftest import entry_point_error

    extra = [f"data.image_size={size}"] + ([f"model.coarse_from={trained.ckpts[coarse]}"] if coarse else [])
    line = entry_point_error("train", small.overrides("train", *extra, model="enhancer"), capsys)
    assert expected in line and "model.coarse_from" in line
