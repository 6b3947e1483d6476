"""The head refiner of appearance flow (`model.head_refiner=true`, after Everybody Dance Now's face GAN): a small
U-Net that redraws the head at four times the flow network's resolution.

The flow network sees the head at a few pixels; a wrong reference face (turned away, another expression) comes
out bent and smeared. The refiner reads the person as assembled at the larger crops' resolution over a patch
around the head (halfway between the nose and the neck, `data.datasets.head_centre`; a fixed share of the crop's
side, `patch / crop side`), the stick figure and the alpha there, and adds a correction. It trains on the detail
loss's head patches (data/datasets.py `PairDataset.add_fine`, `head_share` of them); at the output's resolution it
refines the same share of the person's side, its correction upsampled and faded out at the box's edges.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from motion_transfer.data.datasets import head_centre, window_grid
from motion_transfer.models.networks import define_G

#: The share of the detail loss's patches centred on the head when a refiner trains.
HEAD_SHARE = 0.5
#: The refiner's width: the first layer's filters (the flow U-Net of the experiments has 32).
HEAD_FILTERS = 16
#: How far into the head box, as a share of its side, the refiner's correction fades in from its edges.
FADE = 0.15


class HeadRefiner(nn.Module):
    """(stick (N, 3, P, P) in [-1, 1], rgb (N, 3, P, P) in [-1, 1], alpha (N, 1, P, P)) of a head patch ->
    the refined rgb: rgb plus the network's correction."""

    def __init__(self, patch: int):
        super().__init__()
        self.patch = int(patch)
        self.network = define_G("unet", patch, HEAD_FILTERS, "batch", "resize", out_channels=3, history_channels=4)

    def forward(self, stick: torch.Tensor, rgb: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return rgb + self.network(torch.cat([stick, rgb, alpha], dim=1))


def refined_patches(
    refiner: HeadRefiner, rgb: torch.Tensor, stick: torch.Tensor, alpha: torch.Tensor, batch: dict[str, torch.Tensor]
) -> torch.Tensor:
    """The detail loss's patches (N, 3, P, P) with those centred on the head (`fine_head`) refined: the stick
    figure and alpha at the network's size (N, C, S, S) upsampled onto them (`fine_layer_grid`)."""
    heads = batch["fine_head"] > 0
    if not bool(heads.any()):
        return rgb
    grid = batch["fine_layer_grid"][heads]
    up = F.grid_sample(
        torch.cat([stick[heads], alpha[heads]], dim=1),
        grid,
        mode="bilinear",
        padding_mode="border",
        align_corners=False,
    )
    out = rgb.clone()
    out[heads] = refiner(up[:, :3], rgb[heads], up[:, 3:])
    return out


def _fade(side: int) -> np.ndarray:
    """(side, side) weights: 1 inside, falling linearly to 0 over the outer FADE of the side."""
    ramp = np.clip((np.minimum(np.arange(side), np.arange(side)[::-1]) + 0.5) / max(FADE * side, 1.0), 0.0, 1.0)
    return np.minimum(ramp[:, None], ramp[None, :]).astype(np.float32)


@torch.no_grad()
def refine_heads(
    refiner: HeadRefiner,
    people: list[tuple[np.ndarray, np.ndarray]],
    skeletons: np.ndarray,
    stick: torch.Tensor,
    share: float,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """People at their own sides (rgb (side, side, 3) uint8, alpha (side, side) float32) with their heads
    refined: for each, the head box (`share` of the side around `head_centre` of its (13, 2) crop-coordinate
    skeleton in `skeletons`) cut, area-scaled to the refiner's patch, refined with the network-size `stick`
    (N, 3, S, S) sampled there, and the correction upsampled and added, fading out at the box's edges."""
    patch = refiner.patch
    device = next(refiner.parameters()).device
    crops, alphas, grids, boxes = [], [], [], []
    for (rgb, alpha), skeleton in zip(people, np.asarray(skeletons, dtype=np.float64)):
        side = rgb.shape[0]
        box = max(2, int(round(share * side)))
        cx, cy = head_centre(skeleton) * side
        x0 = int(min(max(round(cx - box / 2), 0), max(side - box, 0)))
        y0 = int(min(max(round(cy - box / 2), 0), max(side - box, 0)))
        box = min(box, side)
        boxes.append((x0, y0, box))
        crops.append(cv2.resize(rgb[y0 : y0 + box, x0 : x0 + box], (patch, patch), interpolation=cv2.INTER_AREA))
        alphas.append(cv2.resize(alpha[y0 : y0 + box, x0 : x0 + box], (patch, patch), interpolation=cv2.INTER_AREA))
        grids.append(window_grid(x0, y0, patch, side, step=box / patch))
    rgb = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().to(device) / 127.5 - 1.0
    alpha = torch.from_numpy(np.stack(alphas))[:, None].float().to(device)
    grid = torch.stack(grids).to(device)
    up = F.grid_sample(stick.float().to(device), grid, mode="bilinear", padding_mode="border", align_corners=False)
    was_training = refiner.training
    refiner.eval()
    correction = (refiner(up, rgb, alpha) - rgb).float().cpu().permute(0, 2, 3, 1).numpy() * np.float32(127.5)
    refiner.train(was_training)
    out = []
    for (person, person_alpha), (x0, y0, box), change in zip(people, boxes, correction):
        person = person.copy()
        change = cv2.resize(change, (box, box), interpolation=cv2.INTER_LINEAR) * _fade(box)[..., None]
        region = person[y0 : y0 + box, x0 : x0 + box].astype(np.float32) + change
        person[y0 : y0 + box, x0 : x0 + box] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
        out.append((person, person_alpha))
    return out
