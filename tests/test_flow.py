"""Appearance flow (model.flow=true): the network reads a bent reference frame and draws a flow into it, a blend,
colours and alpha; the person is assembled at the output's own resolution from the reference's full-resolution
pixels, in training, the demo, evaluation, export and live mode."""

from __future__ import annotations

import json

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch

from conftest import TINY_DATA, compose, video_size_and_count, write_video
from motion_transfer.data.datasets import jitter_pairs
from motion_transfer.data.synthetic import render_clip
from motion_transfer.models import GANGenerator, VanillaGenerator
from motion_transfer.models.export import export_onnx
from motion_transfer.models.flow import (
    FLOW_OUTPUTS,
    REFERENCE_CHANNELS,
    assemble,
    assemble_native,
    fine_person,
    masked_l1,
    split_outputs,
    training_reference_rows,
)
from motion_transfer.pose.skeleton import NEUTRAL_POSE

S = 32


def _flow_unet(**kwargs) -> VanillaGenerator:
    torch.manual_seed(0)
    return VanillaGenerator(
        image_size=S, generator="unet", base_filters=8, upsample="resize", placement=True, flow=True, **kwargs
    )


def _pattern(side: int) -> np.ndarray:
    """A picture with detail down to single pixels: a 2-px checkerboard over colour ramps."""
    y, x = np.mgrid[:side, :side]
    checker = ((x // 2 + y // 2) % 2) * 80
    return np.stack([checker + x * 150 // side, checker + y * 150 // side, 255 - checker - x * 100 // side], -1).astype(
        np.uint8
    )


def test_the_flow_head_reads_the_reference_and_draws_seven_layers():
    model = _flow_unet().eval()
    first = model.generator.model.model[0]
    assert first.in_channels == 3 + 3 + REFERENCE_CHANNELS  # stick figure, placement, reference
    vector, stick = model.make_inputs(NEUTRAL_POSE[None].repeat(2, axis=0))
    reference = torch.rand(2, REFERENCE_CHANNELS, S, S) * 2 - 1
    with torch.no_grad():
        out = model.generator(model.network_input(vector, stick, None, reference=reference))
    assert out.shape == (2, 4 + FLOW_OUTPUTS, S, S)
    colours, alpha, flow, blend = split_outputs(out)
    assert colours.shape == (2, 3, S, S) and flow.shape == (2, 2, S, S)
    assert alpha.shape == blend.shape == (2, 1, S, S)
    assert 0 <= float(blend.min()) and float(blend.max()) <= 1
    with torch.no_grad():
        rgb, drawn_alpha = model.generate_layers(vector, stick, None, None, reference)
    assert rgb.shape == (2, 3, S, S) and drawn_alpha.shape == (2, 1, S, S)


def test_the_reference_with_the_identity_flow_is_reproduced():
    real = torch.rand(3, 3, S, S) * 2 - 1
    reference = torch.cat([real, torch.ones(3, 1, S, S)], dim=1)
    drawn = torch.zeros(3, 3, S, S)
    rgb, _ = assemble(drawn, torch.ones(3, 1, S, S), torch.zeros(3, 2, S, S), torch.ones(3, 1, S, S), reference)
    assert torch.allclose(rgb, real, atol=1e-5)
    # And at the reference's own resolution, from layers at the network's size: every pixel, unresampled.
    side = 240
    pattern = _pattern(side)
    zeros = np.zeros((S, S), np.float32)
    person, alpha = assemble_native(
        np.zeros((S, S, 3), np.uint8),
        np.ones((S, S), np.float32),
        np.zeros((S, S, 2), np.float32),
        np.ones((S, S), np.float32),
        pattern,
        np.ones((side, side), np.float32),
    )
    assert np.array_equal(person, pattern) and alpha.shape == (side, side) and np.allclose(alpha, 1)
    # Where the reference shows nobody, the drawn colours are used whatever the blend says.
    nobody = np.zeros((side, side), np.float32)
    person, _ = assemble_native(
        np.full((S, S, 3), 200, np.uint8), zeros + 1, np.zeros((S, S, 2), np.float32), zeros + 1, pattern, nobody
    )
    assert int(np.abs(person.astype(int) - 200).max()) <= 1


def test_a_low_resolution_flow_moves_the_full_resolution_pixels():
    side, shift = 256, 8  # a flow of 8 px at 256 px is a quarter of a pixel at the network's 32
    pattern = _pattern(side)
    flow = np.zeros((S, S, 2), np.float32)
    flow[..., 0] = 2.0 * shift / side  # grid_sample's units: the side spans 2
    person, _ = assemble_native(
        np.zeros((S, S, 3), np.uint8),
        np.ones((S, S), np.float32),
        flow,
        np.ones((S, S), np.float32),
        pattern,
        np.ones((side, side), np.float32),
    )
    # Each pixel is taken from `shift` px to its right: the pattern moved left, its 2-px checks intact.
    assert np.abs(person[:, : side - shift].astype(int) - pattern[:, shift:].astype(int)).max() <= 1
    detail = cv2.Laplacian(cv2.cvtColor(person[:, : side - shift], cv2.COLOR_RGB2GRAY), cv2.CV_32F)
    scaled = cv2.resize(cv2.resize(pattern, (S, S), interpolation=cv2.INTER_AREA), (side, side))
    scaled_detail = cv2.Laplacian(cv2.cvtColor(scaled, cv2.COLOR_RGB2GRAY), cv2.CV_32F)
    assert np.abs(detail).mean() > 10 * np.abs(scaled_detail).mean()  # not an upscaled drawing


def test_the_exported_flow_network_equals_pytorch(tmp_path):
    model = _flow_unet().eval()
    model.default_placement = torch.tensor([0.1, -0.2, 0.5])
    path = export_onnx(model, tmp_path / "g.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["pose", "placement", "reference"]
    _, stick = model.make_inputs(NEUTRAL_POSE[None].repeat(2, axis=0))
    reference = torch.cat([torch.rand(2, 3, S, S) * 2 - 1, torch.rand(2, 1, S, S)], dim=1)
    placement = torch.tensor([[0.1, -0.2, 0.5], [0.0, 0.3, 0.4]])
    with torch.no_grad():
        rgb, alpha = model.generate_layers(stick, stick, placement, None, reference)
    image, drawn_alpha = session.run(
        None, {"pose": stick.numpy(), "placement": placement.numpy(), "reference": reference.numpy()}
    )
    assert np.abs(image - rgb.numpy()).max() < 1e-4
    assert np.abs(drawn_alpha - alpha.numpy()).max() < 1e-4


def test_training_references_are_at_least_the_gap_away(small):
    from motion_transfer.models.warp import WarpGenerator

    datamodule = small.datamodule()
    bank = WarpGenerator.indexed_on(datamodule)
    frames = bank.index_frames.numpy()
    rows = training_reference_rows(bank, gap=10)
    assert (rows >= 0).all()
    assert (np.abs(frames[rows] - frames) >= 10).all()
    # Among the frames that far, the nearest poses: closer than a random frame that far, on average.
    vectors = bank.index_vectors.numpy()
    chosen = np.linalg.norm(vectors[rows] - vectors, axis=1).mean()
    shuffled = np.linalg.norm(vectors[np.roll(np.arange(len(frames)), len(frames) // 2)] - vectors, axis=1).mean()
    assert chosen < shuffled


def test_the_flow_options_that_cannot_work_are_refused():
    with pytest.raises(ValueError, match="model.flow=true needs an image generator"):
        VanillaGenerator(image_size=S, generator="conv", flow=True)
    with pytest.raises(ValueError, match="model.flow=true and model.temporal=true"):
        _flow_unet(temporal=True)
    with pytest.raises(ValueError, match="model.alpha=true"):
        _flow_unet(alpha=False)


def test_train_demo_and_evaluate_a_flow_unet_at_native_resolution(small):
    from motion_transfer.evaluation.evaluate import run_evaluation
    from motion_transfer.models.checkpoints import load_generator
    from motion_transfer.models.loading import prepare_data_and_model
    from motion_transfer.training import run_training

    ckpt = run_training(
        small.compose("train", "+trainer.limit_train_batches=3", "model.flow=true", model="vanilla_image")
    )
    model = load_generator(ckpt, "vanilla_image", 32)[0]
    assert model.flow and len(model.references.index_vectors) > 0 and not model.draws_native
    # With the target's store (as the demo and evaluation load it): drawn at the size asked.
    datamodule, model = prepare_data_and_model(small.compose("demo", f"ckpt_path={ckpt}", model="vanilla_image"))
    assert model.draws_native and model.references.store is not None
    skeletons = np.asarray(datamodule.cache.skeletons)[datamodule.val_set.indices.numpy()[:2]]
    layers = model.native_layers(skeletons, [150, 61])
    assert [p.shape for p, _ in layers] == [(150, 150, 3), (61, 61, 3)]
    assert all(a.shape == p.shape[:2] and 0 <= a.min() <= a.max() <= 1 for p, a in layers)
    result = small.run("demo", f"ckpt_path={ckpt}", model="vanilla_image")
    assert result.returncode == 0, result.stderr[-3000:]
    path = run_evaluation(small.compose("evaluate", f"ckpt_path={ckpt}", model="vanilla_image"))
    native = json.loads(path.read_text())["native"]
    assert 0 < native["box_ssim"] <= 1 and native["detail_ratio"] > 0


def test_a_flow_gan_trains_with_its_discriminator_on_the_assembled_person(small):
    from motion_transfer.models.checkpoints import load_generator
    from motion_transfer.training import run_training

    ckpt = run_training(
        small.compose(
            "train",
            "+trainer.limit_train_batches=2",
            "model.flow=true",
            "model.warmup=0",
            "model.lambda_detail=1",  # the detail loss joins the generator's
            model="gan",
        )
    )
    model = load_generator(ckpt.parent / "last.ckpt", "gan", 32)[0]
    assert isinstance(model, GANGenerator) and model.flow
    with torch.no_grad():
        rgb, alpha = model.layers_from_skeletons(NEUTRAL_POSE[None].repeat(3, axis=0))
    assert rgb.shape == (3, 3, 32, 32) and torch.isfinite(rgb).all() and torch.isfinite(alpha).all()


def test_a_checkpoint_without_the_flow_head_loads_and_draws_as_before(trained):
    from motion_transfer.models.checkpoints import load_generator

    ckpt = torch.load(trained.ckpts["vanilla_image"], map_location="cpu", weights_only=False)
    assert "flow" not in ckpt["hyper_parameters"] or not ckpt["hyper_parameters"]["flow"]
    model = load_generator(trained.ckpts["vanilla_image"], "vanilla_image", 32)[0]
    assert not model.flow and not model.draws_native and not hasattr(model, "references")
    layers = model.native_layers(NEUTRAL_POSE[None], [100])
    assert layers[0][0].shape == (100, 100, 3)


@pytest.mark.slow
def test_live_mode_with_a_flow_model_writes_every_frame_of_a_file(small, tmp_path):
    from motion_transfer.live.run import run_live
    from motion_transfer.training import run_training

    ckpt = run_training(
        small.compose("train", "+trainer.limit_train_batches=2", "model.flow=true", model="vanilla_image")
    )
    source = write_video(tmp_path / "source.mp4", render_clip("source", 15, 5)[0])
    cfg = compose(
        "live",
        [
            f"paths.output_dir={small.outputs}",
            *TINY_DATA,
            "model=vanilla_image",
            "model.base_filters=8",
            f"ckpt_path={ckpt}",
            f"source={source}",
            "show=false",
            "pace=false",
        ],
        output_dir=tmp_path / "run",
    )
    video = run_live(cfg)
    assert video_size_and_count(video) == ((320, 256), 15)
    assert json.loads((tmp_path / "run" / "live.json").read_text())["frames"] == 15
    # ONNX Runtime draws the flow model's layers as PyTorch does; OpenCV assembles them at the side asked.
    from motion_transfer.live.generator import LiveGenerator
    from motion_transfer.models.loading import prepare_data_and_model

    _, model = prepare_data_and_model(small.compose("demo", f"ckpt_path={ckpt}", model="vanilla_image"))
    skeleton, placement = NEUTRAL_POSE.astype(np.float64), np.array([0.1, -0.1, 0.4], np.float32)
    onnx = LiveGenerator(model, "onnx", tmp_path)
    assert (tmp_path / "layers.onnx").exists()
    onnx_person, onnx_alpha = onnx(skeleton, placement, 120)
    torch_person, torch_alpha = LiveGenerator(model, "torch", tmp_path)(skeleton, placement, 120)
    assert onnx_person.shape == (120, 120, 3)
    assert np.abs(onnx_person.astype(int) - torch_person.astype(int)).max() <= 2
    assert np.abs(onnx_alpha - torch_alpha).max() < 1e-3


@pytest.mark.slow
def test_a_portrait_target_gives_a_portrait_flow_transfer(tmp_path):
    """A phone-shaped 1080x1920 clip: trained with the flow head, the demo draws at 1080x1920."""
    from motion_transfer.demo import run_demo
    from motion_transfer.training import run_training

    target = write_video(tmp_path / "portrait.mp4", render_clip("target", 48, 0, width=1080, height=1920)[0])
    source = write_video(tmp_path / "source.mp4", render_clip("source", 6, 1)[0])
    data = [
        f"paths.output_dir={tmp_path / 'out'}",
        "data=video",
        f"data.target_video={target}",
        "data.progress=false",
        "data.gap_s=0.2",
        "data.image_size=32",
        "data.batch_size=8",
        "model=vanilla_image",
        "model.flow=true",
        "model.base_filters=8",
    ]
    ckpt = run_training(
        compose("train", [*data, "logger=none", "trainer.max_epochs=1", "+trainer.limit_train_batches=2"])
    )
    video = run_demo(compose("demo", [*data, f"ckpt_path={ckpt}", f"source_video={source}"]))
    assert video_size_and_count(video.parent / "generated.mp4") == ((1080, 1920), 6)


def test_the_blend_prior_charges_the_drawn_share_of_the_references_person():
    batch = {
        "vector": torch.from_numpy(NEUTRAL_POSE.reshape(1, -1) * 2 - 1).float().repeat(2, 1),
        "stick": torch.zeros(2, 3, S, S),
        "placement": torch.zeros(2, 3),
        "plate": torch.zeros(2, 3, S, S),
        "mask": torch.ones(2, 1, S, S),
        "reference": torch.cat([torch.rand(2, 3, S, S) * 2 - 1, torch.ones(2, 1, S, S)], dim=1),
    }
    plain, charged = _flow_unet().train(), _flow_unet(lambda_blend=1.0).train()
    charged.load_state_dict(plain.state_dict())
    _, _, without, _ = plain.training_output(batch)
    _, _, with_prior, _ = charged.training_output(batch)
    blend = plain.flow_layers(
        plain.generator, batch["vector"], batch["stick"], batch["placement"], batch["reference"]
    ).blend
    assert float(with_prior - without) == pytest.approx(float((1 - blend).mean()), rel=0.05)
    assert float(with_prior - without) > 0


def test_the_held_out_frames_references_are_found_once_as_drawing_finds_them(small):
    datamodule = small.datamodule()
    model = _flow_unet()
    model.pair_references(datamodule)
    select = datamodule.select_set
    assert select.references is not None and select.references.shape == (len(select), REFERENCE_CHANNELS, S, S)
    assert datamodule.train_set.references.shape == (len(datamodule.train_set), REFERENCE_CHANNELS, S, S)
    # The same references drawing finds for those poses, in order (up to the uint8 they are kept in).
    found = model.find_references(select.vectors)
    item = select[len(select) - 1]["reference"]
    assert torch.allclose(item, found[-1], atol=1.0 / 127)


def _patch_batch(real: np.ndarray, x0: int, y0: int, patch: int) -> dict[str, torch.Tensor]:
    """A one-item detail-loss batch on `real` (R, R, 3) uint8: the patch at (x0, y0), its reference the real
    crop itself (all person), its mask all person."""
    side = real.shape[0]
    centres = (torch.arange(patch, dtype=torch.float32) * 2 + 1) / side - 1
    grid = torch.stack(
        [
            (centres + 2 * x0 / side)[None, :].expand(patch, patch),
            (centres + 2 * y0 / side)[:, None].expand(patch, patch),
        ],
        dim=-1,
    )[None]
    crop = torch.from_numpy(real[y0 : y0 + patch, x0 : x0 + patch]).permute(2, 0, 1).float()[None] / 127.5 - 1
    reference = torch.cat(
        [torch.from_numpy(real).permute(2, 0, 1), torch.full((1, side, side), 255, dtype=torch.uint8)]
    )
    return {
        "fine_image": crop,
        "fine_mask": torch.ones(1, 1, patch, patch),
        "fine_reference": reference[None],
        "fine_grid": grid,
        "fine_layer_grid": grid.clone(),
    }


def detail_loss(colours, flow, blend, batch):
    return masked_l1(fine_person(colours, flow, blend, batch), batch)


def test_the_detail_loss_is_zero_for_the_real_pixels_and_charges_a_one_pixel_slip():
    real = _pattern(128)
    batch = _patch_batch(real, x0=40, y0=24, patch=32)
    colours = torch.zeros(1, 3, S, S)  # flat grey: loses wherever the blend does not take the reference
    still, taken = torch.zeros(1, 2, S, S), torch.ones(1, 1, S, S)
    assert float(detail_loss(colours, still, taken, batch)) < 1e-5
    slipped = torch.zeros(1, 2, S, S)
    slipped[:, 0] = 2.0 / 128  # one pixel of the 128-px crop: a quarter of a pixel at the network's 32 px
    assert float(detail_loss(colours, slipped, taken, batch)) > 0.05
    assert float(detail_loss(colours, still, torch.zeros(1, 1, S, S), batch)) > 0.3  # the drawn grey


def test_each_training_item_cuts_a_patch_of_its_larger_crop_on_the_person(small):
    datamodule = small.datamodule()
    model = _flow_unet(lambda_detail=1.0)
    model.pair_references(datamodule)
    train, crops = datamodule.train_set, np.asarray(datamodule.cache.crops)
    side = crops.shape[1]
    assert train.fine is not None and train.fine[2].shape == (len(train), REFERENCE_CHANNELS, side, side)
    torch.manual_seed(1)
    for i in (0, len(train) // 2, len(train) - 1):
        item = train[i]
        assert item["fine_image"].shape == (3, S, S) and item["fine_grid"].shape == (S, S, 2)
        whole = torch.from_numpy(crops[int(train.indices[i])]).permute(2, 0, 1).float()[None] / 127.5 - 1
        at_grid = torch.nn.functional.grid_sample(whole, item["fine_grid"][None], align_corners=False)[0]
        assert torch.allclose(at_grid, item["fine_image"], atol=1e-4)  # the grid says where the patch lies
        assert float(item["fine_mask"].mean()) > 0.1  # on the person
    # Jitter moves the patch on the network's layers with the pose, not in the crop it was cut from.
    batch = {k: torch.stack([train[i][k] for i in range(4)]) for k in train[0]}
    moved = jitter_pairs(batch, max_shift=3, generator=torch.Generator().manual_seed(0))
    pose_shift = (moved["vector"] - batch["vector"]).view(4, -1, 2)[:, 0]
    patch_shift = (moved["fine_layer_grid"] - batch["fine_layer_grid"])[:, 0, 0]
    assert torch.allclose(pose_shift, patch_shift, atol=1e-6) and pose_shift.abs().sum() > 0
    assert torch.equal(moved["fine_grid"], batch["fine_grid"]) and torch.equal(moved["fine_image"], batch["fine_image"])


def test_the_head_refiner_trains_on_head_patches_and_changes_only_the_head_box(small):
    from motion_transfer.models.checkpoints import load_generator
    from motion_transfer.models.head import refine_heads, refined_patches
    from motion_transfer.models.loading import prepare_data_and_model
    from motion_transfer.training import run_training

    with pytest.raises(ValueError, match="model.head_refiner=true"):
        _flow_unet(head_refiner=True)
    ckpt = run_training(
        small.compose(
            "train",
            "+trainer.limit_train_batches=2",
            "model.flow=true",
            "model.lambda_detail=1",
            "model.head_refiner=true",
            model="vanilla_image",
        )
    )
    model = load_generator(ckpt, "vanilla_image", 32)[0]
    assert model.head_refiner is not None and float(model.head_box_share) == pytest.approx(32 / 256)
    # Only the patches centred on the head are refined in training.
    batch = {
        "fine_head": torch.tensor([1.0, 0.0]),
        "fine_layer_grid": torch.zeros(2, S, S, 2),
    }
    rgb = torch.rand(2, 3, S, S) * 2 - 1
    out = refined_patches(model.head_refiner, rgb, torch.zeros(2, 3, S, S), torch.ones(2, 1, S, S), batch)
    assert torch.equal(out[1], rgb[1]) and not torch.equal(out[0], rgb[0])
    # At the output's resolution: the head box changes, the rest of the person stays as assembled.
    _, model = prepare_data_and_model(small.compose("demo", f"ckpt_path={ckpt}", model="vanilla_image"))
    side = 160
    person = (np.random.default_rng(0).random((side, side, 3)) * 255).astype(np.uint8)
    skeleton = NEUTRAL_POSE.astype(np.float64)
    _, stick = model.make_inputs(skeleton[None])
    ((refined, alpha),) = refine_heads(
        model.head_refiner,
        [(person, np.ones((side, side), np.float32))],
        skeleton[None],
        stick,
        float(model.head_box_share),
    )
    changed = np.abs(refined.astype(int) - person.astype(int)).sum(axis=2) > 0
    ys, xs = np.nonzero(changed)
    box = float(model.head_box_share) * side
    assert changed.any() and xs.ptp() < box and ys.ptp() < box
    layers = model.native_layers(skeleton[None], [side])
    assert layers[0][0].shape == (side, side, 3)


def test_native_assembly_works_only_where_the_person_is_and_matches_the_whole_square():
    """The person is assembled in the box its drawn alpha covers; inside it the pixels are those of the whole
    square's assembly (layers resized whole, the reference remapped whole), outside it nobody."""
    rng = np.random.default_rng(0)
    side = 300
    alpha = np.zeros((S, S), np.float32)
    alpha[4:28, 10:20] = 1.0
    colours = (rng.random((S, S, 3)) * 255).astype(np.uint8)
    flow = cv2.GaussianBlur((rng.random((S, S, 2)) - 0.5).astype(np.float32) * 0.05, (9, 9), 3)
    blend = np.full((S, S), 0.8, np.float32)
    y, x = np.mgrid[:side, :side]
    bent = np.stack([x * 200 // side, y * 200 // side, (x + y) * 100 // side], -1).astype(np.uint8)
    bent_alpha = np.ones((side, side), np.float32)
    person, person_alpha = assemble_native(colours, alpha, flow, blend, bent, bent_alpha)

    up = cv2.resize(flow, (side, side), interpolation=cv2.INTER_LINEAR) * np.float32(side / 2)
    moved = cv2.remap(bent, up[..., 0] + x.astype(np.float32), up[..., 1] + y.astype(np.float32), cv2.INTER_CUBIC)
    drawn = cv2.resize(colours, (side, side), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    whole = 0.8 * moved + 0.2 * drawn
    whole_alpha = cv2.resize(alpha, (side, side), interpolation=cv2.INTER_LINEAR)
    inside = whole_alpha > 0.01
    assert np.abs(person.astype(np.float32) - whole)[inside].max() <= 3
    # The window's layers are upsampled by warpAffine, whose bilinear weights step by 1/32: at a hard edge
    # the alpha may differ by that much.
    assert np.abs(person_alpha - whole_alpha).max() <= 1 / 32 + 1e-4
    # Beyond a network pixel from the drawn person: nothing assembled.
    reach = 2 * int(np.ceil(side / S)) + 1
    outside = cv2.dilate((whole_alpha > 0).astype(np.uint8), np.ones((reach, reach), np.uint8)) == 0
    assert outside.mean() > 0.5 and (person[outside] == 0).all() and (person_alpha[outside] == 0).all()
