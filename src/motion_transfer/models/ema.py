"""An exponential moving average (EMA) of a generator's weights, used for inference.

Held-out scores of a generator trained on one short clip jump from epoch to epoch (val/psnr in
`make tensorboard`); the average of the recent weights is steadier and usually better than any single
one of them, as in Progressive GAN, StyleGAN and most diffusion models.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

#: Training steps between two updates of the average, each update weighted as that many steps
#: (decay ** steps): the average of the last ~200 steps barely moves in 4, and each update reads
#: and writes every weight (3% of a U-Net's CPU step when taken every step).
UPDATE_EVERY = 4


def make_ema(net: nn.Module) -> nn.Module:
    """A frozen copy of `net` to hold the average (no gradients, so no optimizer or DDP sees it)."""
    ema = copy.deepcopy(net)
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, net: nn.Module, decay: float, updates: int) -> None:
    """ema <- d * ema + (1 - d) * net, with d = min(decay, (1 + updates) / (10 + updates)).

    The warm-up keeps the first updates from being dominated by the random initial weights.
    Buffers (BatchNorm running statistics) are copied: they are averages already.
    """
    d = min(decay, (1.0 + updates) / (10.0 + updates))
    ema_params = [p for p in ema.parameters()]
    torch._foreach_lerp_(ema_params, [p.detach() for p in net.parameters()], 1.0 - d)
    for target, source in zip(ema.buffers(), net.buffers()):
        target.copy_(source)
