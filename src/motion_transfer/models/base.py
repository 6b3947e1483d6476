"""What every generator shares: inputs built from skeletons, validation metrics, image grids."""

from __future__ import annotations

import warnings

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from lightning.pytorch.callbacks import Timer
from torch import nn

from motion_transfer.models.ema import make_ema, update_ema
from motion_transfer.models.identity import IDENTITY_KEY, checkpoint_identity, make_identity
from motion_transfer.models.networks import GENERATOR_INPUTS, define_G
from motion_transfer.pose.drawing import images_to_tensor, render_stick_figures
from motion_transfer.pose.skeleton import forward_fill, sanitize, to_vector


def composite(rgb: torch.Tensor, alpha: torch.Tensor, plate: torch.Tensor) -> torch.Tensor:
    """The person over the background: alpha * rgb + (1 - alpha) * plate, (N, 3, S, S)."""
    return plate + alpha * (rgb - plate)


def feedback(rgb: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """What a temporal generator reads of a frame before: the person's colours premultiplied by
    their alpha, and the alpha, (N, FEEDBACK_CHANNELS, S, S). Zeros say that nobody was drawn
    (the first frame); for a real frame, its crop and MediaPipe's mask."""
    return torch.cat([rgb * alpha, alpha], dim=1)


#: Channels of `feedback`.
FEEDBACK_CHANNELS = 4
#: Share of training sequences whose first frame sees no previous frame, as the first frame of a
#: video does.
BLANK_START_SHARE = 0.1


def mask_iou(alpha: torch.Tensor, mask: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Intersection over union of two (N, 1, S, S) masks in [0, 1], thresholded, over the batch."""
    a, m = alpha > threshold, mask > threshold
    return (a & m).sum().float() / (a | m).sum().clamp_min(1).float()


def options_for(init, values: dict) -> dict:
    """The keyword arguments `init` takes, picked from `values` (a subclass's own `locals()`): what a
    subclass passes up to its parent, named once in each signature."""
    import inspect

    return {name: values[name] for name in inspect.signature(init).parameters if name in values}


def check_choice(option: str, value: str, allowed) -> None:
    """Refuse an unknown string choice with a message naming the option and the allowed values."""
    if value not in allowed:
        raise ValueError(f"{option}={value!r} is not known; use one of {', '.join(allowed)}")


class PoseToImageModule(L.LightningModule):
    """A generator: skeleton (as a 26-vector and/or a stick-figure image) -> (3, S, S) image in [-1, 1].

    Subclasses implement `generate(vector, stick, placement)` and say what kind of model they are
    with the class attributes below, so that training, loading, export and the datamodule ask the
    model instead of testing its name. `name` is the model's config name (configs/model/NAME.yaml),
    recorded in checkpoints with the image size and target (`identity.py`), so the demo can refuse
    a checkpoint made for another model, size or target. Hyperparameters are primitives only, so
    checkpoints load with `torch.load(weights_only=True)`.
    """

    #: Whether it learns by gradient: then its network is the attribute `generator`.
    learns: bool = True
    #: Options (`model.X`) that must name a trained run before this model can train.
    trains_from: tuple[str, ...] = ()
    #: Whether one pass over the training frames builds it completely (an index, not a network).
    indexed_in_one_epoch: bool = False
    #: Whether training batches may be augmented (data.jitter).
    takes_augmentation: bool = True
    #: Which checkpoint of a run the demo, evaluation and report pick when none is given.
    preferred_checkpoint: str = "best"
    #: Whether `generate_layers` gives the person's own alpha (a mask), so that the output can be
    #: composited over a background plate; else the alpha is all ones (the whole crop is drawn).
    draws_alpha: bool = True
    #: Whether each frame is drawn from the previous one too (`feedback`): frames are then drawn in
    #: order, one at a time, and training batches hold consecutive frames (datamodule.ConsecutiveFrames).
    temporal: bool = False

    def __init__(
        self, name: str, image_size: int = 64, target_key: str = "", target_name: str = "", grid_size: int = 8
    ):
        super().__init__()
        self.model_name = name
        self.image_size = int(image_size)
        self.grid_size = int(grid_size)
        self._fixed_batch: dict[str, torch.Tensor] | None = None
        #: A temporal model's feedback of the last held-out frame drawn in this validation epoch.
        self._val_previous: torch.Tensor | None = None
        #: The checkpoint whose generator this one started from (train.py init_from), if any.
        self.started_from: str | None = None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[IDENTITY_KEY] = make_identity(
            self.model_name,
            type(self).__name__,
            self.image_size,
            self.hparams.get("target_key", ""),
            self.hparams.get("target_name", ""),
            self.started_from,
        )

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.started_from = checkpoint_identity(checkpoint).get("init_from")

    # -- generation ---------------------------------------------------------------------
    def generate_layers(
        self, vector: torch.Tensor, stick: torch.Tensor, placement: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 26) vectors in [-1, 1], (N, 3, S, S) stick figures in [-1, 1] and optionally (N, 3)
        placements -> the person's colours (N, 3, S, S) in [-1, 1] and alpha (N, 1, S, S) in [0, 1]
        (all ones for a generator that draws the whole crop)."""
        raise NotImplementedError(f"{type(self).__name__} must implement generate_layers()")

    def generate(
        self,
        vector: torch.Tensor,
        stick: torch.Tensor,
        placement: torch.Tensor | None = None,
        plate: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(N, 3, S, S) images in [-1, 1]: the colours alone, or composited over `plate` (N, 3, S, S),
        the background's crop at the same boxes: alpha * colours + (1 - alpha) * plate."""
        rgb, alpha = self.generate_layers(vector, stick, placement)
        return rgb if plate is None else composite(rgb, alpha, plate)

    def forward(self, vector: torch.Tensor, stick: torch.Tensor, placement: torch.Tensor | None = None) -> torch.Tensor:
        return self.generate(vector, stick, placement)

    def make_inputs(self, skeletons: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 13, 2) crop-coordinate skeletons -> (vector, stick) tensors on this module's device.

        Unusable skeletons (NaN, infinite, far outside the crop, all-zero) are replaced by the
        last usable one, with a warning (skeleton.NEUTRAL_POSE when none is usable).
        """
        clean, usable = sanitize(skeletons)
        if not usable.all():
            warnings.warn(
                f"{int((~usable).sum())} of {len(usable)} skeletons were unusable (NaN, infinite or "
                "degenerate); the last usable pose was used instead",
                stacklevel=2,
            )
            clean = forward_fill(clean, usable)
        vector = torch.from_numpy(to_vector(clean)).to(self.device)
        stick = images_to_tensor(render_stick_figures(clean, self.image_size)).to(self.device)
        return vector, stick

    @torch.no_grad()
    def layers_from_skeletons(
        self,
        skeletons: np.ndarray,
        batch_size: int = 64,
        placements: np.ndarray | None = None,
        previous: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 13, 2) crop-coordinate skeletons (and optionally their (N, 3) placements; by default
        where the target usually stands) -> colours (N, 3, S, S) in [-1, 1] and alpha (N, 1, S, S),
        on the CPU. A temporal model draws the frames in order, each from the one before, the
        first from `previous` (`carry` of the frame before this call's first; None: nobody)."""
        was_training = self.training
        self.eval()
        rgbs, alphas = [], []
        for start in range(0, len(skeletons), batch_size):
            vector, stick = self.make_inputs(skeletons[start : start + batch_size])
            placement = (
                None
                if placements is None
                else torch.as_tensor(np.asarray(placements[start : start + batch_size]), device=self.device)
            )
            if self.temporal:
                rgb, alpha, previous = self.generate_sequence(vector, stick, placement, previous)
            else:
                rgb, alpha = self.generate_layers(vector, stick, placement)
            rgbs.append(rgb.float().cpu())
            alphas.append(alpha.float().cpu())
        self.train(was_training)
        if not rgbs:
            return torch.empty(0, 3, self.image_size, self.image_size), torch.empty(
                0, 1, self.image_size, self.image_size
            )
        return torch.cat(rgbs), torch.cat(alphas)

    def generate_sequence(
        self,
        vector: torch.Tensor,
        stick: torch.Tensor,
        placement: torch.Tensor | None,
        previous: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A temporal model's frames in order, each drawn from the one before (the first from
        `previous`, None: nobody): colours, alpha, and the last frame's feedback for the next call."""
        rgbs, alphas = [], []
        for i in range(len(vector)):
            where = None if placement is None else placement[i : i + 1]
            rgb, alpha = self.generate_layers(vector[i : i + 1], stick[i : i + 1], where, previous)
            previous = feedback(rgb, alpha)
            rgbs.append(rgb)
            alphas.append(alpha)
        return torch.cat(rgbs), torch.cat(alphas), previous

    def carry(self, rgb: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor | None:
        """What the next call of a temporal model starts from after frames (rgb, alpha): the last
        frame's feedback (None for a model that draws each frame alone)."""
        return feedback(rgb[-1:], alpha[-1:]).to(self.device) if self.temporal and len(rgb) else None

    def generate_from_skeletons(
        self,
        skeletons: np.ndarray,
        batch_size: int = 64,
        placements: np.ndarray | None = None,
        plates: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`layers_from_skeletons` as (N, 3, S, S) images: the colours, or composited over `plates`
        (N, 3, S, S) in [-1, 1], the background's crops at each frame's box."""
        rgb, alpha = self.layers_from_skeletons(skeletons, batch_size, placements)
        return rgb if plates is None else composite(rgb, alpha, plates)

    # -- validation -----------------------------------------------------------------------
    def on_validation_epoch_start(self) -> None:
        self._val_previous = None

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        if self.temporal:  # the held-out frames in order, each drawn from the one drawn before
            rgb, alpha, self._val_previous = self.generate_sequence(
                batch["vector"], batch["stick"], batch.get("placement"), self._val_previous
            )
        else:
            rgb, alpha = self.generate_layers(batch["vector"], batch["stick"], batch.get("placement"))
        fake = composite(rgb, alpha, batch["plate"]) if self.draws_alpha else rgb
        real = batch["image"]
        mse = F.mse_loss(fake, real)
        # PSNR over [0, 1] images: the [-1, 1] range has peak-to-peak 2.
        psnr = 10.0 * torch.log10(4.0 / mse.clamp_min(1e-10))
        n = real.shape[0]
        self.log("val/l1", F.l1_loss(fake, real), prog_bar=True, batch_size=n, sync_dist=True)
        self.log("val/mse", mse, batch_size=n, sync_dist=True)
        self.log("val/psnr", psnr, batch_size=n, sync_dist=True)
        if self.draws_alpha:
            self.log("val/mask_iou", mask_iou(alpha, batch["mask"]), batch_size=n, sync_dist=True)

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
            if self.trainer.datamodule is None:
                return
            self._fixed_batch = self.trainer.datamodule.fixed_val_batch(self.grid_size)
        batch = {k: v.to(self.device) for k, v in self._fixed_batch.items()}
        was_training = self.training
        self.eval()
        with torch.no_grad():
            fake = self.generate(
                batch["vector"], batch["stick"], batch.get("placement"), batch["plate"] if self.draws_alpha else None
            )
        self.train(was_training)
        rows = torch.stack([batch["stick"], batch["image"], fake.float()], dim=1).flatten(0, 1)
        grid = torchvision.utils.make_grid(rows.cpu(), nrow=3, normalize=True, value_range=(-1, 1))
        writer.add_image(tag, grid, global_step=self.current_epoch)


class LearnedGenerator(PoseToImageModule):
    """A generator with a network, `generator`, built by name (`networks.define_G`).

    With `alpha` (the default) the network draws the person's colours and alpha (a fourth output
    channel): training compares its composite over the background plate's crop with the real crop,
    and its alpha with MediaPipe's mask (`lambda_mask`), so the network spends its capacity on the
    person and the background comes from the plate (after Liquid Warping GAN). Optionally it reads
    where the crop lies in its frame (`placement`: (N, 3), falling back on `default_placement`,
    where the target usually stands), and keeps an exponential moving average of its weights
    (`ema_decay` > 0), used to draw outside training.

    With `temporal` (Everybody Dance Now's scheme) the network also reads the frame it drew before
    (`feedback`): training draws two consecutive frames, the first from the real frame before it,
    the second from the first as drawn, and compares both with the real ones.
    """

    #: Input channels a subclass's network reads after the stick figure and the placement.
    extra_input_channels: int = 0

    def __init__(
        self,
        *,
        name: str,
        image_size: int,
        generator: str,
        base_filters: int,
        norm: str,
        upsample: str,
        dropout: bool,
        placement: bool,
        ema_decay: float,
        alpha: bool,
        lambda_mask: float,
        target_key: str,
        target_name: str,
        grid_size: int,
        temporal: bool = False,
    ):
        super().__init__(
            name=name, image_size=image_size, target_key=target_key, target_name=target_name, grid_size=grid_size
        )
        check_choice("model.generator", generator, GENERATOR_INPUTS)
        if not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"model.ema_decay={ema_decay} must be in [0, 1) (0: off, 0.999: a typical average)")
        if float(lambda_mask) < 0:
            raise ValueError(f"model.lambda_mask={lambda_mask} must be 0 or more")
        self.input_kind = GENERATOR_INPUTS[generator]
        self.draws_alpha = bool(alpha)
        self.lambda_mask = float(lambda_mask)
        #: Whether training composites over the plate: not when the target's camera moves (no plate).
        self.composite_in_training = True
        out_channels = 4 if self.draws_alpha else 3
        self.temporal = bool(temporal)
        self.generator = define_G(
            generator,
            image_size,
            base_filters,
            norm,
            upsample,
            dropout,
            placement,
            out_channels,
            history_channels=FEEDBACK_CHANNELS if self.temporal else self.extra_input_channels,
        )
        self.ema_decay = float(ema_decay)
        if self.ema_decay > 0:
            self.ema_generator = make_ema(self.generator)
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))
        self.uses_placement = bool(placement)
        if self.uses_placement:
            self.register_buffer("default_placement", torch.zeros(3))

    # -- where the crop lies in the frame ---------------------------------------------------
    def on_fit_start(self) -> None:
        datamodule = self.trainer.datamodule
        if datamodule is None:
            return
        if self.uses_placement:
            self.default_placement = torch.from_numpy(datamodule.typical_placement()).to(self.device)
        self.composite_in_training = datamodule.has_plate

    def network_input(
        self,
        vector: torch.Tensor,
        stick: torch.Tensor,
        placement: torch.Tensor | None = None,
        previous: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """What the network reads: the vector or the stick figure (`input_kind`), with the placement
        and, for a temporal model, the previous frame's `feedback` (zeros when None: nobody)."""
        x = self.with_placement(vector if self.input_kind == "vector" else stick, placement)
        if not self.temporal:
            return x
        if previous is None:
            previous = x.new_zeros(x.shape[0], FEEDBACK_CHANNELS, *x.shape[2:])
        return torch.cat([x, previous.to(x)], dim=1)

    def with_placement(self, x: torch.Tensor, placement: torch.Tensor | None = None) -> torch.Tensor:
        """`x` with the placement appended, as 3 more features (vectors) or 3 more constant
        channels (images), when this generator reads it; else `x` itself."""
        if not self.uses_placement:
            return x
        where = (self.default_placement.expand(x.shape[0], -1) if placement is None else placement).to(x)
        if x.dim() == 2:
            return torch.cat([x, where], dim=1)
        return torch.cat([x, where[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)

    def training_progress(self) -> float:
        """The share of the training done: of trainer.max_time or of max_epochs, whichever is nearer."""
        trainer = self.trainer
        shares = []
        timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        remaining = None if timer is None else timer.time_remaining("train")
        if remaining is not None:
            elapsed = timer.time_elapsed("train")
            shares.append(elapsed / max(elapsed + remaining, 1e-9))
        if trainer.max_epochs is not None and trainer.max_epochs > 0:
            shares.append(trainer.current_epoch / trainer.max_epochs)
        return max(shares) if shares else 1.0

    def temporal_start(self) -> float:
        """The share of the training (`training_progress`) after which a temporal model trains on
        consecutive frames; before it, on single frames drawn from nothing (cheaper steps)."""
        return float(self.hparams.get("temporal_start", 0.0))

    # -- weight averaging -------------------------------------------------------------------
    def inference_network(self) -> nn.Module:
        """The network that draws images outside training: the weight average when there is one."""
        return self.ema_generator if self.ema_decay > 0 else self.generator

    def generator_networks(self) -> list[nn.Module]:
        """Every copy of the generator's weights: the live network and its average."""
        return [self.generator] + ([self.ema_generator] if self.ema_decay > 0 else [])

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if self.ema_decay > 0:
            update_ema(self.ema_generator, self.generator, self.ema_decay, int(self.ema_updates))
            self.ema_updates += 1

    def generate_layers(
        self,
        vector: torch.Tensor,
        stick: torch.Tensor,
        placement: torch.Tensor | None = None,
        previous: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        network = self.generator if self.training else self.inference_network()
        out = network(self.network_input(vector, stick, placement, previous))
        if not self.draws_alpha:
            return out, torch.ones_like(out[:, :1])
        return out[:, :3], (out[:, 3:] + 1.0) * 0.5  # tanh's [-1, 1] -> alpha in [0, 1]

    def training_output(
        self, batch: dict[str, torch.Tensor], prefix: str = "", previous: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For the frame whose batch entries start with `prefix`: the image to compare with the
        real crop (the composite over the plate's crop, or the colours alone), the mask loss (0
        without alpha), and the frame's `feedback` for the next one."""
        rgb, alpha = self.generate_layers(
            batch[f"{prefix}vector"], batch[f"{prefix}stick"], batch.get(f"{prefix}placement"), previous
        )
        drawn = feedback(rgb, alpha)
        if not self.draws_alpha:
            return rgb, rgb.new_zeros(()), drawn
        fake = composite(rgb, alpha, batch[f"{prefix}plate"]) if self.composite_in_training else rgb
        return fake, F.l1_loss(alpha, batch[f"{prefix}mask"]), drawn

    def training_frames(
        self, batch: dict[str, torch.Tensor], consecutive: bool | None = None
    ) -> tuple[list[str], list[torch.Tensor], torch.Tensor]:
        """The frames a training step draws: their batch prefixes, their images to compare with the
        real ones, and the mean mask loss. One frame, or for a temporal model two consecutive
        frames ("prev_", then ""): the first from the real frame before it ("prev2_"; nobody for
        a BLANK_START_SHARE of them), the second from the first as drawn; before `temporal_start`
        (or when `consecutive` is False) one frame drawn from nothing."""
        if consecutive is None:
            start = self.temporal_start()
            consecutive = self.temporal and (start <= 0 or self.training_progress() >= start)
        if not consecutive:
            fake, mask_loss, _ = self.training_output(batch)
            return [""], [fake], mask_loss
        image = batch["prev2_image"]
        mask = batch["prev2_mask"] if self.draws_alpha else torch.ones_like(image[:, :1])
        keep = (torch.rand(len(image), 1, 1, 1, device=image.device) >= BLANK_START_SHARE).to(image)
        first, first_mask, drawn = self.training_output(batch, "prev_", keep * feedback(image, mask))
        second, second_mask, _ = self.training_output(batch, "", drawn)
        return ["prev_", ""], [first, second], 0.5 * (first_mask + second_mask)
