"""Training timed: Lightning's loop against a plain PyTorch loop over the same batches, each model
built anew for every run (the GAN's two optimizer steps included)."""

from __future__ import annotations

import torch

from motion_transfer.bench.generation import untrained_model
from motion_transfer.bench.measure import compared, peak_rss_mb
from motion_transfer.models import GANGenerator


def bench_training(datamodule, models: list[str], steps: int, repeats: int, device: str = "cpu") -> dict:
    """Images a second of `steps` training steps of each model on the datamodule's first batch:
    Lightning against the plain loop."""
    import lightning as L

    out = {}
    batch_size = datamodule.batch_size
    batches = [next(iter(datamodule.train_dataloader())) for _ in range(1)] * steps
    on_device = [{k: v.to(device) for k, v in batch.items()} for batch in batches]
    for name in models:

        def plain():
            torch.manual_seed(0)
            model = untrained_model(name, datamodule.image_size, device, training=True)
            opts = model.configure_optimizers()
            opts = opts if isinstance(opts, (list, tuple)) else [opts]
            model.train()
            for batch in on_device:
                training_step(model, batch, opts)

        def lightning():
            torch.manual_seed(0)
            model = untrained_model(name, datamodule.image_size, training=True)
            # Manual optimisation counts each optimizer's step: a GAN step is two.
            trainer = L.Trainer(
                max_steps=steps if model.automatic_optimization else 2 * steps,
                limit_val_batches=0,
                accelerator="cpu" if device == "cpu" else "gpu",
                devices=1,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                num_sanity_val_steps=0,
            )
            trainer.fit(model, train_dataloaders=torch.utils.data.DataLoader(_Batches(batches), batch_size=None))

        c = compared(plain, lightning, repeats, 0, device)
        images = steps * batch_size
        out[name] = {
            "plain_images_per_s": images / c["baseline_s"],
            "lightning_images_per_s": images / c["ours_s"],
            **c,
            "peak_rss_mb_so_far": peak_rss_mb(),
        }
    return out


class _Batches(torch.utils.data.Dataset):
    """The same pre-made batches for Lightning as for the plain loop."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.batches[i]


def training_step(model, batch: dict, optimizers: list, bf16: bool = False) -> None:
    """One plain training step of `model` on `batch` (a GAN's D then G step), under bfloat16 autocast
    when asked (as Lightning's bf16-mixed: the forward and backward passes in it, weights in float32)."""
    with torch.autocast(batch["image"].device.type, torch.bfloat16, enabled=bf16):
        if isinstance(model, GANGenerator):
            _plain_gan_step(model, batch, *optimizers)
            return
        loss = model.criterion(model.generate(batch["vector"], batch["stick"]), batch["image"])
        optimizers[0].zero_grad(set_to_none=True)
        loss.backward()
        optimizers[0].step()


def _plain_gan_step(model, batch, opt_g, opt_d):
    """One adversarial step of the GAN's losses (the warm-up over: see bench_training) in a plain loop."""
    import torch.nn.functional as F

    stick, real = batch["stick"], batch["image"]
    fake = model.generate(batch["vector"], stick)
    d_real = model.discriminate(stick, real)
    d_loss = 0.5 * (
        model.adversarial_loss(d_real, True) + model.adversarial_loss(model.discriminate(stick, fake.detach()), False)
    )
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    g_fake = model.discriminate(stick, fake)
    g_loss = model.adversarial_loss(g_fake, True, for_d=False) + model.hparams.lambda_l1 * F.l1_loss(fake, real)
    if model.hparams.lambda_fm > 0:
        g_loss = g_loss + model.hparams.lambda_fm * model.feature_matching_loss(g_fake, d_real)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
