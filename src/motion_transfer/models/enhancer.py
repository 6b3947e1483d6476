"""pix2pixHD's coarse-to-fine scheme: a small generator at twice the resolution refines the upsampled
output of a trained one."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from motion_transfer.models.base import options_for
from motion_transfer.models.gan import GANGenerator
from motion_transfer.models.identity import check_identity, read_checkpoint_file
from motion_transfer.models.learned import LearnedGenerator
from motion_transfer.models.vanilla import VanillaGenerator
from motion_transfer.runtime.errors import UserError

#: Input channels the refining network reads besides the stick figure: the coarse colours and alpha.
COARSE_CHANNELS = 4


#: The generators an enhancer can refine, by class name (as checkpoints record them).
COARSE_CLASSES = {cls.__name__: cls for cls in (VanillaGenerator, GANGenerator)}


def build_coarse(coarse: dict) -> LearnedGenerator:
    """The coarse generator described by `coarse` ({"class": class name, "hparams": its
    hyperparameters}), untrained: the enhancer's checkpoint holds its weights."""
    return COARSE_CLASSES[coarse["class"]](**coarse["hparams"])


class EnhancerGenerator(VanillaGenerator):
    """A local enhancer (pix2pixHD): the trained generator `coarse_from` (at half this model's
    image_size, kept frozen) draws the person from the stick figure area-averaged to its size;
    its colours and alpha, upsampled bilinearly, go with the full-size stick figure (and the
    placement) into this model's own network, whose output is added to them. Trained like the
    direct network (L1 and the mask loss) on the real crops at the full size, so only the detail
    the coarse generator cannot draw is learned.

    The checkpoint is self-contained: the coarse generator's class and hyperparameters are kept
    with the hyperparameters (`coarse`), its weights in the state dict.
    """

    extra_input_channels = COARSE_CHANNELS
    trains_from = ("coarse_from",)

    def __init__(
        self,
        name: str = "enhancer",
        image_size: int = 128,
        coarse_from: str = "",
        coarse: dict | None = None,
        generator: str = "unet",
        base_filters: int = 32,
        norm: str = "batch",
        upsample: str = "resize",
        dropout: bool = False,
        placement: bool = True,
        loss: str = "l1",
        ema_decay: float = 0.995,
        alpha: bool = True,
        lambda_mask: float = 1.0,
        lr: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        target_key: str = "",
        target_name: str = "",
        grid_size: int = 8,
        temporal: bool = False,
        temporal_start: float = 0.0,
        flow: bool = False,
        lambda_blend: float = 0.0,
        lambda_detail: float = 0.0,
        head_refiner: bool = False,
    ):
        if temporal:
            raise ValueError("model.temporal=true is not supported by model=enhancer; train model=vanilla_image")
        if flow:
            raise ValueError("model.flow=true is not supported by model=enhancer; train model=vanilla_image with it")
        if coarse is None:
            coarse, coarse_model = self._read_coarse(coarse_from, int(image_size), target_key)
        else:
            coarse_model = build_coarse(coarse)
        if coarse_model.draws_alpha != bool(alpha):
            raise UserError(
                f"model.coarse_from: '{coarse_from}' was trained with model.alpha={coarse_model.draws_alpha}; "
                f"train the enhancer with model.alpha={coarse_model.draws_alpha}."
            )
        super().__init__(**options_for(super().__init__, locals()))
        self.hparams["coarse"] = coarse
        self.coarse = coarse_model.eval().requires_grad_(False)
        self.set_channels_last(self.channels_last)

    @staticmethod
    def _read_coarse(path: str, image_size: int, target_key: str) -> tuple[dict, LearnedGenerator]:
        option = "model.coarse_from"
        if not path:
            raise UserError(
                f"{option} is not set: give the checkpoint of a generator trained on this target at half the size, "
                f"e.g. {option}=outputs/train/<run>/checkpoints/last.ckpt (data.image_size={image_size // 2})."
            )
        ckpt = read_checkpoint_file(path, option)
        identity = check_identity(ckpt, path, None, image_size // 2, target_key or None, option)
        coarse = {"class": identity["class"], "hparams": dict(ckpt.get("hyper_parameters", {}))}
        model = build_coarse(coarse) if coarse["class"] in COARSE_CLASSES else None
        if model is None or model.temporal or model.flow or model.input_kind != "stick":
            raise UserError(
                f"{option}: '{path}' holds a '{identity.get('model')}' model; the enhancer refines a generator that "
                "reads stick figures and draws each frame alone, without appearance flow (vanilla_image or gan)."
            )
        model.on_load_checkpoint(ckpt)
        model.load_state_dict(ckpt["state_dict"])
        return coarse, model

    def on_fit_start(self) -> None:
        super().on_fit_start()
        # Lightning warns of modules in eval mode when training starts: the frozen coarse generator's, by design.
        warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode", category=UserWarning)

    def train(self, mode: bool = True):
        super().train(mode)
        self.coarse.eval()  # frozen: its BatchNorm keeps its statistics
        return self

    def coarse_layers(
        self, stick: torch.Tensor, placement: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The coarse generator's colours and alpha at this model's size (bilinear upsampling), from
        the stick figure area-averaged to its size."""
        small = F.avg_pool2d(stick, 2)
        with torch.no_grad():
            rgb, alpha = self.coarse.generate_layers(small, small, placement)
        up = F.interpolate(torch.cat([rgb, alpha], dim=1), scale_factor=2, mode="bilinear", align_corners=False)
        return up[:, :3], up[:, 3:]

    def generate_layers(
        self,
        vector: torch.Tensor,
        stick: torch.Tensor,
        placement: torch.Tensor | None = None,
        previous: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        coarse_rgb, coarse_alpha = self.coarse_layers(stick, placement)
        network = self.generator if self.training else self.inference_network()
        x = torch.cat([self.with_placement(stick, placement), coarse_rgb, coarse_alpha], dim=1)
        out = network(self.in_layout(x)).float()
        # The network's tanh output corrects the coarse layers; it starts near zero (small initial weights).
        rgb = (coarse_rgb + out[:, :3]).clamp(-1.0, 1.0)
        if not self.draws_alpha:
            return rgb, torch.ones_like(rgb[:, :1])
        return rgb, (coarse_alpha + 0.5 * out[:, 3:]).clamp(0.0, 1.0)
