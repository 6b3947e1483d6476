"""The networks, in one readable module (after pix2pix's models/networks.py).

Every constructor takes only ints, floats, strings and bools, so that Lightning saves them as
hyperparameters that load with `torch.load(weights_only=True)`. Depths follow `image_size`
(any power of two >= 32), so 64, 128 and 256 px need no code change. Images are in [-1, 1], NCHW.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

NORMS = ("batch", "instance", "none")
UPSAMPLES = ("transpose", "resize")
INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")


def get_norm_layer(name: str) -> Callable[[int], nn.Module]:
    """A factory of 2-D norm layers by name: batch (affine), instance (no affine), none."""
    if name == "batch":
        return lambda c: nn.BatchNorm2d(c, affine=True)
    if name == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)
    if name == "none":
        return lambda c: nn.Identity()
    raise ValueError(f"norm={name!r} is not known; use one of {', '.join(NORMS)}")


def _check_size(image_size: int, minimum: int = 32) -> int:
    if image_size < minimum or image_size & (image_size - 1):
        raise ValueError(f"image_size={image_size} must be a power of two >= {minimum}")
    return int(math.log2(image_size))


def _upsample(in_c: int, out_c: int, mode: str, bias: bool) -> nn.Module:
    """Double the resolution: a 4x4 stride-2 transposed conv, or nearest resize + 3x3 conv
    (the latter avoids the checkerboard pattern of overlapping transposed kernels)."""
    if mode == "transpose":
        return nn.ConvTranspose2d(in_c, out_c, 4, 2, 1, bias=bias)
    if mode == "resize":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_c, out_c, 3, 1, 1, bias=bias))
    raise ValueError(f"upsample={mode!r} is not known; use one of {', '.join(UPSAMPLES)}")


class MLPGenerator(nn.Module):
    """The lab's network, exactly: (N, in) -> Linear 256 -> 512 -> 1024 -> 3*S*S, ReLU, Tanh -> (N, 3, S, S)."""

    def __init__(self, in_features: int = 26, image_size: int = 64):
        super().__init__()
        self.image_size = image_size
        self.model = nn.Sequential(
            nn.Linear(in_features, 256), nn.ReLU(True),
            nn.Linear(256, 512), nn.ReLU(True),
            nn.Linear(512, 1024), nn.ReLU(True),
            nn.Linear(1024, 3 * image_size * image_size), nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).view(-1, 3, self.image_size, self.image_size)


class ConvDecoderGenerator(nn.Module):
    """DCGAN-style decoder from a vector: (N, in) -> 4x4 map of base*8 channels -> x2 stages -> (N, 3, S, S)."""

    def __init__(self, in_features: int = 26, image_size: int = 64, base_filters: int = 64, norm: str = "batch", upsample: str = "transpose"):
        super().__init__()
        stages = _check_size(image_size) - 2  # 4 -> image_size
        norm_layer = get_norm_layer(norm)
        bias = norm != "batch"
        channels = [min(base_filters * 2 ** (stages - 1 - i), base_filters * 8) for i in range(stages)]
        self.start_channels = channels[0]
        self.project = nn.Sequential(nn.Linear(in_features, channels[0] * 16, bias=bias))
        self.project_norm = nn.Sequential(norm_layer(channels[0]), nn.ReLU(True))
        layers: list[nn.Module] = []
        for i in range(stages - 1):
            layers += [_upsample(channels[i], channels[i + 1], upsample, bias), norm_layer(channels[i + 1]), nn.ReLU(True)]
        layers += [_upsample(channels[-1], 3, upsample, True), nn.Tanh()]
        self.decode = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.project(x).view(-1, self.start_channels, 4, 4)
        return self.decode(self.project_norm(h))


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: down -> [submodule] -> up, with the input concatenated to the output
    (except at the outermost level). Shapes: (N, outer_nc, H, W) -> (N, 2*outer_nc or out, H, W)."""

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None, submodule: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, norm: str = "batch", dropout: bool = False,
                 upsample: str = "transpose", output_nc: int | None = None):
        super().__init__()
        self.outermost = outermost
        norm_layer = get_norm_layer(norm)
        bias = norm == "instance"
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=bias)
        downrelu, uprelu = nn.LeakyReLU(0.2, True), nn.ReLU(True)
        if outermost:
            up = [uprelu, _upsample(inner_nc * 2, output_nc or outer_nc, upsample, True), nn.Tanh()]
            down = [downconv]
            layers = down + [submodule] + up
        elif innermost:
            # The 1x1 bottleneck has no norm (batch norm over one pixel would zero it).
            up = [uprelu, _upsample(inner_nc, outer_nc, upsample, bias), norm_layer(outer_nc)]
            layers = [downrelu, downconv] + up
        else:
            down = [downrelu, downconv, norm_layer(inner_nc)]
            up = [uprelu, _upsample(inner_nc * 2, outer_nc, upsample, bias), norm_layer(outer_nc)]
            layers = down + [submodule] + up + ([nn.Dropout(0.5)] if dropout else [])
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UNetGenerator(nn.Module):
    """pix2pix U-Net: (N, in_channels, S, S) -> (N, out_channels, S, S), log2(S) downsamplings to 1x1,
    channels doubling from base_filters to a cap of base_filters*8, skips at every level."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, image_size: int = 64, base_filters: int = 64,
                 norm: str = "batch", dropout: bool = False, upsample: str = "transpose"):
        super().__init__()
        downs = _check_size(image_size)
        nf = base_filters
        kw = {"norm": norm, "upsample": upsample}
        block = UnetSkipConnectionBlock(nf * 8, nf * 8, innermost=True, **kw)
        for _ in range(downs - 5):  # extra levels at the cap, as pix2pix's num_downs - 5
            block = UnetSkipConnectionBlock(nf * 8, nf * 8, submodule=block, dropout=dropout, **kw)
        block = UnetSkipConnectionBlock(nf * 4, nf * 8, submodule=block, **kw)
        block = UnetSkipConnectionBlock(nf * 2, nf * 4, submodule=block, **kw)
        block = UnetSkipConnectionBlock(nf, nf * 2, submodule=block, **kw)
        self.model = UnetSkipConnectionBlock(out_channels, nf, input_nc=in_channels, submodule=block, outermost=True, output_nc=out_channels, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """pix2pix PatchGAN (70x70 for n_layers=3): (N, in_channels, S, S) -> (N, 1, S/8-2, S/8-2) logits."""

    def __init__(self, in_channels: int = 6, base_filters: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        norm_layer = get_norm_layer(norm)
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_filters, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(base_filters * prev, base_filters * mult, 4, 2, 1, bias=bias), norm_layer(base_filters * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(base_filters * prev, base_filters * mult, 4, 1, 1, bias=bias), norm_layer(base_filters * mult), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(base_filters * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class DCGANDiscriminator(nn.Module):
    """The lab's discriminator: 3 -> 64 -> 128 -> 256 -> 512 -> 1 with 4x4 stride-2 convs,
    LeakyReLU 0.2, BatchNorm (not on the first), then a 4x4 valid conv to 1x1, Flatten, Sigmoid.
    (N, in_channels, S, S) -> (N, 1). Larger images get extra stride-2 stages at 512 channels."""

    def __init__(self, in_channels: int = 3, image_size: int = 64, base_filters: int = 64, norm: str = "batch", sigmoid: bool = True):
        super().__init__()
        stages = _check_size(image_size) - 2  # down to 4x4
        norm_layer = get_norm_layer(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_filters, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        c = base_filters
        for _ in range(stages - 1):
            nxt = min(c * 2, base_filters * 8)
            layers += [nn.Conv2d(c, nxt, 4, 2, 1, bias=False), norm_layer(nxt), nn.LeakyReLU(0.2, True)]
            c = nxt
        layers += [nn.Conv2d(c, 1, 4, 1, 0, bias=False), nn.Flatten()]
        if sigmoid:
            layers.append(nn.Sigmoid())
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def init_weights(net: nn.Module, init_type: str = "normal", init_gain: float = 0.02) -> nn.Module:
    """pix2pix initialisation: conv/linear weights by `init_type`, BatchNorm weight ~ N(1, gain), biases 0."""
    if init_type not in INIT_TYPES:
        raise ValueError(f"init_type={init_type!r} is not known; use one of {', '.join(INIT_TYPES)}")

    def init(m: nn.Module) -> None:
        name = type(m).__name__
        if hasattr(m, "weight") and m.weight is not None and ("Conv" in name or "Linear" in name):
            if init_type == "normal":
                nn.init.normal_(m.weight, 0.0, init_gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(m.weight, gain=init_gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(m.weight, gain=init_gain)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif "BatchNorm2d" in name:
            nn.init.normal_(m.weight, 1.0, init_gain)
            nn.init.zeros_(m.bias)

    return net.apply(init)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
