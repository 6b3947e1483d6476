"""Building blocks chosen by name: norm layers, upsampling, weight initialisation, and the sizes and
kinds the networks accept."""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn

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
