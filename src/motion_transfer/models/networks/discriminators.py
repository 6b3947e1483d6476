"""The discriminators: pix2pix's PatchGAN, pix2pixHD's multi-scale PatchGANs and the lab's DCGAN
discriminator; `define_D` picks one by name."""

from __future__ import annotations

import math

import torch
from torch import nn

from motion_transfer.models.networks.layers import (
    DISCRIMINATORS,
    _check_positive,
    _conv_bias,
    _num_halvings,
    get_norm_layer,
    init_weights,
)


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
