"""What every generator shares: inputs built from skeletons, validation metrics, image grids."""

from __future__ import annotations

import warnings

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from ..drawing import images_to_tensor, render_stick_figures
from ..ema import make_ema, update_ema
from ..skeleton import forward_fill, sanitize, to_vector


def check_choice(option: str, value: str, allowed) -> None:
    """Refuse an unknown string choice with a message naming the option and the allowed values."""
    if value not in allowed:
        raise ValueError(f"{option}={value!r} is not known; use one of {', '.join(allowed)}")


class PoseToImageModule(L.LightningModule):
    """A generator: skeleton (as a 26-vector and/or a stick-figure image) -> (3, S, S) image in [-1, 1].

    Subclasses set `model_name` and implement `generate(vector, stick, placement)`. `placement`
    (N, 3) says where each crop lies in its frame; generators built with `placement=True` read it,
    and fall back on `default_placement` (where the target usually stands) when none is given.
    Hyperparameters saved in checkpoints are primitives only (`image_size`, `target_key`, ...), so checkpoints load with
    `torch.load(weights_only=True)`, and the demo can refuse a checkpoint made for another model,
    image size or target.
    """

    model_name: str = "base"
    #: Which checkpoint of a run the demo, evaluation and report pick when none is given.
    preferred_checkpoint: str = "best"
    #: Whether training batches may be augmented (data.jitter).
    augment: bool = True

    def __init__(self, image_size: int = 64, target_key: str = "", target_name: str = "", grid_size: int = 8):
        super().__init__()
        self.image_size = int(image_size)
        self.grid_size = int(grid_size)
        self._fixed_batch: dict[str, torch.Tensor] | None = None
        self._trained_attr: str | None = None
        self.ema_decay = 0.0
        self.uses_placement = False
        #: The checkpoint whose generator this one started from (train.py init_from), if any.
        self.started_from: str | None = None

    # -- where the crop lies in the frame ---------------------------------------------------
    def enable_placement(self) -> None:
        """Read placements; `default_placement` is set from the training frames when fitting."""
        self.uses_placement = True
        self.register_buffer("default_placement", torch.zeros(3))

    def on_fit_start(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if self.uses_placement and datamodule is not None and hasattr(datamodule, "typical_placement"):
            self.default_placement = torch.from_numpy(datamodule.typical_placement()).to(self.device)

    def placement_or_default(self, placement: torch.Tensor | None, n: int) -> torch.Tensor:
        if placement is None:
            return self.default_placement.expand(n, -1)
        return placement.to(self.default_placement)

    def network_input(self, vector: torch.Tensor, stick: torch.Tensor, placement: torch.Tensor | None = None) -> torch.Tensor:
        """What the network reads: the vector or the stick figure (`input_kind`), with the placement."""
        return self.with_placement(vector if self.input_kind == "vector" else stick, placement)

    def with_placement(self, x: torch.Tensor, placement: torch.Tensor | None = None) -> torch.Tensor:
        """`x` with the placement appended, as 3 more features (vectors) or 3 more constant
        channels (images), when this generator reads it; else `x` itself."""
        if not self.uses_placement:
            return x
        where = self.placement_or_default(placement, x.shape[0]).to(x.dtype)
        if x.dim() == 2:
            return torch.cat([x, where], dim=1)
        return torch.cat([x, where[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)

    # -- weight averaging -------------------------------------------------------------------
    def enable_ema(self, trained_attr: str, decay: float) -> None:
        """Keep an EMA of the network `trained_attr` (decay in [0, 1); 0: off), used out of training."""
        if not 0.0 <= float(decay) < 1.0:
            raise ValueError(f"model.ema_decay={decay} must be in [0, 1) (0: off, 0.999: a typical average)")
        self._trained_attr, self.ema_decay = trained_attr, float(decay)
        if self.ema_decay > 0:
            self.ema_network = make_ema(getattr(self, trained_attr))
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))

    def inference_network(self) -> nn.Module:
        """The network that draws images outside training: the EMA when there is one."""
        return self.ema_network if self.ema_decay > 0 else getattr(self, self._trained_attr)

    def network_for_mode(self) -> nn.Module:
        """The trained network in training mode; the inference network in eval mode."""
        return getattr(self, self._trained_attr) if self.training else self.inference_network()

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if self.ema_decay > 0:
            update_ema(self.ema_network, getattr(self, self._trained_attr), self.ema_decay, int(self.ema_updates))
            self.ema_updates += 1

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        from ..checkpoints import IDENTITY_KEY

        checkpoint[IDENTITY_KEY] = {
            "model": self.model_name,
            "image_size": self.image_size,
            "target_key": self.hparams.get("target_key", ""),
            "target_name": self.hparams.get("target_name", ""),
        }
        if self.started_from:
            checkpoint[IDENTITY_KEY]["init_from"] = self.started_from

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        from ..checkpoints import checkpoint_identity

        self.started_from = checkpoint_identity(checkpoint).get("init_from")

    # -- generation ---------------------------------------------------------------------
    def generate(self, vector: torch.Tensor, stick: torch.Tensor, placement: torch.Tensor | None = None) -> torch.Tensor:
        """(N, 26) vectors in [-1, 1], (N, 3, S, S) stick figures in [-1, 1] and optionally (N, 3)
        placements -> (N, 3, S, S) images."""
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")

    def forward(self, vector: torch.Tensor, stick: torch.Tensor, placement: torch.Tensor | None = None) -> torch.Tensor:
        return self.generate(vector, stick, placement)

    def make_inputs(self, skeletons: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 13, 2) crop-coordinate skeletons -> (vector, stick) tensors on this module's device.

        Unusable skeletons (NaN, infinite, far outside the crop, all-zero) are replaced by the
        last usable one, with a warning; if none is usable, a ValueError says so.
        """
        clean, usable = sanitize(skeletons)
        if not usable.all():
            warnings.warn(f"{int((~usable).sum())} of {len(usable)} skeletons were unusable (NaN, infinite or degenerate); the last usable pose was used instead")
            clean = forward_fill(clean, usable)
        vector = torch.from_numpy(to_vector(clean)).to(self.device)
        stick = images_to_tensor(render_stick_figures(clean, self.image_size)).to(self.device)
        return vector, stick

    @torch.no_grad()
    def generate_from_skeletons(self, skeletons: np.ndarray, batch_size: int = 64, placements: np.ndarray | None = None) -> torch.Tensor:
        """(N, 13, 2) crop-coordinate skeletons (and optionally their (N, 3) placements; by default
        where the target usually stands) -> (N, 3, S, S) images in [-1, 1], on the CPU."""
        was_training = self.training
        self.eval()
        out = []
        for start in range(0, len(skeletons), batch_size):
            vector, stick = self.make_inputs(skeletons[start:start + batch_size])
            placement = None if placements is None else torch.as_tensor(np.asarray(placements[start:start + batch_size]), device=self.device)
            out.append(self.generate(vector, stick, placement).float().cpu())
        self.train(was_training)
        return torch.cat(out) if out else torch.empty(0, 3, self.image_size, self.image_size)

    # -- validation -----------------------------------------------------------------------
    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        fake = self.generate(batch["vector"], batch["stick"], batch.get("placement"))
        real = batch["image"]
        mse = F.mse_loss(fake, real)
        # PSNR over [0, 1] images: the [-1, 1] range has peak-to-peak 2.
        psnr = 10.0 * torch.log10(4.0 / mse.clamp_min(1e-10))
        n = real.shape[0]
        self.log("val/l1", F.l1_loss(fake, real), prog_bar=True, batch_size=n, sync_dist=True)
        self.log("val/mse", mse, batch_size=n, sync_dist=True)
        self.log("val/psnr", psnr, batch_size=n, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        self._log_image_grid("val/samples")

    def _log_image_grid(self, tag: str) -> None:
        """Log stick figure | real | generated for a fixed validation batch, one row per pair."""
        if self.trainer is None or self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        writer = getattr(self.logger, "experiment", None)
        if writer is None or not hasattr(writer, "add_image"):
            return
        if self._fixed_batch is None:
            datamodule = getattr(self.trainer, "datamodule", None)
            if datamodule is None or not hasattr(datamodule, "fixed_val_batch"):
                return
            self._fixed_batch = datamodule.fixed_val_batch(self.grid_size)
        batch = {k: v.to(self.device) for k, v in self._fixed_batch.items()}
        was_training = self.training
        self.eval()
        with torch.no_grad():
            fake = self.generate(batch["vector"], batch["stick"], batch.get("placement"))
        self.train(was_training)
        rows = torch.stack([batch["stick"], batch["image"], fake.float()], dim=1).flatten(0, 1)
        grid = torchvision.utils.make_grid(rows.cpu(), nrow=3, normalize=True, value_range=(-1, 1))
        writer.add_image(tag, grid, global_step=self.current_epoch)
