"""Training through the real Hydra configs: every model, the GAN's alternating steps, resume, DDP."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import compose, last_line, run_script
from motion_transfer.models import GANGenerator
from motion_transfer.training import run_training

LEARNED = ["vanilla", "vanilla_image", "gan", "gan_lab"]
# Small and quick: 80 synthetic frames at 32 px, narrow networks.
QUICK = ["data.synthetic_frames=80", "data.image_size=32", "data.batch_size=8", "data.crop.crop_size=64", "data.progress=false",
         "trainer.enable_progress_bar=false", "trainer.log_every_n_steps=1"]


def _overrides(model, tmp_path, *extra):
    out = [f"model={model}", f"paths.output_dir={tmp_path}", *QUICK, *extra]
    if model != "nearest":
        out.append("model.base_filters=8")
    if model.startswith("gan"):
        out.append("model.d_base_filters=8")
    return out


@pytest.mark.parametrize("model", ["nearest", *LEARNED])
def test_fast_dev_run_through_the_real_configs(model, tmp_path):
    cfg = compose("train", _overrides(model, tmp_path, "+trainer.fast_dev_run=true"), tmp_path / "run")
    best = run_training(cfg)
    assert best.is_file()
    ckpt = torch.load(best, map_location="cpu", weights_only=True)  # primitives only
    assert ckpt["motion_transfer"]["model"] == ("gan" if model == "gan_lab" else model)
    assert ckpt["motion_transfer"]["image_size"] == 32
    assert (tmp_path / "run" / "config_resolved.yaml").is_file()


def test_gan_step_updates_both_networks_each_with_its_own_optimizer(tmp_path):
    cfg = compose("train", _overrides("gan", tmp_path, "trainer.max_epochs=1", "+trainer.limit_train_batches=1", "+trainer.limit_val_batches=0", "logger=none"), tmp_path / "run")
    import hydra
    import lightning as L

    dm = hydra.utils.instantiate(cfg.data)
    dm.prepare_data()
    dm.setup("fit")
    model: GANGenerator = hydra.utils.instantiate(cfg.model, target_key=dm.target_key, target_name=dm.target_name)
    g_before = [p.detach().clone() for p in model.generator.parameters()]
    d_before = [p.detach().clone() for p in model.discriminator.parameters()]
    trainer = L.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, limit_val_batches=0)
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


def test_resume_from_last_checkpoint_continues_at_the_right_epoch(tmp_path):
    first = compose("train", _overrides("vanilla", tmp_path, "trainer.max_epochs=2", "logger=none"), tmp_path / "first")
    run_training(first)
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 1
    second = compose("train", _overrides("vanilla", tmp_path, "trainer.max_epochs=3", "logger=none", f"ckpt_path={last}"), tmp_path / "second")
    run_training(second)
    resumed = torch.load(tmp_path / "second" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["epoch"] == 2
    assert resumed["optimizer_states"]  # optimizer state travelled with it
    # Resuming continued training: more optimizer steps than the first run alone.
    assert resumed["global_step"] > torch.load(last, weights_only=True)["global_step"]


def test_tensorboard_gets_slash_named_losses_and_image_grids(tmp_path):
    cfg = compose("train", _overrides("gan", tmp_path, "trainer.max_epochs=1"), tmp_path / "run")
    run_training(cfg)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    assert {"train/g_loss", "train/d_loss", "train/d_real", "train/d_fake", "val/l1", "val/psnr"} <= scalars
    assert "val/samples" in acc.Tags()["images"]


@pytest.mark.slow
def test_ddp_with_two_cpu_processes_finishes(tmp_path):
    result = run_script("train", *_overrides("vanilla", tmp_path, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.max_epochs=1", "logger=none"),
                        outputs=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    line = last_line(result.stdout)
    assert line.startswith("checkpoint: ") and os.path.isfile(line.split(": ", 1)[1])
    assert "world_size" in result.stderr or "distributed" in result.stderr.lower() or "ddp" in result.stderr.lower()


def test_the_weight_average_draws_outside_training_and_survives_a_checkpoint(tmp_path):
    from motion_transfer.checkpoints import load_generator

    cfg = compose("train", _overrides("gan", tmp_path, "trainer.max_epochs=1", "+trainer.limit_train_batches=3", "logger=none",
                                      "model.ema_decay=0.9"), tmp_path / "run")
    best = run_training(cfg)
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=True)["state_dict"]
    assert int(state["ema_updates"]) == 3
    model = load_generator(last, "gan", 32)
    live = list(model.generator.parameters())
    averaged = list(model.ema_network.parameters())
    assert not any(p.requires_grad for p in averaged)
    assert sum(not torch.equal(a, b) for a, b in zip(live, averaged)) > 0.9 * len(live)
    model.eval()
    stick = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(model.generate(torch.zeros(2, 26), stick), model.ema_network(stick))
    assert best.is_file()


def test_a_bad_weight_average_decay_is_refused(tmp_path):
    result = run_script("train", *_overrides("vanilla", tmp_path, "model.ema_decay=1.5"), outputs=tmp_path)
    assert result.returncode == 2 and "model.ema_decay" in result.stderr


def test_placement_reaches_the_generator_and_defaults_to_where_the_target_usually_stands(tmp_path):
    from motion_transfer.checkpoints import load_generator
    from motion_transfer.loading import prepare_datamodule

    cfg = compose("train", _overrides("vanilla_image", tmp_path, "trainer.max_epochs=1", "+trainer.limit_train_batches=2", "logger=none",
                                      "model.placement=true"), tmp_path / "run")
    best = run_training(cfg)
    datamodule = prepare_datamodule(cfg.data)
    model = load_generator(best, "vanilla_image", 32).eval()
    typical = datamodule.typical_placement()
    torch.testing.assert_close(model.default_placement, torch.from_numpy(typical))
    skeletons = datamodule.training_skeletons()[:4]
    default = model.generate_from_skeletons(skeletons)
    torch.testing.assert_close(default, model.generate_from_skeletons(skeletons, placements=np.tile(typical, (len(skeletons), 1))))
    moved = model.generate_from_skeletons(skeletons, placements=np.tile(typical + [0.5, 0.0, -0.3], (len(skeletons), 1)))
    assert (moved - default).abs().mean() > 1e-4


def test_a_gan_can_start_from_a_trained_unet(tmp_path):
    from motion_transfer.checkpoints import start_from_generator
    from motion_transfer.errors import UserError
    from motion_transfer.loading import prepare_datamodule

    unet = run_training(compose("train", _overrides("vanilla_image", tmp_path / "u", "trainer.max_epochs=1", "+trainer.limit_train_batches=2",
                                                    "logger=none", "model.ema_decay=0.9"), tmp_path / "u" / "run"))
    cfg = compose("train", _overrides("gan", tmp_path / "g", "trainer.max_epochs=1", "+trainer.limit_train_batches=1", "logger=none",
                                      "model.upsample=transpose", "model.ema_decay=0.9", f"init_from={unet}"), tmp_path / "g" / "run")
    import hydra

    datamodule = prepare_datamodule(cfg.data)
    gan = hydra.utils.instantiate(cfg.model, target_key=datamodule.target_key)
    start_from_generator(gan, unet, 32, datamodule.target_key)
    state = torch.load(unet, weights_only=True)["state_dict"]
    for name, value in gan.generator.state_dict().items():  # the U-Net's averaged weights, live and averaged
        torch.testing.assert_close(value, state[f"ema_network.{name}"])
        torch.testing.assert_close(gan.ema_network.state_dict()[name], state[f"ema_network.{name}"])
    gan_ckpt = run_training(cfg)  # and train.py takes it from init_from
    assert torch.load(gan_ckpt, weights_only=True)["motion_transfer"]["init_from"] == str(unet.resolve())
    with pytest.raises(UserError, match="another shape"):
        start_from_generator(hydra.utils.instantiate(cfg.model, base_filters=16), unet, 32, datamodule.target_key)
    with pytest.raises(UserError, match="32 px"):
        start_from_generator(gan, unet, 64, datamodule.target_key)
    both = run_script("train", *_overrides("gan", tmp_path / "b", f"init_from={unet}", f"ckpt_path={unet}"), outputs=tmp_path / "b")
    assert both.returncode == 2 and "not both" in both.stderr


def test_interpolation_blends_a_fine_tuned_gan_with_the_unet_it_started_from(tmp_path):
    """ESRGAN's network interpolation: every weight is (1 - alpha) x start + alpha x fine-tuned."""
    unet = run_training(compose("train", _overrides("vanilla_image", tmp_path / "u", "trainer.max_epochs=1", "+trainer.limit_train_batches=2",
                                                    "logger=none", "model.ema_decay=0.9"), tmp_path / "u" / "run"))
    gan = run_training(compose("train", _overrides("gan", tmp_path / "g", "trainer.max_epochs=1", "+trainer.limit_train_batches=2", "logger=none",
                                                   "model.upsample=transpose", "model.ema_decay=0.9", f"init_from={unet}"), tmp_path / "g" / "run"))
    out = tmp_path / "i"
    common = QUICK[:4]  # the networks' shapes come from the checkpoints
    result = run_script("interpolate", "model=gan", *common, f"ckpt_path={gan}", "alpha=0.25", outputs=out)  # start_from: the init_from gan recorded
    assert result.returncode == 0, result.stderr[-2000:]
    blended = Path(last_line(result.stdout).split(": ", 1)[1])
    assert blended.parent.parent.parent == out / "train" and blended.name == "last.ckpt"  # found by the demo like a trained run
    start, end = (torch.load(p, weights_only=True)["state_dict"] for p in (unet, gan))
    ckpt = torch.load(blended, weights_only=True)
    for name, value in ckpt["state_dict"].items():
        if name.startswith(("ema_network.", "generator.")) and value.is_floating_point():
            expected = 0.75 * start[f"ema_network.{name.split('.', 1)[1]}"] + 0.25 * end[name]
            torch.testing.assert_close(value, expected)
        elif name.startswith("discriminator."):
            torch.testing.assert_close(value, end[name])
    assert ckpt["motion_transfer"]["interpolated"]["alpha"] == 0.25
    assert not list(out.rglob("*.partial"))

    bad_alpha = run_script("interpolate", "model=gan", *common, f"ckpt_path={gan}", "alpha=1.5", outputs=out)
    assert bad_alpha.returncode == 2 and "alpha=1.5" in bad_alpha.stderr and "Traceback" not in bad_alpha.stderr
    no_start = run_script("interpolate", "model=vanilla_image", *common, f"ckpt_path={unet}", outputs=out)
    assert no_start.returncode == 2 and "start_from" in no_start.stderr
    other_shape = run_script("interpolate", "model=gan", *common, f"ckpt_path={gan}", f"start_from={_unet_of_another_shape(tmp_path)}", outputs=out)
    assert other_shape.returncode == 2 and "another shape" in other_shape.stderr


def _unet_of_another_shape(tmp_path):
    wider = [o for o in _overrides("vanilla_image", tmp_path / "o", "+trainer.fast_dev_run=true") if o != "model.base_filters=8"] + ["model.base_filters=16"]
    return run_training(compose("train", wider, tmp_path / "o" / "run"))
