"""The direct networks: skeleton -> image trained with a reconstruction loss (the lab's "vanilla").

`model=vanilla` decodes the 26-vector; `model=vanilla_image` is the same class configured with
pix2pix's U-Net on the stick-figure image and an L1 loss (configs/model/vanilla_image.yaml).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from motion_transfer.models.base import check_choice, options_for
from motion_transfer.models.learned import LearnedGenerator

RECONSTRUCTION_LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss}


class VanillaGenerator(LearnedGenerator):
    """A network from skeleton to image, trained with MSE (or L1) and Adam.

    `generator=mlp` reproduces the lab's network exactly; `conv` (the default) decodes the same
    26-vector with transposed convolutions, which generalises better; `unet` reads the stick figure
    (and, with `temporal`, the frame drawn before it).
    """

    def __init__(
        self,
        name: str = "vanilla",
        image_size: int = 64,
        generator: str = "conv",
        base_filters: int = 64,
        norm: str = "batch",
        upsample: str = "transpose",
        dropout: bool = False,
        placement: bool = False,
        loss: str = "mse",
        ema_decay: float = 0.0,
        alpha: bool = True,
        lambda_mask: float = 1.0,
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        target_key: str = "",
        target_name: str = "",
        grid_size: int = 8,
        temporal: bool = False,
        temporal_start: float = 0.5,
        flow: bool = False,
        lambda_blend: float = 0.0,
        lambda_detail: float = 0.0,
        head_refiner: bool = False,
    ):
        check_choice("model.loss", loss, RECONSTRUCTION_LOSSES)
        if not 0.0 <= temporal_start < 1.0:
            raise ValueError(f"model.temporal_start={temporal_start} is a share of the training: use a value in [0, 1)")
        super().__init__(**options_for(super().__init__, locals()))
        self.save_hyperparameters()
        self.criterion = RECONSTRUCTION_LOSSES[loss]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        prefixes, fakes, mask_loss, flow_loss = self.training_frames(batch)
        image_loss = torch.stack([self.criterion(f, batch[f"{p}image"]) for p, f in zip(prefixes, fakes)]).mean()
        n = len(fakes[0])
        self.log(f"train/{self.hparams.loss}", image_loss, prog_bar=True, batch_size=n)
        if self.draws_alpha:
            self.log("train/mask_l1", mask_loss, batch_size=n)
        return image_loss + self.lambda_mask * mask_loss + flow_loss

    def configure_optimizers(self):
        return self.adam(self.generator_parameters(), self.hparams.lr)
