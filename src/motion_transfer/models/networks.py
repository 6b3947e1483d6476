"""The networks, in one readable module (after pix2pix's ``models/networks.py``).

Generators map a pose to an image of the target person, discriminators judge images:

* :class:`MLPGenerator`: the lab's fully connected network, vector ``(N, 26)`` -> ``(N, 3, S, S)``.
* :class:`ConvDecoderGenerator`: a DCGAN-style decoder from the same vector.
* :class:`UNetGenerator`: pix2pix's U-Net, stick-figure image ``(N, 3, S, S)`` -> ``(N, 3, S, S)``.
* :class:`ResnetGenerator`: pix2pixHD's global generator (down-sampling, residual blocks,
  up-sampling) from the stick-figure image.
* :class:`PatchDiscriminator`: pix2pix's PatchGAN, ``(N, C, S, S)`` -> a map of logits ``(N, 1, H', W')``.
* :class:`MultiscaleDiscriminator`: pix2pixHD's PatchGANs at 1, 1/2, 1/4 ... of the image.
* :class:`DCGANDiscriminator`: the lab's discriminator, ``(N, C, S, S)`` -> ``(N, 1)``.

Models pick them by name with :func:`define_G` and :func:`define_D` (pix2pix's builders).

Every constructor takes only ints, floats, strings and bools, so that Lightning saves them as
hyperparameters that load with ``torch.load(weights_only=True)``; norm layers and upsampling are
chosen by name. Depths follow ``image_size`` (any power of two >= 32), so 64, 128 and 256 px need
no code change. Images are NCHW in [-1, 1]. Nothing here moves tensors between devices, and no
forward has data-dependent control flow, so the networks trace, script and export to ONNX.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from motion_transfer.pose.skeleton import VECTOR_SIZE

NORMS = ("batch", "instance", "none")
UPSAMPLES = ("transpose", "resize", "bilinear")
INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")
MIN_IMAGE_SIZE = 32
#: Generator kinds and the input each one reads: the 26-vector or the stick-figure image.
GENERATOR_INPUTS = {"mlp": "vector", "conv": "vector", "unet": "stick", "resnet": "stick"}
DISCRIMINATORS = ("patch", "dcgan")
#: Inputs a network gets when it reads the placement (crop.placement_features: centre x, y, size).
PLACEMENT_FEATURES = 3

NormFactory = Callable[[int], nn.Module]
UpsampleFactory = Callable[[int, int, bool], nn.Module]

__all__ = [
    "NORMS",
    "UPSAMPLES",
    "INIT_TYPES",
    "get_norm_layer",
    "get_upsample_layer",
    "init_weights",
    "MLPGenerator",
    "ConvDecoderGenerator",
    "UnetSkipConnectionBlock",
    "UNetGenerator",
    "ResnetGenerator",
    "PatchDiscriminator",
    "MultiscaleDiscriminator",
    "DCGANDiscriminator",
]


# --------------------------------------------------------------------------------------------
# Building blocks chosen by name
# --------------------------------------------------------------------------------------------


def get_norm_layer(name: str) -> NormFactory:
    """A factory ``channels -> nn.Module`` of 2-D norm layers, by name.

    batch: BatchNorm2d with learnable scale and shift; instance: InstanceNorm2d without them and
    without running statistics (as pix2pix); none: Identity.
    """
    if name == "batch":
        return lambda channels: nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if name == "instance":
        return lambda channels: nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if name == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"norm={name!r} is not known; use one of {', '.join(NORMS)}")


def get_upsample_layer(name: str) -> UpsampleFactory:
    """A factory ``(in_channels, out_channels, bias) -> nn.Module`` that doubles H and W, by name.

    transpose: ConvTranspose2d(k4, s2, p1), as pix2pix and DCGAN. resize: nearest Upsample(x2) then
    Conv2d(k3, p1); every output pixel then sees the same number of kernel taps, which avoids the
    checkerboard pattern of overlapping transposed kernels (Odena et al., Distill 2016). bilinear:
    the same with bilinear interpolation, which also smooths the 2x2 blocks that nearest copies
    leave at the last levels.
    Shapes: (N, in_channels, H, W) -> (N, out_channels, 2H, 2W).
    """
    if name == "transpose":
        return lambda in_c, out_c, bias: nn.ConvTranspose2d(in_c, out_c, kernel_size=4, stride=2, padding=1, bias=bias)
    if name in ("resize", "bilinear"):
        mode = "nearest" if name == "resize" else "bilinear"
        return lambda in_c, out_c, bias: nn.Sequential(
            nn.Upsample(scale_factor=2, mode=mode),
            nn.Conv2d(in_c, out_c, kernel_size=3, stride=1, padding=1, bias=bias),
        )
    raise ValueError(f"upsample={name!r} is not known; use one of {', '.join(UPSAMPLES)}")


def _conv_bias(norm: str) -> bool:
    """Whether a conv followed by `norm` needs a bias.

    BatchNorm's learned shift makes a bias redundant (pix2pix's rule). pix2pix keeps the bias before
    instance norm; we do too. It also drops it for "none", which leaves the conv without any shift;
    we keep it there, since no norm follows.
    """
    return norm != "batch"


def _num_halvings(image_size: int) -> int:
    """log2(image_size), checking that it is a power of two >= MIN_IMAGE_SIZE."""
    if isinstance(image_size, bool) or not isinstance(image_size, int):
        raise ValueError(f"image_size={image_size!r} must be an int")
    if image_size < MIN_IMAGE_SIZE or image_size & (image_size - 1):
        raise ValueError(f"image_size={image_size} must be a power of two >= {MIN_IMAGE_SIZE} (e.g. 64, 128, 256)")
    return int(math.log2(image_size))


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive int")


# --------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------


class MLPGenerator(nn.Module):
    """The lab's network, exactly: Linear 256, 512, 1024 with ReLU, then Linear C*S*S and Tanh.

    (N, in_features) -> (N, C, S, S), C = out_channels (3 in the lab's). At S=64, C=3:
    26 -> 256 -> 512 -> 1024 -> 12288, 13.2 M parameters.
    """

    def __init__(self, in_features: int = 26, image_size: int = 64, out_channels: int = 3):
        super().__init__()
        _check_positive(in_features=in_features, image_size=image_size, out_channels=out_channels)
        self.image_size = image_size
        self.model = nn.Sequential(
            nn.Linear(in_features, 256),
            nn.ReLU(True),
            nn.Linear(256, 512),
            nn.ReLU(True),
            nn.Linear(512, 1024),
            nn.ReLU(True),
            nn.Linear(1024, out_channels * image_size * image_size),
            nn.Tanh(),
            # A module rather than .view(N, ...) in forward: the batch size stays symbolic on export.
            nn.Unflatten(1, (out_channels, image_size, image_size)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_features) -> (N, C, S, S) in [-1, 1]."""
        return self.model(x)


class ConvDecoderGenerator(nn.Module):
    """DCGAN-style decoder from a vector: (N, in_features) -> (N, out_channels, S, S).

    The vector, seen as a 1x1 map, goes through ConvTranspose2d(k4) to a 4x4 map; then each stage
    doubles H and W with norm + ReLU; the last stage gives 3 channels and Tanh. Channels mirror
    the discriminators: base_filters at the last stage before the image, doubling towards the
    4x4 map up to a cap of base_filters * 8. At S=64: 4x4x8b -> 8x8x4b -> 16x16x2b -> 32x32xb ->
    64x64x3, DCGAN exactly; larger images add stages at 8b near the bottom.
    """

    def __init__(
        self,
        in_features: int = 26,
        image_size: int = 64,
        base_filters: int = 64,
        norm: str = "batch",
        upsample: str = "transpose",
        out_channels: int = 3,
    ):
        super().__init__()
        _check_positive(in_features=in_features, base_filters=base_filters, out_channels=out_channels)
        n_up = _num_halvings(image_size) - 2  # 4 -> image_size
        norm_layer, up, bias = get_norm_layer(norm), get_upsample_layer(upsample), _conv_bias(norm)
        # Channels of the maps at 4x4, 8x8, ..., S/2 x S/2.
        widths = [base_filters * min(2 ** (n_up - 1 - i), 8) for i in range(n_up)]
        layers: list[nn.Module] = [
            nn.Unflatten(1, (in_features, 1, 1)),
            # From a 1x1 map each output pixel has its own kernel weights: no checkerboard to avoid,
            # so this stays a transposed conv even with upsample="resize" or "bilinear".
            nn.ConvTranspose2d(in_features, widths[0], kernel_size=4, stride=1, padding=0, bias=bias),
            norm_layer(widths[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [up(c_in, c_out, bias), norm_layer(c_out), nn.ReLU(True)]
        layers += [up(widths[-1], out_channels, True), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_features) -> (N, out_channels, S, S) in [-1, 1]."""
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level, as pix2pix: down -> [submodule] -> up, with the input concatenated to the
    output (the skip) at every level but the outermost.

    (N, input_nc, H, W) -> (N, outer_nc + outer_nc, H, W), or (N, outer_nc, H, W) when outermost.
    Down: [LeakyReLU 0.2] Conv2d(k4, s2, p1) [norm], to inner_nc at H/2. Up: ReLU, upsample, norm
    (Tanh when outermost). The innermost level reaches the bottleneck and has no norm on its way
    down: at 1x1 instance norm would zero every channel, and batch norm would fail on a batch of one.
    """

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        input_nc: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm: str = "batch",
        dropout: bool = False,
        upsample: str = "transpose",
    ):
        super().__init__()
        if outermost and innermost:
            raise ValueError("a U-Net level cannot be both the outermost and the innermost")
        if (submodule is None) != innermost:
            raise ValueError("a U-Net level needs a submodule exactly when it is not the innermost one")
        self.outermost = outermost
        norm_layer, up, bias = get_norm_layer(norm), get_upsample_layer(upsample), _conv_bias(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        down_conv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=bias)
        # Not in place: x is also the skip. (pix2pix's in-place LeakyReLU rewrites the skip, but the
        # parent's ReLU makes ReLU(LeakyReLU(x)) == ReLU(x), so the outputs are the same.)
        down_relu = nn.LeakyReLU(0.2, inplace=False)
        up_relu = nn.ReLU(True)  # on a fresh tensor (a conv output or a concatenation)
        if outermost:
            # Level 0 reads the image itself (no activation first) and ends the network.
            layers = [down_conv, submodule, up_relu, up(inner_nc * 2, outer_nc, True), nn.Tanh()]
        elif innermost:
            layers = [down_relu, down_conv, up_relu, up(inner_nc, outer_nc, bias), norm_layer(outer_nc)]
        else:
            layers = [
                down_relu,
                down_conv,
                norm_layer(inner_nc),
                submodule,
                up_relu,
                up(inner_nc * 2, outer_nc, bias),
                norm_layer(outer_nc),
            ]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # `outermost` is fixed at construction: a constant for tracing and scripting.
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], dim=1)


class UNetGenerator(nn.Module):
    """pix2pix U-Net: (N, in_channels, S, S) -> (N, out_channels, S, S) in [-1, 1].

    log2(S) stride-2 downsamplings to a 1x1 bottleneck (6 at 64 px, 8 at 256 px, as pix2pix's
    unet_256), channels base_filters, 2b, 4b, 8b, then 8b for the deeper levels; the decoder
    mirrors it and concatenates the encoder's map at each level. `dropout` puts Dropout(0.5) on the
    8b -> 8b levels between the fourth and the innermost, as pix2pix.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        image_size: int = 64,
        base_filters: int = 64,
        norm: str = "batch",
        dropout: bool = False,
        upsample: str = "transpose",
    ):
        super().__init__()
        _check_positive(in_channels=in_channels, out_channels=out_channels, base_filters=base_filters)
        get_norm_layer(norm), get_upsample_layer(upsample)  # fail early with the user's names
        downs = _num_halvings(image_size)
        # widths[i]: channels after the (i+1)-th downsampling, at S / 2**(i+1).
        widths = [base_filters * min(2**i, 8) for i in range(downs)]
        kw = {"norm": norm, "upsample": upsample}
        block = UnetSkipConnectionBlock(widths[-2], widths[-1], innermost=True, **kw)
        for level in range(downs - 2, 0, -1):  # from the bottleneck outwards
            block = UnetSkipConnectionBlock(
                widths[level - 1], widths[level], submodule=block, dropout=dropout and level >= 4, **kw
            )
        self.model = UnetSkipConnectionBlock(
            out_channels, widths[0], input_nc=in_channels, submodule=block, outermost=True, **kw
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, S, S) -> (N, out_channels, S, S) in [-1, 1]."""
        return self.model(x)


class ResidualBlock(nn.Module):
    """Two reflection-padded 3x3 convs with a norm, added to the input (pix2pixHD's ResnetBlock)."""

    def __init__(self, channels: int, norm: str = "batch"):
        super().__init__()
        norm_layer, bias = get_norm_layer(norm), _conv_bias(norm)
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """pix2pixHD's global generator: (N, in_channels, S, S) -> (N, out_channels, S, S) in [-1, 1].

    A 7x7 conv to base_filters, `n_downsampling` stride-2 convs doubling the channels, `n_blocks`
    residual blocks at S / 2**n_downsampling, as many up-samplings halving them, a 7x7 conv and
    Tanh. pix2pixHD uses 4 down-samplings and 9 blocks at 1024x512; at 64-256 px 3 and 6 keep the
    bottleneck at 8-32 px, where one block still sees a good part of the body.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_filters: int = 64,
        n_downsampling: int = 3,
        n_blocks: int = 6,
        norm: str = "batch",
        upsample: str = "transpose",
    ):
        super().__init__()
        _check_positive(
            in_channels=in_channels, out_channels=out_channels, base_filters=base_filters, n_blocks=n_blocks
        )
        _check_positive(n_downsampling=n_downsampling)
        norm_layer, bias, up = get_norm_layer(norm), _conv_bias(norm), get_upsample_layer(upsample)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, base_filters, 7, bias=bias),
            norm_layer(base_filters),
            nn.ReLU(True),
        ]
        c = base_filters
        for _ in range(n_downsampling):
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias), norm_layer(2 * c), nn.ReLU(True)]
            c *= 2
        layers += [ResidualBlock(c, norm) for _ in range(n_blocks)]
        for _ in range(n_downsampling):
            layers += [up(c, c // 2, bias), norm_layer(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, S, S) -> (N, out_channels, S, S) in [-1, 1]."""
        return self.model(x)


# --------------------------------------------------------------------------------------------
# Discriminators
# --------------------------------------------------------------------------------------------


def _layer_outputs(layers: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of each LeakyReLU of `layers`, then the final output: what feature matching compares."""
    outputs = []
    for layer in layers:
        x = layer(x)
        if isinstance(layer, nn.LeakyReLU):
            outputs.append(x)
    outputs.append(x)
    return outputs


class PatchDiscriminator(nn.Module):
    """pix2pix's NLayerDiscriminator (PatchGAN): one logit per overlapping patch.

    (N, in_channels, S, S) -> (N, 1, S / 2**n_layers - 2, ...) logits, no sigmoid (use
    BCEWithLogits or LSGAN). n_layers=3 has a 70x70 receptive field: (N, 1, 6, 6) at 64 px, 30x30
    at 256 px. For a conditional D concatenate (condition, image) on channels: in_channels=6.
    """

    def __init__(self, in_channels: int = 6, base_filters: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        _check_positive(in_channels=in_channels, base_filters=base_filters, n_layers=n_layers)
        norm_layer, bias = get_norm_layer(norm), _conv_bias(norm)
        # No norm on the first layer (it would normalise the input image away), as pix2pix.
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_filters, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = base_filters
        for n in range(1, n_layers):
            c_next = base_filters * min(2**n, 8)
            layers += [nn.Conv2d(c, c_next, 4, 2, 1, bias=bias), norm_layer(c_next), nn.LeakyReLU(0.2, True)]
            c = c_next
        c_next = base_filters * min(2**n_layers, 8)
        layers += [nn.Conv2d(c, c_next, 4, 1, 1, bias=bias), norm_layer(c_next), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(c_next, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, 1, H', W') logits."""
        return self.model(x)

    def features(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """[[each layer's activations, ..., the logits]]: one scale."""
        return [_layer_outputs(self.model, x)]


class MultiscaleDiscriminator(nn.Module):
    """pix2pixHD's multi-scale discriminator: `scales` PatchGANs of the same shape, the k-th judging
    the image average-pooled k times (3x3, stride 2): the coarse ones see the whole body's
    layout, the fine one the texture. forward gives every scale's logits, flattened and
    concatenated: (N, P) for P patches over all scales."""

    def __init__(
        self,
        in_channels: int = 6,
        base_filters: int = 64,
        n_layers: int = 3,
        norm: str = "batch",
        scales: int = 2,
        image_size: int = 256,
    ):
        super().__init__()
        _check_positive(scales=scales, n_layers=n_layers)
        _num_halvings(image_size)
        # A coarse scale of a small image gets fewer layers, so that its logit map stays >= 2x2
        # (n stride-2 layers then two 4x4 convs: side / 2**n - 2).
        layers = [min(n_layers, int(math.log2(image_size / 2**k / 3))) for k in range(scales)]
        if min(layers) < 1:
            raise ValueError(f"model.d_scales={scales} halves a {image_size}-px image too often; use fewer scales")
        self.scales = nn.ModuleList([PatchDiscriminator(in_channels, base_filters, n, norm) for n in layers])
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([features[-1].flatten(1) for features in self.features(x)], dim=1)

    def features(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """Per scale (finest first), each layer's activations then the logits."""
        out = []
        for i, scale in enumerate(self.scales):
            if i:
                x = self.downsample(x)
            out.append(_layer_outputs(scale.model, x))
        return out


class DCGANDiscriminator(nn.Module):
    """The lab's discriminator: one probability per image.

    At 64 px exactly the lab's: Conv2d(3, 64, k4, s2, p1) LeakyReLU(0.2), then Conv(k4, s2, p1) +
    BatchNorm + LeakyReLU to 128, 256, 512 (a 4x4 map), Conv2d(512, 1, k4, s1, p0) to 1x1, Flatten,
    Sigmoid. Larger images insert stride-2 stages at 512 (base_filters * 8) channels so the map is
    still 4x4 before the last conv. (N, in_channels, S, S) -> (N, 1): probabilities, or logits
    with sigmoid=False (for BCEWithLogits, the numerically stable form of Sigmoid + BCELoss).
    """

    def __init__(
        self,
        in_channels: int = 3,
        image_size: int = 64,
        base_filters: int = 64,
        norm: str = "batch",
        sigmoid: bool = True,
    ):
        super().__init__()
        _check_positive(in_channels=in_channels, base_filters=base_filters)
        norm_layer, bias = get_norm_layer(norm), _conv_bias(norm)
        n_down = _num_halvings(image_size) - 2  # S -> 4x4
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_filters, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = base_filters
        for _ in range(n_down - 1):
            c_next = min(c * 2, base_filters * 8)
            layers += [nn.Conv2d(c, c_next, 4, 2, 1, bias=bias), norm_layer(c_next), nn.LeakyReLU(0.2, True)]
            c = c_next
        layers += [nn.Conv2d(c, 1, 4, 1, 0), nn.Flatten()]
        if sigmoid:
            layers.append(nn.Sigmoid())
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, S, S) -> (N, 1)."""
        return self.model(x)

    def features(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """[[each layer's activations, ..., the output]]: one scale."""
        return [_layer_outputs(self.model, x)]


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


def define_G(
    kind: str,
    image_size: int,
    base_filters: int = 64,
    norm: str = "batch",
    upsample: str = "transpose",
    dropout: bool = False,
    placement: bool = False,
    out_channels: int = 3,
    resnet_blocks: int = 6,
    history_channels: int = 0,
) -> nn.Module:
    """A generator by name. mlp: the lab's 26 -> 256 -> 512 -> 1024 -> C*S*S network; conv: a
    DCGAN-style decoder from the same vector; unet: pix2pix's U-Net and resnet: pix2pixHD's global
    generator (resnet_blocks residual blocks), both from the stick-figure image.
    With `placement`, PLACEMENT_FEATURES more input features (vector) or channels (image).
    out_channels: 3 (colour) or 4 (colour and the person's alpha). history_channels: more input
    channels for an image generator that also reads its previous frame (models' `temporal`)."""
    extra = PLACEMENT_FEATURES if placement else 0
    if history_channels and GENERATOR_INPUTS.get(kind) == "vector":
        raise ValueError(
            f"model.temporal=true needs a generator that reads images (unet or resnet), not model.generator={kind}"
        )
    extra += history_channels if GENERATOR_INPUTS.get(kind) == "stick" else 0
    if kind == "mlp":
        return MLPGenerator(VECTOR_SIZE + extra, image_size, out_channels)
    if kind == "conv":
        return init_weights(
            ConvDecoderGenerator(VECTOR_SIZE + extra, image_size, base_filters, norm, upsample, out_channels)
        )
    if kind == "unet":
        return init_weights(UNetGenerator(3 + extra, out_channels, image_size, base_filters, norm, dropout, upsample))
    if kind == "resnet":
        _num_halvings(image_size)  # the same sizes as the other generators
        down = 3 if image_size >= 64 else 2
        return init_weights(ResnetGenerator(3 + extra, out_channels, base_filters, down, resnet_blocks, norm, upsample))
    raise ValueError(f"model.generator={kind!r} is not known; use one of {', '.join(GENERATOR_INPUTS)}")


def define_D(
    kind: str,
    in_channels: int,
    image_size: int,
    base_filters: int = 64,
    n_layers: int = 3,
    norm: str = "batch",
    scales: int = 1,
) -> nn.Module:
    """A discriminator returning logits, by name: patch (pix2pix's PatchGAN; with scales > 1
    pix2pixHD's multi-scale one) or dcgan (the lab's). Each has `features(x)`: per scale, each
    layer's activations then the logits."""
    if kind == "patch" and scales > 1:
        return init_weights(MultiscaleDiscriminator(in_channels, base_filters, n_layers, norm, scales, image_size))
    if kind == "patch":
        return init_weights(PatchDiscriminator(in_channels, base_filters, n_layers, norm))
    if kind == "dcgan":
        return init_weights(DCGANDiscriminator(in_channels, image_size, base_filters, norm, sigmoid=False))
    raise ValueError(f"model.discriminator={kind!r} is not known; use one of {', '.join(DISCRIMINATORS)}")


# --------------------------------------------------------------------------------------------
# Utilities
# --------------------------------------------------------------------------------------------


def init_weights(net: nn.Module, init_type: str = "normal", init_gain: float = 0.02) -> nn.Module:
    """pix2pix initialisation, in place; returns `net`.

    Conv, transposed conv and linear weights: normal N(0, gain), xavier normal (gain), kaiming
    normal (fan_in, gain unused, as pix2pix) or orthogonal (gain); their biases 0. BatchNorm:
    weight ~ N(1, gain), bias 0.
    """
    if init_type not in INIT_TYPES:
        raise ValueError(f"init_type={init_type!r} is not known; use one of {', '.join(INIT_TYPES)}")

    def init(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if init_type == "normal":
                nn.init.normal_(m.weight, 0.0, init_gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(m.weight, gain=init_gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(m.weight, gain=init_gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, init_gain)
            nn.init.zeros_(m.bias)

    return net.apply(init)
