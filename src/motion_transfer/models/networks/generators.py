"""The generators: the lab's MLP and a DCGAN-style decoder from the 26-vector, pix2pix's U-Net and
pix2pixHD's global generator from the stick-figure image; `define_G` picks one by name."""

from __future__ import annotations

import torch
from torch import nn

from motion_transfer.models.networks.layers import (
    GENERATOR_INPUTS,
    PLACEMENT_FEATURES,
    _check_positive,
    _conv_bias,
    _num_halvings,
    get_norm_layer,
    get_upsample_layer,
    init_weights,
)
from motion_transfer.pose.skeleton import VECTOR_SIZE


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
