"""Training through the real Hydra configs: every model, the GAN's alternating steps, resume, DDP,
weight averaging, placement, starting from another run's generator and network interpolation."""

import math

import hydra
import lightning as L
import numpy as np
import pytest
import torch

from conftest import TRAINED_ALONE, compose, printed_path, user_error
from motion_transfer.models import GENERATOR_CLASSES, GANGenerator
from motion_transfer.models.checkpoints import load_generator, start_from_generator
from motion_transfer.models.ema import UPDATE_EVERY
from motion_transfer.models.identity import IDENTITY_KEY, checkpoint_identity
from motion_transfer.runtime.errors import UserError
from motion_transfer.training import run_training

CLASSES = {
    "nearest": "NearestNeighbourGenerator",
    "vanilla": "VanillaGenerator",
    "vanilla_image": "VanillaGenerator",
    "gan": "GANGenerator",
    "gan_lab": "GANGenerator",
    "warp": "WarpGenerator",
}


@pytest.mark.parametrize("model", TRAINED_ALONE)  # the enhancer trains from another run: tests/test_enhancer.py
def test_fast_dev_run_through_the_real_configs(model, small):
    cfg = small.compose("train", "+trainer.fast_dev_run=true", model=model)
    best = run_training(cfg)
    assert best.is_file()
    ckpt = torch.load(best, map_location="cpu", weights_only=True)  # primitives only
    identity = checkpoint_identity(ckpt)
    assert identity["model"] == model and identity["class"] == CLASSES[model]  # gan_lab records itself
    assert identity["image_size"] == 32 and identity["target_name"] == "synthetic-target"
    loaded, _ = load_generator(best, model, 32)
    assert type(loaded) is GENERATOR_CLASSES[CLASSES[model]] and loaded.model_name == model
    assert (best.parent.parent / "config_resolved.yaml").is_file()


@pytest.mark.parametrize("name", ["vanilla", "vanilla_image", "gan", "gan_lab"])
def test_every_model_config_builds_its_class_with_its_defaults(name):
    from motion_transfer.models.loading import model_class, model_config

    cfg = model_config(name)
    model = hydra.utils.instantiate(cfg, image_size=32, base_filters=8)
    assert model_class(cfg) is type(model) and type(model).__name__ == CLASSES[name]
    assert model.model_name == cfg.name == name and model.learns and not model.indexed_in_one_epoch
    assert model.generator_networks()[0] is model.generator
    expected = {  # (placement, weight average, what the network reads)
        "vanilla": (False, 0.0, "vector"),
        "vanilla_image": (True, 0.995, "stick"),
        "gan": (True, 0.995, "stick"),
        "gan_lab": (False, 0.0, "vector"),
    }[name]
    assert (model.uses_placement, model.ema_decay, model.input_kind) == expected
    assert model.inference_network() is (model.ema_generator if model.ema_decay > 0 else model.generator)
    assert len(model.generator_networks()) == (2 if model.ema_decay > 0 else 1)
    assert model.preferred_checkpoint == ("last" if isinstance(model, GANGenerator) else "best")


def test_the_classes_say_what_kind_of_model_they_are():
    from motion_transfer.models import NearestNeighbourGenerator, VanillaGenerator

    assert set(GENERATOR_CLASSES) == {
        "NearestNeighbourGenerator",
        "VanillaGenerator",
        "GANGenerator",
        "EnhancerGenerator",
        "WarpGenerator",
    }
    assert not NearestNeighbourGenerator.learns and NearestNeighbourGenerator.indexed_in_one_epoch
    assert not NearestNeighbourGenerator.takes_augmentation
    assert VanillaGenerator.takes_augmentation and GANGenerator.takes_augmentation
    assert [cls().model_name for cls in (NearestNeighbourGenerator, VanillaGenerator, GANGenerator)] == [
        "nearest",
        "vanilla",
        "gan",
    ]


def test_gan_step_updates_both_networks_each_with_its_own_optimizer(small):
    cfg = small.compose("train", "model.warmup=0", model="gan")
    dm = hydra.utils.instantiate(cfg.data)
    dm.prepare_data()
    dm.setup("fit")
    model: GANGenerator = hydra.utils.instantiate(cfg.model, target_key=dm.target_key, target_name=dm.target_name)
    g_before = [p.detach().clone() for p in model.generator.parameters()]
    d_before = [p.detach().clone() for p in model.discriminator.parameters()]
    trainer = L.Trainer(
        max_steps=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule=dm)
    g_changed = sum(not torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters()))
    d_changed = sum(not torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters()))
    assert g_changed > 0.9 * len(g_before) and d_changed > 0.9 * len(d_before)
    opt_g, opt_d = (o.optimizer if hasattr(o, "optimizer") else o for o in trainer.optimizers)
    g_ids = {id(p) for group in opt_g.param_groups for p in group["params"]}
    d_ids = {id(p) for group in opt_d.param_groups for p in group["params"]}
    assert g_ids == {id(p) for p in model.generator.parameters()}
    assert d_ids == {id(p) for p in model.discriminator.parameters()}
    assert not g_ids & d_ids
    assert model.automatic_optimization is False


def test_resume_from_last_checkpoint_continues_at_the_right_epoch(small):
    run_training(small.compose("train", "trainer.max_epochs=2", model="vanilla"))
    (last,) = small.outputs.glob("train/*/checkpoints/last.ckpt")
    first = torch.load(last, weights_only=True)
    assert first["epoch"] == 1
    resumed_run = run_training(small.compose("train", "trainer.max_epochs=3", f"ckpt_path={last}", model="vanilla"))
    resumed = torch.load(resumed_run.parent / "last.ckpt", weights_only=True)
    assert resumed_run.parent != last.parent  # the resumed run has its own folder
    assert resumed["epoch"] == 2
    assert resumed["optimizer_states"]  # optimizer state travelled with it
    # Resuming continued training: more optimizer steps than the first run alone.
    assert resumed["global_step"] > first["global_step"]
    # Nothing left to train: one line that says so, not Lightning's traceback.
    for max_epochs in (2, 1):
        cfg = small.compose("train", f"trainer.max_epochs={max_epochs}", f"ckpt_path={last}", model="vanilla")
        with pytest.raises(UserError, match=rf"already trained 2 epochs, so trainer.max_epochs={max_epochs} is"):
            run_training(cfg)


def test_the_best_checkpoint_holds_the_weights_alone_and_a_resume_from_it_says_so(trained, small):
    best = trained.ckpts["vanilla"]
    assert best.name.startswith("best") and "optimizer_states" not in torch.load(best, weights_only=True)
    assert torch.load(trained.last("vanilla"), weights_only=True)["optimizer_states"]
    message = user_error(
        run_training, small.compose("train", f"ckpt_path={best}", "trainer.max_epochs=5", model="vanilla")
    )
    assert "weights alone" in message and "last.ckpt" in message, message


def test_tensorboard_gets_slash_named_losses_and_image_grids(small):
    # No warm-up, so that the discriminator's losses are logged from the first step.
    overrides = ["logger=tensorboard", "+trainer.limit_train_batches=2", "model.warmup=0"]
    best = run_training(small.compose("train", *overrides, model="gan"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(best.parent.parent / "tensorboard"))
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    assert {"train/g_loss", "train/d_loss", "train/d_real", "train/d_fake", "val/l1", "val/psnr"} <= scalars
    assert "val/samples" in acc.Tags()["images"]


@pytest.mark.slow
def test_ddp_runs_two_processes_that_share_the_epoch(small):
    """trainer=ddp on the CPU: two processes (gloo), each on half of the training frames."""
    result = small.run("train", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", model="vanilla")
    assert result.returncode == 0, result.stderr[-3000:]
    ckpt = printed_path(result, "checkpoint")
    assert ckpt.is_file()
    # Both ranks joined one process group of two.
    assert "GLOBAL_RANK: 0, MEMBER: 1/2" in result.stderr and "GLOBAL_RANK: 1, MEMBER: 2/2" in result.stderr
    # Each optimizer step saw a batch from each rank: one epoch took the steps of half the frames.
    train_frames = len(small.datamodule().train_set)
    batch = 8
    per_rank = math.ceil(train_frames / 2) // batch  # DistributedSampler pads, last short batch dropped
    assert per_rank < train_frames // batch
    assert torch.load(ckpt.parent / "last.ckpt", weights_only=True)["global_step"] == per_rank


def test_the_weight_average_draws_outside_training_and_survives_a_checkpoint(trained):
    last = trained.last("gan")
    state = torch.load(last, weights_only=True)["state_dict"]
    # The first batch, then one update every UPDATE_EVERY batches: 3 batches make 1 + 2 // UPDATE_EVERY.
    assert int(state["ema_updates"]) == 1 + (3 - 1) // UPDATE_EVERY
    model, ckpt = load_generator(last, "gan", 32)
    assert ckpt["state_dict"].keys() == state.keys() and checkpoint_identity(ckpt)["model"] == "gan"
    assert model.generator_networks() == [model.generator, model.ema_generator]
    live, averaged = list(model.generator.parameters()), list(model.ema_generator.parameters())
    assert not any(p.requires_grad for p in averaged)
    assert sum(not torch.equal(a, b) for a, b in zip(live, averaged)) > 0.9 * len(live)
    assert not model.training and model.inference_network() is model.ema_generator
    vector, stick = torch.zeros(2, 26), torch.rand(2, 3, 32, 32) * 2 - 1
    x = model.network_input(vector, stick)
    with torch.no_grad():
        drawn = model.generate(vector, stick)  # the colours: the network's first three channels
        torch.testing.assert_close(drawn, model.ema_generator(x)[:, :3])
        assert (drawn - model.generator(x)[:, :3]).abs().max() > 0


def test_a_bad_weight_average_decay_is_refused(small):
    message = user_error(run_training, small.compose("train", "model.ema_decay=1.5", model="vanilla"))
    assert "model.ema_decay=1.5" in message


def test_placement_reaches_the_generator_and_defaults_to_where_the_target_usually_stands(trained):
    model, _ = load_generator(trained.ckpts["vanilla_image"], "vanilla_image", 32)
    assert model.uses_placement  # vanilla_image reads it by default
    datamodule = trained.small.datamodule()
    typical = datamodule.typical_placement()
    torch.testing.assert_close(model.default_placement, torch.from_numpy(typical))
    skeletons = datamodule.training_skeletons()[:4]
    default = model.generate_from_skeletons(skeletons)
    placements = np.tile(typical, (len(skeletons), 1))
    torch.testing.assert_close(default, model.generate_from_skeletons(skeletons, placements=placements))
    moved = model.generate_from_skeletons(skeletons, placements=placements + [0.5, 0.0, -0.3])
    assert (moved - default).abs().mean() > 1e-4


def test_a_gan_can_start_from_a_trained_unet(trained, small):
    unet = trained.ckpts["vanilla_image"]
    # The session's GAN was trained with init_from=<that U-Net>: its checkpoints say so.
    assert checkpoint_identity(torch.load(trained.ckpts["gan"], weights_only=True))["init_from"] == str(unet.resolve())
    cfg = small.compose("train", "model.upsample=transpose", model="gan")
    key = small.datamodule().target_key
    gan = hydra.utils.instantiate(cfg.model, target_key=key)
    start_from_generator(gan, unet, 32, key)
    state = torch.load(unet, weights_only=True)["state_dict"]
    for name, value in gan.generator.state_dict().items():  # the U-Net's averaged weights, live and averaged
        torch.testing.assert_close(value, state[f"ema_generator.{name}"])
        torch.testing.assert_close(gan.ema_generator.state_dict()[name], state[f"ema_generator.{name}"])
    torch.testing.assert_close(gan.default_placement, state["default_placement"])
    assert gan.started_from == str(unet.resolve())
    with pytest.raises(UserError, match="another shape"):
        start_from_generator(hydra.utils.instantiate(cfg.model, base_filters=16), unet, 32, key)
    with pytest.raises(UserError, match="32 px"):
        start_from_generator(gan, unet, 64, key)
    with pytest.raises(UserError, match="trained on another target"):
        start_from_generator(gan, unet, 32, "another-target")
    with pytest.raises(UserError, match="looks frames up"):
        start_from_generator(hydra.utils.instantiate(small.compose("train", model="nearest").model), unet, 32, key)
    both = small.compose("train", f"init_from={unet}", f"ckpt_path={unet}", model="gan")
    assert "not both" in user_error(run_training, both)


def _unet_of_another_shape(trained, folder):
    """A checkpoint like the session's U-Net, with twice its filters."""
    from motion_transfer.models import VanillaGenerator

    ckpt = torch.load(trained.ckpts["vanilla_image"], weights_only=True)
    ckpt["hyper_parameters"] = {**ckpt["hyper_parameters"], "base_filters": 16}
    ckpt["state_dict"] = VanillaGenerator(**ckpt["hyper_parameters"]).state_dict()
    path = folder / "wider.ckpt"
    torch.save(ckpt, path)
    return path


def test_interpolation_blends_a_fine_tuned_gan_with_the_unet_it_started_from(trained, small, tmp_path):
    """ESRGAN's network interpolation: every weight is (1 - alpha) x start + alpha x fine-tuned."""
    from motion_transfer.models.blending import run_interpolation
    from motion_transfer.models.checkpoints import find_latest_checkpoint

    unet, gan = trained.ckpts["vanilla_image"], trained.ckpts["gan"]
    # start_from: the init_from the GAN's training recorded
    blended = run_interpolation(small.compose("interpolate", f"ckpt_path={gan}", "alpha=0.25", model="gan"))
    assert blended.parent.parent.parent == small.outputs / "train" and blended.name == "last.ckpt"
    key = checkpoint_identity(torch.load(gan, weights_only=True))["target_key"]
    assert find_latest_checkpoint(small.outputs / "train", "gan", key, 32) == blended  # the demo's choice now
    start, end = (torch.load(p, weights_only=True)["state_dict"] for p in (unet, gan))
    ckpt = torch.load(blended, weights_only=True)
    for name, value in ckpt["state_dict"].items():
        if name.startswith(("ema_generator.", "generator.")) and value.is_floating_point():
            expected = 0.75 * start[f"ema_generator.{name.split('.', 1)[1]}"] + 0.25 * end[name]
            torch.testing.assert_close(value, expected)
        elif name.startswith("discriminator."):
            torch.testing.assert_close(value, end[name])
    assert ckpt[IDENTITY_KEY]["interpolated"]["alpha"] == 0.25
    assert ckpt[IDENTITY_KEY]["interpolated"]["start"] == str(unet.resolve())
    assert not list(small.outputs.rglob("*.partial*"))

    bad_alpha = small.compose("interpolate", f"ckpt_path={gan}", "alpha=1.5", model="gan")
    assert "alpha=1.5" in user_error(run_interpolation, bad_alpha)
    no_start = small.compose("interpolate", f"ckpt_path={unet}", model="vanilla_image")
    assert "start_from" in user_error(run_interpolation, no_start)
    wider = _unet_of_another_shape(trained, tmp_path)
    other_shape = small.compose("interpolate", f"ckpt_path={gan}", f"start_from={wider}", model="gan")
    assert "another shape" in user_error(run_interpolation, other_shape)
    assert "no weights to interpolate" in user_error(run_interpolation, small.compose("interpolate", model="nearest"))


def test_experiment_configs_compose(tmp_path):
    """`python src/train.py experiment=NAME` composes each measured recipe on its clip."""
    from conftest import CONFIG_DIR

    names = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
    assert {"taichi2_vanilla", "taichi2_unet", "taichi2_gan"} <= set(names)
    models = {"taichi2_vanilla": "vanilla", "taichi2_unet": "vanilla_image", "taichi2_gan": "gan"}
    for name in names:
        cfg = compose("train", [f"experiment={name}", f"paths.output_dir={tmp_path}"], tmp_path / name)
        assert cfg.data.kind == "video" and cfg.data.target_video.endswith("shared/data/taichi2.mp4")
        assert cfg.trainer.max_time and cfg.trainer.max_epochs >= 100
        if name in models:
            assert cfg.model.name == models[name]
        hydra.utils.instantiate(cfg.model, image_size=32)  # the recipe's model can be built
