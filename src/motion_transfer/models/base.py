"""What every generator shares: inputs built from skeletons, validation metrics, image grids."""

from __future__ import annotations

import warnings

import cv2
import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from motion_transfer.models.identity import IDENTITY_KEY, checkpoint_identity, make_identity
from motion_transfer.pose.drawing import images_to_tensor, render_stick_figures, tensor_to_images
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
    #: Whether it draws the person at the output's own resolution (`native_layers`: real pixels moved
    #: at the box's size), rather than at `image_size` to be scaled to the box.
    draws_native: bool = False

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
        #: What `native_layers` carries from one call to the next (a temporal model's last frame).
        self._native_previous: torch.Tensor | None = None

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

    def attach_target(self, datamodule) -> None:
        """Give a model loaded from a checkpoint what it draws from beyond its weights, from the target's
        prepared datamodule (an appearance-flow model's person store); nothing for most models."""

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

    def reset_sequence(self) -> None:
        """Start a new video: `native_layers` draws its next frame as the first of a sequence."""
        self._native_previous = None

    def native_layers(
        self,
        skeletons: np.ndarray,
        sides: np.ndarray,
        placements: np.ndarray | None = None,
        facings: np.ndarray | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """(N, 13, 2) crop-coordinate skeletons and (N,) sides in output pixels -> per frame the person's
        colours (side, side, 3) uint8 and alpha (side, side) float32 at that side. `facings`: (N,) how each
        asked body is turned (pose/skeleton.py's `facing_angles`; NaN unknown), for a generator that
        retrieves frames of the target (nearest neighbour, the warp, a flow model's references). Here: drawn at
        `image_size` and scaled (bilinear), as pasting a crop into a frame does; a generator that
        `draws_native` moves real pixels at the side itself. Successive calls draw one sequence (a
        temporal model's next call starts from this call's last frame) until `reset_sequence`."""
        rgb, alpha = self.layers_from_skeletons(
            np.asarray(skeletons), max(1, len(skeletons)), placements, self._native_previous
        )
        self._native_previous = self.carry(rgb, alpha)
        persons, alphas = tensor_to_images(rgb), alpha[:, 0].numpy().astype(np.float32)
        out = []
        for person, a, side in zip(persons, alphas, np.asarray(sides, dtype=int)):
            size = (max(1, int(side)),) * 2
            out.append(
                (
                    cv2.resize(person, size, interpolation=cv2.INTER_LINEAR),
                    cv2.resize(a, size, interpolation=cv2.INTER_LINEAR),
                )
            )
        return out

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
            # An appearance-flow model's held-out frames carry their references (found once, at fit start).
            extra = {"reference": batch["reference"]} if "reference" in batch else {}
            rgb, alpha = self.generate_layers(batch["vector"], batch["stick"], batch.get("placement"), **extra)
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
