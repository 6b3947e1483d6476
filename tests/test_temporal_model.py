"""The temporal generator (model.temporal=true): each frame drawn from the one drawn before, trained
on consecutive frames, with the previous frame fed back in the demo, evaluation, export and live mode."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from motion_transfer.data.datamodule import ConsecutiveFrames, PairDataset, jitter_pairs
from motion_transfer.models import GANGenerator, VanillaGenerator
from motion_transfer.models.base import FEEDBACK_CHANNELS, feedback
from motion_transfer.models.export import export_onnx
from motion_transfer.pose.skeleton import NEUTRAL_POSE

S = 32


def _unet(**kwargs) -> VanillaGenerator:
    torch.manual_seed(0)
    return VanillaGenerator(
        image_size=S,
        generator="unet",
        base_filters=8,
        upsample="resize",
        placement=True,
        temporal=True,
        **{"temporal_start": 0.0, **kwargs},
    )


def _pairs(numbers: list[int]) -> PairDataset:
    n = len(numbers)
    rng = np.random.default_rng(0)
    return PairDataset(
        np.repeat(NEUTRAL_POSE[None], n, axis=0),
        rng.integers(0, 255, (n, S, S, 3), dtype=np.uint8),
        rng.integers(0, 255, (n, S, S, 3), dtype=np.uint8),
        np.asarray(numbers),
        np.zeros((n, 3), np.float32),
        masks=rng.integers(0, 255, (n, S, S), dtype=np.uint8),
        plates=rng.integers(0, 255, (n, S, S, 3), dtype=np.uint8),
    )


def _poses(n: int) -> np.ndarray:
    """n skeletons, the arms swinging: each frame differs from the one before."""
    poses = np.repeat(NEUTRAL_POSE[None], n, axis=0).astype(np.float32)
    poses[:, 3:7, 1] += 0.1 * np.sin(np.arange(n))[:, None]
    return poses


def test_consecutive_frames_keep_only_frames_that_follow_two_of_their_own():
    pairs = _pairs([0, 1, 2, 3, 5, 6, 7, 10])  # gaps after 3 and 7
    frames = ConsecutiveFrames(pairs)
    assert [int(frames[i]["index"]) for i in range(len(frames))] == [2, 3, 7]
    item = frames[2]  # frame 7: follows 6 and 5
    assert int(item["prev_index"]) == 6 and int(item["prev2_index"]) == 5
    assert torch.equal(item["prev_image"], pairs[5]["image"])
    assert torch.equal(item["prev2_mask"], pairs[4]["mask"])
    assert len(ConsecutiveFrames(_pairs([0, 2, 4, 6]))) == 0


def test_jitter_moves_a_frame_and_the_frames_before_it_together():
    pairs = _pairs(list(range(6)))
    frames = ConsecutiveFrames(pairs)
    batch = {k: torch.stack([frames[i][k] for i in range(len(frames))]) for k in frames[0]}
    for prefix in ("", "prev_", "prev2_"):  # the same picture in every frame: equal after a shared shift
        batch[f"{prefix}image"] = batch["image"].clone()
        batch[f"{prefix}vector"] = batch["vector"].clone()
    moved = jitter_pairs(batch, 4, torch.Generator().manual_seed(1))
    assert not torch.equal(moved["image"], batch["image"])
    for prefix in ("prev_", "prev2_"):
        assert torch.equal(moved[f"{prefix}image"], moved["image"])
        assert torch.equal(moved[f"{prefix}vector"], moved["vector"])


def test_a_temporal_model_reads_the_frame_before():
    model = _unet().eval()
    vector, stick = model.make_inputs(_poses(1))
    with torch.no_grad():
        alone, _ = model.generate_layers(vector, stick)
        someone = feedback(torch.ones(1, 3, S, S), torch.ones(1, 1, S, S))
        after, _ = model.generate_layers(vector, stick, None, someone)
        nobody, _ = model.generate_layers(vector, stick, None, torch.zeros(1, FEEDBACK_CHANNELS, S, S))
    assert torch.equal(alone, nobody)  # no previous frame reads as nobody drawn
    assert (after - alone).abs().max() > 1e-3


def test_frames_are_drawn_in_order_and_chained_calls_equal_one_call():
    model = _unet()
    poses = _poses(9)
    rgb, alpha = model.layers_from_skeletons(poses, batch_size=4)  # batches chained inside the call
    first_rgb, first_alpha = model.layers_from_skeletons(poses[:5], batch_size=64)
    rest_rgb, _ = model.layers_from_skeletons(poses[5:], 64, previous=model.carry(first_rgb, first_alpha))
    assert torch.allclose(rgb, torch.cat([first_rgb, rest_rgb]), atol=1e-5)
    # Each frame depends on those before: drawn alone (nobody before), frame 5 differs.
    alone, _ = model.layers_from_skeletons(poses[5:6], 1)
    assert (alone[0] - rgb[5]).abs().max() > 1e-4
    assert torch.allclose(alpha[:5], first_alpha, atol=1e-5)


def test_training_draws_two_frames_the_second_from_the_first():
    model = _unet().train()
    frames = ConsecutiveFrames(_pairs(list(range(8))))
    batch = {k: torch.stack([frames[i][k] for i in range(len(frames))]) for k in frames[0]}
    prefixes, fakes, mask_loss, _ = model.training_frames(batch)
    assert prefixes == ["prev_", ""]
    assert [f.shape for f in fakes] == [(6, 3, S, S)] * 2
    # The gradient reaches the first frame's drawing through the second: one graph.
    fakes[1].mean().backward()
    assert model.generator.model.model[0].weight.grad.abs().sum() > 0
    assert float(mask_loss.detach()) > 0


def test_single_frames_from_nothing_come_first(monkeypatch):
    model = _unet(temporal_start=0.5).train()
    frames = ConsecutiveFrames(_pairs(list(range(8))))
    batch = {k: torch.stack([frames[i][k] for i in range(len(frames))]) for k in frames[0]}
    monkeypatch.setattr(model, "training_progress", lambda: 0.3)
    assert model.training_frames(batch)[0] == [""]
    monkeypatch.setattr(model, "training_progress", lambda: 0.6)
    assert model.training_frames(batch)[0] == ["prev_", ""]
    # The GAN decides once per step (with its adversarial phase) and says so.
    assert model.training_frames(batch, consecutive=False)[0] == [""]


def test_the_temporal_gan_judges_two_frames_together():
    torch.manual_seed(0)
    gan = GANGenerator(image_size=S, base_filters=8, d_base_filters=8, d_scales=2, upsample="resize", temporal=True)
    first = gan.discriminator.scales[0].model[0]
    assert first.in_channels == 12  # (stick figure, image) of two frames
    with pytest.raises(ValueError, match="model.temporal=true needs a generator that reads images"):
        VanillaGenerator(image_size=S, generator="conv", temporal=True)


def test_the_exported_network_reads_the_previous_frame_like_pytorch(tmp_path):
    model = _unet().eval()
    path = export_onnx(model, tmp_path / "g.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["pose", "placement", "previous"]
    _, stick = model.make_inputs(_poses(1))
    previous = feedback(torch.rand(1, 3, S, S) * 2 - 1, torch.rand(1, 1, S, S))
    placement = torch.tensor([[0.1, -0.2, 0.5]])
    with torch.no_grad():
        rgb, alpha = model.generate_layers(stick, stick, placement, previous)
    image, drawn_alpha = session.run(
        None, {"pose": stick.numpy(), "placement": placement.numpy(), "previous": previous.numpy()}
    )
    assert np.abs(image - rgb.numpy()).max() < 1e-4
    assert np.abs(drawn_alpha - alpha.numpy()).max() < 1e-4


@pytest.mark.slow
def test_train_then_demo_and_evaluate_a_temporal_unet(small):
    from motion_transfer.evaluation.evaluate import run_evaluation
    from motion_transfer.training import run_training

    ckpt = run_training(
        small.compose(
            "train",
            "+trainer.limit_train_batches=2",
            "model.temporal=true",
            "model.temporal_start=0",
            model="vanilla_image",
        )
    )
    result = small.run("demo", f"ckpt_path={ckpt}", model="vanilla_image")
    assert result.returncode == 0, result.stderr[-3000:]
    path = run_evaluation(small.compose("evaluate", f"ckpt_path={ckpt}", model="vanilla_image"))
    metrics = json.loads(path.read_text())
    assert metrics["temporal"]["crop"]["warping_error"] > 0


def test_a_temporal_gan_trains_adversarially(small):
    from motion_transfer.models.checkpoints import load_generator
    from motion_transfer.training import run_training

    ckpt = run_training(
        small.compose("train", "+trainer.limit_train_batches=2", "model.temporal=true", "model.warmup=0", model="gan")
    )
    model = load_generator(ckpt.parent / "last.ckpt", "gan", 32)[0]
    assert model.temporal and model.discriminator.scales[0].model[0].in_channels == 12


def test_a_vector_generator_cannot_be_temporal(small, capsys):
    from conftest import entry_point_error

    line = entry_point_error("train", small.overrides("train", "model.temporal=true", model="vanilla"), capsys)
    assert "model.temporal=true" in line and "unet" in line
