"""The GAN: generator and discriminator trained in alternating steps (manual optimization)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from motion_transfer.models.base import check_choice, options_for
from motion_transfer.models.learned import LearnedGenerator
from motion_transfer.models.networks import DISCRIMINATORS, define_D

GAN_LOSSES = ("bce", "lsgan", "hinge")


class GANGenerator(LearnedGenerator):
    """Adversarial training with one D step then one G step per batch.

    pix2pix's core: a generator from the stick figure, a conditional PatchGAN discriminator seeing
    (stick figure, image), loss = adversarial + lambda_l1 * L1. pix2pixHD's additions: `d_scales`
    discriminators at halved resolutions, the feature-matching loss (lambda_fm: L1 between D's
    activations on real and generated images, each scale weighted 1/d_scales and each layer
    4/(d_layers+1), as pix2pixHD), and LSGAN's least-squares loss. A warm-up: for the first
    `warmup` share of the training (of trainer.max_time, or of max_epochs, whichever is met
    first) only the reconstruction loss trains the generator, and D waits; then both alternate,
    in one run. With `temporal`, D judges two consecutive frames at once (Everybody Dance Now's
    temporal discriminator), the second drawn from the first; the warm-up draws single frames. The lab's recipe is
    `configs/model/gan_lab.yaml`: vector generator, DCGAN discriminator, BCE only. The
    discriminators return logits; "bce" applies the sigmoid inside the loss
    (binary_cross_entropy_with_logits), the numerically stable form of Sigmoid + BCELoss.
    """

    # val/l1 favours the earliest, blurriest epochs of an adversarial run: use the last one.
    preferred_checkpoint = "last"

    def __init__(
        self,
        name: str = "gan",
        image_size: int = 64,
        generator: str = "unet",
        discriminator: str = "patch",
        base_filters: int = 64,
        d_base_filters: int = 64,
        d_layers: int = 3,
        d_scales: int = 1,
        norm: str = "batch",
        d_norm: str = "batch",
        upsample: str = "transpose",
        dropout: bool = False,
        placement: bool = False,
        conditional: bool = True,
        gan_loss: str = "bce",
        lambda_l1: float = 100.0,
        lambda_fm: float = 0.0,
        warmup: float = 0.0,
        real_label: float = 1.0,
        ema_decay: float = 0.0,
        alpha: bool = True,
        lambda_mask: float = 1.0,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        target_key: str = "",
        target_name: str = "",
        grid_size: int = 8,
        temporal: bool = False,
        flow: bool = False,
        lambda_blend: float = 0.0,
        lambda_detail: float = 0.0,
        head_refiner: bool = False,
    ):
        check_choice("model.discriminator", discriminator, DISCRIMINATORS)
        check_choice("model.gan_loss", gan_loss, GAN_LOSSES)
        if d_scales > 1 and discriminator != "patch":
            raise ValueError(f"model.d_scales={d_scales} needs model.discriminator=patch (the multi-scale PatchGAN)")
        if not 0.0 <= warmup < 1.0:
            raise ValueError(f"model.warmup={warmup} is a share of the training: use a value in [0, 1)")
        super().__init__(**options_for(super().__init__, locals()))
        self.save_hyperparameters()
        self.automatic_optimization = False
        # Conditional: D sees (stick figure, image) stacked on channels; temporal: of two consecutive frames.
        channels = (6 if conditional else 3) * (2 if self.temporal else 1)
        self.discriminator = define_D(discriminator, channels, image_size, d_base_filters, d_layers, d_norm, d_scales)
        self.set_channels_last(self.channels_last)

    def discriminate(self, stick: torch.Tensor, image: torch.Tensor) -> list[list[torch.Tensor]]:
        """D's activations on `image` (with the pose in `stick` when conditional): per scale, each
        layer's, then the logits that the image is real."""
        x = torch.cat([stick, image], dim=1) if self.hparams.conditional else image
        return self.discriminator.features(self.in_layout(x))

    def adversarial_loss(self, scales: list[list[torch.Tensor]], real: bool, for_d: bool = True) -> torch.Tensor:
        """The loss of each scale's logits for the label `real`, averaged over the scales. Hinge's
        generator loss is -D(fake) (for_d=False)."""
        losses = []
        for features in scales:
            logits = features[-1].float()  # the losses in float32 under bfloat16 autocast
            if self.hparams.gan_loss == "hinge":
                loss = F.relu(1.0 - logits if real else 1.0 + logits).mean() if for_d else -logits.mean()
            else:
                target = torch.full_like(logits, self.hparams.real_label if real else 0.0)
                if self.hparams.gan_loss == "lsgan":
                    loss = F.mse_loss(logits, target)
                else:
                    loss = F.binary_cross_entropy_with_logits(logits, target)
            losses.append(loss)
        return torch.stack(losses).mean()

    def feature_matching_loss(self, fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]]) -> torch.Tensor:
        """pix2pixHD's: L1 between D's activations (not the logits) on generated and real images."""
        layer_weight = 4.0 / (self.hparams.d_layers + 1)
        total = fake[0][0].new_zeros((), dtype=torch.float32)
        for fake_scale, real_scale in zip(fake, real):
            for f, r in zip(fake_scale[:-1], real_scale[:-1]):
                total = total + layer_weight * F.l1_loss(f.float(), r.detach().float())
        return total / len(fake)

    def adversarial(self) -> bool:
        """Whether the warm-up is over (D and the adversarial losses train)."""
        return self.hparams.warmup <= 0.0 or self.training_progress() >= self.hparams.warmup

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        # With alpha, the fakes are composites over the plate's crop: D judges whole images either way.
        # Temporal models draw two consecutive frames, stacked on channels for D, one frame else.
        # One reading of the progress per step: the pairs start with the adversarial phase.
        adversarial = self.adversarial()
        prefixes, fakes, g_mask, g_flow = self.training_frames(batch, consecutive=self.temporal and adversarial)
        stick = torch.cat([batch[f"{p}stick"] for p in prefixes], dim=1)
        real = torch.cat([batch[f"{p}image"] for p in prefixes], dim=1)
        fake = torch.cat(fakes, dim=1)
        n = len(real)
        logs = {"train/adversarial": float(adversarial)}

        if adversarial:
            # D step: real pairs towards 1, generated pairs towards 0 (G is not updated: fake.detach()).
            with self.toggled_optimizer(opt_d):
                d_real = self.discriminate(stick, real)
                d_fake = self.discriminate(stick, fake.detach())
                d_loss = 0.5 * (self.adversarial_loss(d_real, True) + self.adversarial_loss(d_fake, False))
                opt_d.zero_grad(set_to_none=True)
                self.manual_backward(d_loss)
                opt_d.step()
            logs.update(
                {
                    "train/d_loss": d_loss,
                    "train/d_real": torch.stack([s[-1].mean() for s in d_real]).mean(),
                    "train/d_fake": torch.stack([s[-1].mean() for s in d_fake]).mean(),
                }
            )

        # G step: stay close to the real image (L1) and the person's mask; after the warm-up also
        # fool D and match its activations on the real image.
        with self.toggled_optimizer(opt_g):
            g_l1 = F.l1_loss(fake, real)
            g_loss = self.hparams.lambda_l1 * (g_l1 + self.lambda_mask * g_mask + g_flow)
            if adversarial:
                g_fake = self.discriminate(stick, fake)
                g_adv = self.adversarial_loss(g_fake, True, for_d=False)
                g_loss = g_loss + g_adv
                logs["train/g_adv"] = g_adv
                if self.hparams.lambda_fm > 0:
                    g_fm = self.feature_matching_loss(g_fake, d_real)
                    g_loss = g_loss + self.hparams.lambda_fm * g_fm
                    logs["train/g_fm"] = g_fm
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(g_loss)
            opt_g.step()

        logs.update({"train/g_loss": g_loss, "train/g_l1": g_l1, "train/g_mask_l1": g_mask})
        self.log_dict(logs, prog_bar=False, batch_size=n)
        self.log("train/g_l1_bar", g_l1, prog_bar=True, batch_size=n, logger=False)

    def configure_optimizers(self):
        return [
            self.adam(self.generator_parameters(), self.hparams.lr_g),
            self.adam(self.discriminator.parameters(), self.hparams.lr_d),
        ]
