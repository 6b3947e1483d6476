"""The GAN: generator and discriminator trained in alternating steps (manual optimization)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..networks import DISCRIMINATORS, define_D
from .base import LearnedGenerator, check_choice

GAN_LOSSES = ("bce", "lsgan")


class GANGenerator(LearnedGenerator):
    """Adversarial training with one D step then one G step per batch.

    Default (pix2pix): U-Net generator from the stick figure, conditional PatchGAN discriminator
    seeing (stick figure, image), loss = adversarial + lambda_l1 * L1. The lab's recipe is
    `configs/model/gan_lab.yaml`: vector generator, DCGAN discriminator, BCE only.
    The discriminators return logits; "bce" applies the sigmoid inside the loss
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
        norm: str = "batch",
        d_norm: str = "batch",
        upsample: str = "transpose",
        dropout: bool = False,
        placement: bool = False,
        conditional: bool = True,
        gan_loss: str = "bce",
        lambda_l1: float = 100.0,
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
    ):
        check_choice("model.discriminator", discriminator, DISCRIMINATORS)
        check_choice("model.gan_loss", gan_loss, GAN_LOSSES)
        super().__init__(
            name,
            image_size,
            generator,
            base_filters,
            norm,
            upsample,
            dropout,
            placement,
            ema_decay,
            alpha,
            lambda_mask,
            target_key,
            target_name,
            grid_size,
        )
        self.save_hyperparameters()
        self.automatic_optimization = False
        # Conditional: D sees (stick figure, image) stacked on channels.
        self.discriminator = define_D(
            discriminator, 6 if conditional else 3, image_size, d_base_filters, d_layers, d_norm
        )

    def discriminate(self, stick: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Logits that `image` is real (for the pose in `stick` when conditional)."""
        return self.discriminator(torch.cat([stick, image], dim=1) if self.hparams.conditional else image)

    def adversarial_loss(self, logits: torch.Tensor, real: bool) -> torch.Tensor:
        target = torch.full_like(logits, self.hparams.real_label if real else 0.0)
        if self.hparams.gan_loss == "lsgan":
            return F.mse_loss(logits, target)
        return F.binary_cross_entropy_with_logits(logits, target)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        stick, real = batch["stick"], batch["image"]
        # With alpha, `fake` is the composite over the plate's crop: D judges whole images either way.
        fake, g_mask = self.training_output(batch)

        # D step: real pairs towards 1, generated pairs towards 0 (G is not updated: fake.detach()).
        with self.toggled_optimizer(opt_d):
            logits_real = self.discriminate(stick, real)
            logits_fake = self.discriminate(stick, fake.detach())
            d_loss = 0.5 * (self.adversarial_loss(logits_real, True) + self.adversarial_loss(logits_fake, False))
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(d_loss)
            opt_d.step()

        # G step: fool D, and stay close to the real image (L1) and the person's mask when lambda_l1 > 0.
        with self.toggled_optimizer(opt_g):
            g_adv = self.adversarial_loss(self.discriminate(stick, fake), True)
            g_l1 = F.l1_loss(fake, real)
            g_loss = g_adv + self.hparams.lambda_l1 * (g_l1 + self.lambda_mask * g_mask)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(g_loss)
            opt_g.step()

        n = len(real)
        self.log_dict(
            {
                "train/g_loss": g_loss,
                "train/g_adv": g_adv,
                "train/g_l1": g_l1,
                "train/g_mask_l1": g_mask,
                "train/d_loss": d_loss,
                "train/d_real": torch.sigmoid(logits_real).mean(),
                "train/d_fake": torch.sigmoid(logits_fake).mean(),
            },
            prog_bar=False,
            batch_size=n,
        )
        self.log("train/g_l1_bar", g_l1, prog_bar=True, batch_size=n, logger=False)

    def configure_optimizers(self):
        betas = (self.hparams.beta1, self.hparams.beta2)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr_g, betas=betas)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.hparams.lr_d, betas=betas)
        return [opt_g, opt_d]
