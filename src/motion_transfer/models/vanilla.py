"""The direct networks: skeleton -> image trained with a reconstruction loss (the lab's "vanilla")."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..networks import ConvDecoderGenerator, MLPGenerator, UNetGenerator, init_weights
from ..skeleton import VECTOR_SIZE
from .base import PoseToImageModule, check_choice

#: Generator kinds and the input each one reads.
GENERATOR_INPUTS = {"mlp": "vector", "conv": "vector", "unet": "stick"}
RECONSTRUCTION_LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss}


#: Features a network gets when it reads the placement (crop.placement_features).
PLACEMENT_FEATURES = 3


def build_generator(kind: str, image_size: int, base_filters: int, norm: str, upsample: str, dropout: bool = False,
                    placement: bool = False) -> nn.Module:
    """mlp: the lab's 26 -> 256 -> 512 -> 1024 -> 3*S*S network; conv: a DCGAN-style decoder from
    the same vector; unet: a pix2pix U-Net from the stick-figure image. With `placement`, 3 more
    input features (vector) or channels (stick figure)."""
    extra = PLACEMENT_FEATURES if placement else 0
    if kind == "mlp":
        return MLPGenerator(VECTOR_SIZE + extra, image_size)
    if kind == "conv":
        return init_weights(ConvDecoderGenerator(VECTOR_SIZE + extra, image_size, base_filters, norm, upsample))
    if kind == "unet":
        return init_weights(UNetGenerator(3 + extra, 3, image_size, base_filters, norm, dropout, upsample))
    raise ValueError(f"model.generator={kind!r} is not known; use one of {', '.join(GENERATOR_INPUTS)}")


class VanillaGenerator(PoseToImageModule):
    """A network from skeleton to image, trained with MSE (or L1) and Adam.

    `generator=mlp` reproduces the lab's network exactly; `conv` (the default) decodes the same
    26-vector with transposed convolutions, which generalises better; `unet` reads the stick figure.
    """

    model_name = "vanilla"

    def __init__(
        self,
        image_size: int = 64,
        generator: str = "conv",
        base_filters: int = 64,
        norm: str = "batch",
        upsample: str = "transpose",
        dropout: bool = False,
        placement: bool = False,
        loss: str = "mse",
        ema_decay: float = 0.0,
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        target_key: str = "",
        target_name: str = "",
        grid_size: int = 8,
    ):
        super().__init__(image_size, target_key, target_name, grid_size)
        check_choice("model.generator", generator, GENERATOR_INPUTS)
        check_choice("model.loss", loss, RECONSTRUCTION_LOSSES)
        self.save_hyperparameters()
        self.input_kind = GENERATOR_INPUTS[generator]
        self.net = build_generator(generator, image_size, base_filters, norm, upsample, dropout, placement)
        self.criterion = RECONSTRUCTION_LOSSES[loss]
        self.enable_ema("net", ema_decay)
        if placement:
            self.enable_placement()

    def generate(self, vector: torch.Tensor, stick: torch.Tensor, placement: torch.Tensor | None = None) -> torch.Tensor:
        return self.network_for_mode()(self.network_input(vector, stick, placement))

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        fake = self.generate(batch["vector"], batch["stick"], batch.get("placement"))
        loss = self.criterion(fake, batch["image"])
        self.log(f"train/{self.hparams.loss}", loss, prog_bar=True, batch_size=len(fake))
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.net.parameters(), lr=self.hparams.lr, betas=(self.hparams.beta1, self.hparams.beta2))


class VanillaImageGenerator(VanillaGenerator):
    """Stick-figure image -> image with a pix2pix U-Net and an L1 loss."""

    model_name = "vanilla_image"

    def __init__(self, image_size: int = 64, generator: str = "unet", base_filters: int = 64, norm: str = "batch",
                 upsample: str = "transpose", dropout: bool = False, placement: bool = False, loss: str = "l1", ema_decay: float = 0.0,
                 lr: float = 2e-4, beta1: float = 0.5, beta2: float = 0.999, target_key: str = "", target_name: str = "", grid_size: int = 8):
        super().__init__(image_size, generator, base_filters, norm, upsample, dropout, placement, loss, ema_decay, lr, beta1, beta2,
                         target_key, target_name, grid_size)
