"""What the generators that learn by gradient share: a network built by name, colours and alpha,
placement, weight averaging and temporal training frames."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Timer
from torch import nn

from motion_transfer.models.base import (
    BLANK_START_SHARE,
    FEEDBACK_CHANNELS,
    PoseToImageModule,
    check_choice,
    composite,
    feedback,
)
from motion_transfer.models.ema import UPDATE_EVERY, make_ema, update_ema
from motion_transfer.models.flow import (
    FLOW_OUTPUTS,
    REFERENCE_CHANNELS,
    FlowLayers,
    assemble,
    assemble_native,
    bent_references,
    fine_person,
    masked_l1,
    pair_training_references,
    reference_input,
    scaled_references,
    split_outputs,
)
from motion_transfer.models.head import HEAD_SHARE, HeadRefiner, refine_heads, refined_patches
from motion_transfer.models.nearest import INDEX_BUFFERS, frame_poses
from motion_transfer.models.networks import GENERATOR_INPUTS, define_G
from motion_transfer.models.warp import WarpGenerator
from motion_transfer.pose.drawing import tensor_to_images
from motion_transfer.render.warp import warp_person


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

    With `flow` (appearance flow, models/flow.py) the network also reads a reference, the target's
    stored frame that needs the least bending bent onto the asked pose (`references`, a warp
    generator holding the training frames), and draws a flow into it and a blend besides the colours
    and alpha: at the output's own resolution (`draws_native`, once `attach_target` gave it the
    target's person store) the person's pixels come from the reference at full resolution.
    """

    #: Input channels a subclass's network reads after the stick figure and the placement.
    extra_input_channels: int = 0
    #: Whether the image networks hold their weights, and read their inputs, channels-last (NHWC):
    #: the layout of oneDNN's and cuDNN's fastest convolutions (a U-Net step 1.5x faster on a CPU,
    #: docs/performance.md). A layout only: checkpoints load either way.
    channels_last: bool = True

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
        flow: bool = False,
        lambda_blend: float = 0.0,
        lambda_detail: float = 0.0,
        head_refiner: bool = False,
    ):
        super().__init__(
            name=name, image_size=image_size, target_key=target_key, target_name=target_name, grid_size=grid_size
        )
        if flow and temporal:
            raise ValueError("model.flow=true and model.temporal=true cannot be combined; turn one of them off")
        if flow and not alpha:
            raise ValueError("model.flow=true draws the person over the plate and needs model.alpha=true")
        for option, value in (("lambda_blend", lambda_blend), ("lambda_detail", lambda_detail)):
            if float(value) < 0:
                raise ValueError(f"model.{option}={value} must be 0 or more")
        if head_refiner and not (flow and float(lambda_detail) > 0):
            raise ValueError(
                "model.head_refiner=true trains on the detail loss's patches: it needs model.flow=true "
                "and model.lambda_detail above 0"
            )
        if flow and GENERATOR_INPUTS.get(generator) != "stick":
            raise ValueError(
                f"model.flow=true needs an image generator (unet or resnet), not model.generator={generator}"
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
        out_channels = (4 if self.draws_alpha else 3) + (FLOW_OUTPUTS if flow else 0)
        self.temporal = bool(temporal)
        self.flow = bool(flow)
        self.lambda_blend = float(lambda_blend)
        self.lambda_detail = float(lambda_detail)
        self.generator = define_G(
            generator,
            image_size,
            base_filters,
            norm,
            upsample,
            dropout,
            placement,
            out_channels,
            history_channels=FEEDBACK_CHANNELS
            if self.temporal
            else REFERENCE_CHANNELS
            if self.flow
            else self.extra_input_channels,
        )
        if self.flow:
            # The training frames the references come from: filled at fit start, carried by checkpoints.
            self.references = WarpGenerator(image_size=image_size, mirror=False)  # its rows index the crops
        self.head_refiner = HeadRefiner(image_size) if head_refiner else None
        if self.head_refiner is not None:
            # The head box's share of the person's side: the patch's share of the larger crops (set at fit start).
            self.register_buffer("head_box_share", torch.tensor(image_size / 256.0))
        self.ema_decay = float(ema_decay)
        if self.ema_decay > 0:
            self.ema_generator = make_ema(self.generator)
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))
            self._steps_since_ema = 0
        self.uses_placement = bool(placement)
        if self.uses_placement:
            self.register_buffer("default_placement", torch.zeros(3))
        self.set_channels_last(self.channels_last)

    # -- memory layout ----------------------------------------------------------------------
    def set_channels_last(self, enabled: bool = True) -> LearnedGenerator:
        """Put every 4-D weight of the model's networks channels-last (or back to NCHW); a subclass
        that adds a network calls it again. Returns the model."""
        self.channels_last = bool(enabled)
        self.to(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
        return self

    def in_layout(self, x: torch.Tensor) -> torch.Tensor:
        """An image batch (N, C, H, W) in the networks' layout; other tensors as they are."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x

    def generator_parameters(self) -> list[nn.Parameter]:
        """What the generator's optimizer trains: the network's weights and the head refiner's."""
        refiner = [] if self.head_refiner is None else list(self.head_refiner.parameters())
        return list(self.generator.parameters()) + refiner

    def adam(self, parameters, lr: float) -> torch.optim.Adam:
        """Adam with the model's betas, fused (one pass over every tensor) on CPUs and CUDA GPUs: the
        per-tensor update of the U-Net's 29 M weights is a large share of a CPU step (docs/performance.md)."""
        betas = (self.hparams.beta1, self.hparams.beta2)
        return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=self.device.type in ("cpu", "cuda") or None)

    # -- where the crop lies in the frame ---------------------------------------------------
    def on_fit_start(self) -> None:
        datamodule = self.trainer.datamodule
        if datamodule is None:
            return
        if self.uses_placement:
            self.default_placement = torch.from_numpy(datamodule.typical_placement()).to(self.device)
        self.composite_in_training = datamodule.has_plate
        if self.flow:
            self.pair_references(datamodule)

    # -- appearance flow --------------------------------------------------------------------
    def pair_references(self, datamodule) -> None:
        """Fill the reference bank and give the training and held-out frames their references
        (flow.pair_training_references); with `lambda_detail`, the training frames' larger crops too."""
        head_share = HEAD_SHARE if self.head_refiner is not None else 0.0
        pair_training_references(
            self.references, datamodule, self.image_size, detail=self.lambda_detail > 0, head_share=head_share
        )
        if self.head_refiner is not None:
            self.head_box_share.fill_(self.image_size / float(datamodule.cache.crops.shape[1]))

    def attach_target(self, datamodule) -> None:
        """With `flow`: draw at the output's own resolution from the target's person store (the same
        target as the checkpoint's: the demo, evaluation and live mode call this after loading)."""
        if not self.flow:
            return
        store = datamodule.person_store(int(self.references.hparams.max_side))
        self.references.attach_store(store, *frame_poses(datamodule))
        self.draws_native = True

    def find_references(self, vector: torch.Tensor) -> torch.Tensor:
        """(N, 26) asked poses -> (N, 4, S, S) references on this device: the training frames that need the
        least bending (the warp's choice, keeping the previous frame's while it is nearly as good), bent
        onto the poses at the network's size."""
        if len(self.references.index_vectors) == 0:
            raise RuntimeError("the flow model has no reference frames: train it (its fit start fills them)")
        skeletons = (vector.detach().float().cpu().numpy().reshape(len(vector), -1, 2) + 1.0) / 2.0
        rows, _ = self.references.choose_rows(skeletons)
        return bent_references(self.references, rows, skeletons, self.image_size).to(self.device)

    def reset_sequence(self) -> None:
        super().reset_sequence()
        if self.flow:
            self.references.reset_sequence()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        if self.flow:  # the bank has the size it had when saved: resize the empty buffers before loading
            state = checkpoint["state_dict"]
            for name in INDEX_BUFFERS:
                if f"references.{name}" in state:
                    setattr(self.references, name, torch.empty_like(state[f"references.{name}"], device=self.device))

    @torch.no_grad()
    def native_layers(
        self,
        skeletons: np.ndarray,
        sides: np.ndarray,
        placements: np.ndarray | None = None,
        facings: np.ndarray | None = None,
        network=None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """With `flow` and the person store: each reference bent at its side from the store, the network's
        layers at its size from those references scaled down (one bending a frame), then each person
        assembled at its side (flow.assemble_native); else drawn and scaled. `network`: what draws the layers
        from (stick, placement, reference) tensors, (N, 7, S, S) (live mode's ONNX Runtime); the weight
        average in PyTorch when None."""
        if not (self.flow and self.draws_native):
            return super().native_layers(skeletons, sides, placements)
        skeletons = np.asarray(skeletons, dtype=np.float64)
        rows, _ = self.references.choose_rows(skeletons, facings)
        bent = []
        for skeleton, side, row in zip(skeletons, np.asarray(sides, dtype=int), rows):
            image, mask, joints = self.references.person_of_row(int(row))
            side = max(8, int(side))
            bent.append(warp_person(image, mask, joints, skeleton * side, side, self.references.method))
        reference = scaled_references([(b.rgb, b.alpha) for b in bent], self.image_size).to(self.device)
        vector, stick = self.make_inputs(skeletons)
        placement = None if placements is None else torch.as_tensor(np.asarray(placements), device=self.device)
        if network is None:
            was_training = self.training
            self.eval()
            out = self.inference_network()(self.network_input(vector, stick, placement, reference=reference)).float()
            self.train(was_training)
        else:
            out = network(stick, placement, reference)
        colours, alpha, flow, blend = (t.cpu() for t in split_outputs(out))
        drawn = tensor_to_images(colours)
        alpha, blend = alpha[:, 0].numpy(), blend[:, 0].numpy()
        flow = np.ascontiguousarray(flow.permute(0, 2, 3, 1).numpy())
        people = [
            assemble_native(drawn[i], alpha[i], flow[i], blend[i], person.rgb, person.alpha)
            for i, person in enumerate(bent)
        ]
        if self.head_refiner is None:
            return people
        return refine_heads(self.head_refiner, people, skeletons, stick, float(self.head_box_share))

    def network_input(
        self,
        vector: torch.Tensor,
        stick: torch.Tensor,
        placement: torch.Tensor | None = None,
        previous: torch.Tensor | None = None,
        reference: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """What the network reads: the vector or the stick figure (`input_kind`), with the placement
        and, for a temporal model, the previous frame's `feedback` (zeros when None: nobody); for a
        flow model the reference (N, 4, S, S) as flow.reference_input."""
        x = self.with_placement(vector if self.input_kind == "vector" else stick, placement)
        if self.flow:
            return self.in_layout(torch.cat([x, reference_input(reference.to(x))], dim=1))
        if not self.temporal:
            return self.in_layout(x)
        if previous is None:
            previous = x.new_zeros(x.shape[0], FEEDBACK_CHANNELS, *x.shape[2:])
        return self.in_layout(torch.cat([x, previous.to(x)], dim=1))

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
        if self.ema_decay <= 0:
            return
        self._steps_since_ema += 1
        # The first step updates at once: a run of a few steps still has an average of trained weights.
        if self._steps_since_ema >= UPDATE_EVERY or int(self.ema_updates) == 0:
            decay = self.ema_decay**self._steps_since_ema
            update_ema(self.ema_generator, self.generator, decay, int(self.ema_updates))
            self.ema_updates += 1
            self._steps_since_ema = 0

    def generate_layers(
        self,
        vector: torch.Tensor,
        stick: torch.Tensor,
        placement: torch.Tensor | None = None,
        previous: torch.Tensor | None = None,
        reference: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """See PoseToImageModule; a flow model takes `reference` (found with `find_references` when None)."""
        network = self.generator if self.training else self.inference_network()
        if self.flow:
            layers = self.flow_layers(network, vector, stick, placement, reference)
            return layers.rgb, layers.alpha
        # Float32 out of the network (bfloat16 under autocast): the composite, the losses and the metrics.
        out = network(self.network_input(vector, stick, placement, previous)).float()
        if not self.draws_alpha:
            return out, torch.ones_like(out[:, :1])
        return out[:, :3], (out[:, 3:] + 1.0) * 0.5  # tanh's [-1, 1] -> alpha in [0, 1]

    def flow_layers(
        self,
        network: nn.Module,
        vector: torch.Tensor,
        stick: torch.Tensor,
        placement: torch.Tensor | None,
        reference: torch.Tensor | None,
    ) -> FlowLayers:
        """A flow model's person at its size, assembled from `network`'s layers and the reference (found with
        `find_references` when None)."""
        reference = self.find_references(vector) if reference is None else reference.float()
        out = network(self.network_input(vector, stick, placement, reference=reference)).float()
        colours, alpha, flow, blend = split_outputs(out)
        rgb, alpha = assemble(colours, alpha, flow, blend, reference)
        return FlowLayers(rgb, alpha, colours, flow, blend, reference)

    def training_output(
        self, batch: dict[str, torch.Tensor], prefix: str = "", previous: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """For the frame whose batch entries start with `prefix`: the image to compare with the
        real crop (the composite over the plate's crop, or the colours alone), the mask loss (0
        without alpha), a flow model's own losses (flow_losses; 0 without flow), and the frame's
        `feedback` for the next one."""
        vector, stick, placement = batch[f"{prefix}vector"], batch[f"{prefix}stick"], batch.get(f"{prefix}placement")
        flow_loss = stick.new_zeros(())
        if self.flow:
            layers = self.flow_layers(self.generator, vector, stick, placement, batch.get(f"{prefix}reference"))
            rgb, alpha = layers.rgb, layers.alpha
            flow_loss = self.flow_losses(layers, batch)
        else:
            rgb, alpha = self.generate_layers(vector, stick, placement, previous)
        drawn = feedback(rgb, alpha)
        if not self.draws_alpha:
            return rgb, rgb.new_zeros(()), flow_loss, drawn
        fake = composite(rgb, alpha, batch[f"{prefix}plate"]) if self.composite_in_training else rgb
        return fake, F.l1_loss(alpha, batch[f"{prefix}mask"]), flow_loss, drawn

    def flow_losses(self, layers: FlowLayers, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """A flow model's losses besides the image's and the mask's, weighted and logged: the blend prior
        (`lambda_blend` times the share of the reference's person drawn instead of taken from it) and the
        detail loss on a larger crop (`lambda_detail`: flow.masked_l1 of flow.fine_person, the head refined
        first by a head refiner; where the batch has its patches)."""
        total = layers.rgb.new_zeros(())
        n = len(layers.rgb)
        if self.lambda_blend > 0:
            prior = ((1.0 - layers.blend) * layers.reference[:, 3:]).mean()
            total = total + self.lambda_blend * prior
            self.log("train/blend_prior", prior, batch_size=n)
        if self.lambda_detail > 0 and "fine_grid" in batch:
            rgb = fine_person(layers.colours, layers.flow, layers.blend, batch)
            if self.head_refiner is not None:
                rgb = refined_patches(self.head_refiner, rgb, batch["stick"], layers.alpha, batch)
            detail = masked_l1(rgb, batch)
            total = total + self.lambda_detail * detail
            self.log("train/detail_l1", detail, batch_size=n)
        return total

    def training_frames(
        self, batch: dict[str, torch.Tensor], consecutive: bool | None = None
    ) -> tuple[list[str], list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """The frames a training step draws: their batch prefixes, their images to compare with the
        real ones, the mean mask loss and a flow model's own losses (0 without flow). One frame, or
        for a temporal model two consecutive frames ("prev_", then ""): the first from the real frame
        before it ("prev2_"; nobody for a BLANK_START_SHARE of them), the second from the first as
        drawn; before `temporal_start` (or when `consecutive` is False) one frame drawn from nothing."""
        if consecutive is None:
            start = self.temporal_start()
            consecutive = self.temporal and (start <= 0 or self.training_progress() >= start)
        if not consecutive:
            fake, mask_loss, flow_loss, _ = self.training_output(batch)
            return [""], [fake], mask_loss, flow_loss
        image = batch["prev2_image"]
        mask = batch["prev2_mask"] if self.draws_alpha else torch.ones_like(image[:, :1])
        keep = (torch.rand(len(image), 1, 1, 1, device=image.device) >= BLANK_START_SHARE).to(image)
        first, first_mask, _, drawn = self.training_output(batch, "prev_", keep * feedback(image, mask))
        second, second_mask, _, _ = self.training_output(batch, "", drawn)  # a temporal model has no flow
        return ["prev_", ""], [first, second], 0.5 * (first_mask + second_mask), image.new_zeros(())
