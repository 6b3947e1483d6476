"""Appearance flow (`model.flow=true`): the network decides where each pixel of the person comes from, and the
pixels come from a reference frame of the target at the output's own resolution.

The reference is the target's stored frame that needs the least bending (the warp's choice, models/warp.py),
already bent onto the asked skeleton by render/warp.py: the network sees it at its own size, beside the stick
figure, and draws four layers there: a flow into the reference (a correction of the bending, up to FLOW_REACH of
the side), a blend between the reference's colours and its own, its own colours, and the person's alpha. The flow
is smooth, so the same layers upsampled to the box's side move the reference's full-resolution pixels
(`assemble_native`): the network stays CPU-sized and the detail is the target's own. Where the reference shows
nobody (a hole the bending left, a limb it never showed) the drawn colours are used.

Training pairs each frame with a reference at least `gap` frames away (`training_reference_rows`): a frame is
never its own reference, so the flow and the colours have real work to do.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from motion_transfer.pose.skeleton import NUM_JOINTS
from motion_transfer.render.warp import warp_person

log = logging.getLogger(__name__)

#: What the network reads of the reference: its colours times its alpha, and its alpha.
REFERENCE_CHANNELS = 4
#: What the network draws beside the colours and the alpha: the flow (x, y) and the blend.
FLOW_OUTPUTS = 3
#: The largest displacement the flow can ask for, as a share of the side (tanh's [-1, 1] times this): the
#: reference is already bent onto the pose, so the flow only corrects it.
FLOW_REACH = 0.25
#: How the reference's full-resolution pixels are resampled where the flow moves them.
RESAMPLING = cv2.INTER_CUBIC


class FlowLayers(NamedTuple):
    """A flow model's person at the network's size: `rgb` and `alpha` assembled from the network's layers
    (`colours`, `flow`, `blend`: split_outputs) and the `reference` it read."""

    rgb: torch.Tensor
    alpha: torch.Tensor
    colours: torch.Tensor
    flow: torch.Tensor
    blend: torch.Tensor
    reference: torch.Tensor


def reference_input(reference: torch.Tensor) -> torch.Tensor:
    """(N, 4, S, S) reference (colours in [-1, 1], alpha in [0, 1]) -> what the network reads: the colours
    premultiplied by the alpha (nobody reads as zeros) and the alpha."""
    return torch.cat([reference[:, :3] * reference[:, 3:], reference[:, 3:]], dim=1)


def split_outputs(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A flow network's (N, 7, S, S) tanh outputs -> colours (N, 3, S, S) in [-1, 1], alpha (N, 1, S, S) in
    [0, 1], flow (N, 2, S, S) in grid_sample's units (the side spans 2) and blend (N, 1, S, S) in [0, 1]."""
    colours = out[:, :3]
    alpha = (out[:, 3:4] + 1.0) * 0.5
    flow = out[:, 4:6] * (2.0 * FLOW_REACH)
    blend = (out[:, 6:7] + 1.0) * 0.5
    return colours, alpha, flow, blend


def sample(reference: torch.Tensor, flow: torch.Tensor, at: torch.Tensor | None = None) -> torch.Tensor:
    """Each output pixel taken from the reference (N, C, R, R) where the flow (N, 2, H, W) points: its own
    position (`at`, (N, H, W, 2) in grid_sample's units; the pixel centres of an (H, W) image spanning the
    reference when None) plus the flow, bilinear, nobody (zeros) outside."""
    if at is None:
        h, w = flow.shape[2:]
        # Pixel centres in grid_sample's units (align_corners=False), built from aranges: exports to ONNX opset 17.
        xs = (torch.arange(w, dtype=flow.dtype, device=flow.device) * 2.0 + 1.0) / w - 1.0
        ys = (torch.arange(h, dtype=flow.dtype, device=flow.device) * 2.0 + 1.0) / h - 1.0
        at = torch.stack([xs[None, :].expand(h, w), ys[:, None].expand(h, w)], dim=-1)[None]
    grid = at + flow.permute(0, 2, 3, 1)
    return F.grid_sample(reference, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def assemble(
    colours: torch.Tensor, alpha: torch.Tensor, flow: torch.Tensor, blend: torch.Tensor, reference: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The person at the network's size: the reference moved by the flow where the blend takes it and the
    reference shows the person, the drawn colours elsewhere; the drawn alpha. (rgb, alpha)."""
    moved = sample(reference, flow)
    take = blend * moved[:, 3:]
    return colours + take * (moved[:, :3] - colours), alpha


def fine_person(
    colours: torch.Tensor, flow: torch.Tensor, blend: torch.Tensor, batch: dict[str, torch.Tensor]
) -> torch.Tensor:
    """The person at the larger crops' resolution on the patch each training item cut (data/datasets.py,
    `PairDataset.add_fine`), (N, 3, P, P): the network's layers (at its size) upsampled there (bilinear, at
    `fine_layer_grid`, where the patch lies after jitter) and the reference at that resolution moved by the flow
    (from `fine_grid`)."""
    layers = torch.cat([colours, flow, blend], dim=1)
    up = F.grid_sample(layers, batch["fine_layer_grid"], mode="bilinear", padding_mode="border", align_corners=False)
    colours, blend = up[:, :3], up[:, 5:6]
    # The reference stays on uint8's scale (0..255) through the sampling, which is linear: only the (N, 4, P, P)
    # samples are rescaled, not the (N, 4, R, R) reference.
    moved = sample(batch["fine_reference"].float(), up[:, 3:5], batch["fine_grid"])
    take = blend * moved[:, 3:] * (1.0 / 255.0)
    return colours + take * (moved[:, :3] * (1.0 / 127.5) - 1.0 - colours)


def masked_l1(rgb: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The detail loss: L1 between the patches (N, 3, P, P) and the real ones inside the person's mask. Upsampled
    drawn colours lose to the reference's sharp pixels here, and the flow must line those pixels up to a pixel of
    the larger crop."""
    mask = batch["fine_mask"]
    return ((rgb - batch["fine_image"]).abs() * mask).sum() / (3.0 * mask.sum()).clamp_min(1.0)


#: Drawn alpha below this counts as nobody at the output's resolution: the person is assembled only where it is above.
NOBODY_ALPHA = 1.0 / 512.0


def _upsampled(layer: np.ndarray, side: int, x0: int, y0: int, w: int, h: int) -> np.ndarray:
    """The (w, h) window at (x0, y0) of `layer` (S, S[, C]) resized bilinearly to (side, side), as cv2.resize
    samples it (pixel centres aligned), without resizing the rest."""
    k = layer.shape[0] / side
    m = np.float32([[k, 0, (x0 + 0.5) * k - 0.5], [0, k, (y0 + 0.5) * k - 0.5]])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(layer, m, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def assemble_native(
    colours: np.ndarray,
    alpha: np.ndarray,
    flow: np.ndarray,
    blend: np.ndarray,
    bent_rgb: np.ndarray,
    bent_alpha: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """`assemble` at the reference's own resolution: colours (S, S, 3) uint8, alpha, blend (S, S) and flow
    (S, S, 2) float32 at the network's size, and the bent reference (side, side, 3) uint8 with its alpha (side,
    side) float32 -> the person (side, side, 3) uint8 and its alpha (side, side) float32. The layers are
    upsampled (bilinear: they are smooth); the pixels come from the reference at its full resolution. Only the
    box where the drawn alpha reaches NOBODY_ALPHA is assembled (a person is narrower than its square); outside
    it the person is nobody (alpha 0, black)."""
    side, small = bent_rgb.shape[0], alpha.shape[0]
    rgb_out = np.zeros((side, side, 3), dtype=np.uint8)
    alpha_out = np.zeros((side, side), dtype=np.float32)
    x, y, w, h = cv2.boundingRect((alpha >= NOBODY_ALPHA).astype(np.uint8))
    if w == 0 or h == 0:
        return rgb_out, alpha_out
    # Bilinear upsampling reaches one small pixel further; in the output's pixels, rounded outwards.
    scale = side / small
    x0, y0 = max(0, int((x - 1) * scale)), max(0, int((y - 1) * scale))
    x1, y1 = min(side, int(np.ceil((x + w + 1) * scale))), min(side, int(np.ceil((y + h + 1) * scale)))
    w, h = x1 - x0, y1 - y0
    up = _upsampled(flow, side, x0, y0, w, h) * np.float32(side / 2.0)
    map_x = up[..., 0] + np.arange(x0, x1, dtype=np.float32)[None, :]
    map_y = up[..., 1] + np.arange(y0, y1, dtype=np.float32)[:, None]
    moved_rgb = cv2.remap(bent_rgb, map_x, map_y, RESAMPLING, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    moved_alpha = cv2.remap(bent_alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    take = _upsampled(blend, side, x0, y0, w, h) * moved_alpha
    drawn = _upsampled(colours, side, x0, y0, w, h)
    # blendLinear divides by the weights' sum, which is 1 here.
    rgb_out[y0:y1, x0:x1] = cv2.blendLinear(moved_rgb, drawn, take, np.float32(1.0) - take)
    alpha_out[y0:y1, x0:x1] = _upsampled(alpha, side, x0, y0, w, h)
    alpha_out[alpha_out < NOBODY_ALPHA] = 0.0
    return rgb_out, alpha_out


def training_reference_rows(bank, gap: int) -> np.ndarray:
    """For each row of `bank`'s index (a models/warp.WarpGenerator), the row it trains with as its reference:
    among the rows at least `gap` frames away, the `candidates` nearest poses, then the one that needs the least
    bending after its torso is aligned (the warp's own choice, made without the frame's neighbours). -1 where no
    row is that far."""
    from motion_transfer.models.warp import torso_residuals

    vectors = bank.index_vectors.float().cpu()
    frames = bank.index_frames.cpu().numpy()
    distances = torch.cdist(vectors, vectors)
    near = torch.from_numpy(np.abs(frames[:, None] - frames[None, :]) < gap)
    distances[near] = float("inf")
    k = max(1, min(int(bank.hparams.candidates), len(frames)))
    top = torch.topk(distances, k, dim=1, largest=False)
    skeletons = bank.skeletons_of_rows(np.arange(len(frames)))
    rows = np.full(len(frames), -1, dtype=np.int64)
    for i, (candidates, finite) in enumerate(zip(top.indices.numpy(), torch.isfinite(top.values).numpy())):
        candidates = candidates[finite]
        if len(candidates):
            residuals = torso_residuals(bank.skeletons_of_rows(candidates), skeletons[i])
            rows[i] = candidates[int(np.argmin(residuals))]
    return rows


def pair_training_references(bank, datamodule, size: int, detail: bool = False, head_share: float = 0.0) -> None:
    """Fill `bank` (a models/warp.WarpGenerator) with the datamodule's training frames and give each its
    reference: the frame that needs the least bending among those at least data.gap_s away, bent onto it at
    `size` (`train_set.references`, moved by jitter with the rest of the item); each held-out frame that
    chooses checkpoints gets the reference drawing would find for it (`select_set.references`), once. With
    `detail` (and cache crops larger than `size`) the training frames' references are bent at the crops'
    resolution too, for the detail loss on patches of that size (`PairDataset.add_fine`, `head_share` of them
    on the head)."""
    start = time.perf_counter()
    train, cache = datamodule.train_set, datamodule.cache
    bank.set_index(train.vectors, train.images, train.indices, train.masks)
    bank.frame_skeletons = np.asarray(cache.skeletons, dtype=np.float64)
    gap = max(1, int(round(datamodule.gap_s * cache.fps)))
    rows = training_reference_rows(bank, gap)
    # The bank is sorted by frame number; the training set may not be.
    rows = rows[np.searchsorted(bank.index_frames.cpu().numpy(), train.indices.numpy())]
    skeletons = (train.vectors.numpy().reshape(len(train), -1, 2) + 1.0) / 2.0
    train.references = bent_references(bank, rows, skeletons, size, uint8=True)
    crop_side = int(cache.crops.shape[1])
    if detail and crop_side > size:
        fine = bent_references(bank, rows, skeletons, crop_side, cache.crops, cache.masks, uint8=True)
        train.add_fine(cache.crops, cache.masks, fine, patch=size, head_share=head_share)
    select = datamodule.select_set
    if select is not None and len(select):
        bank.reset_sequence()  # the held-out frames in clip order are one sequence
        skeletons = (select.vectors.numpy().reshape(len(select), -1, 2) + 1.0) / 2.0
        rows, _ = bank.choose_rows(skeletons)
        select.references = bent_references(bank, rows, skeletons, size, uint8=True)
        bank.reset_sequence()
    log.info(
        "appearance flow: %d training frames, each with a reference at least %d frames away%s, in %.1f s",
        len(train),
        gap,
        f" (and at {crop_side} px for the detail loss)" if train.fine is not None else "",
        time.perf_counter() - start,
    )


def scaled_references(people: list[tuple[np.ndarray, np.ndarray]], size: int) -> torch.Tensor:
    """People bent at their own sides, (rgb (side, side, 3) uint8, alpha (side, side) float32) each -> (N, 4,
    size, size) float32 references as `bent_references` gives them, area-averaged to the network's size."""
    out = torch.zeros(len(people), REFERENCE_CHANNELS, size, size)
    for i, (rgb, alpha) in enumerate(people):
        small = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
        out[i, :3] = torch.from_numpy(small).permute(2, 0, 1).float() / 127.5 - 1.0
        out[i, 3] = torch.from_numpy(cv2.resize(alpha, (size, size), interpolation=cv2.INTER_AREA))
    return out


def bent_references(
    bank,
    rows: np.ndarray,
    skeletons: np.ndarray,
    size: int,
    crops: np.ndarray | None = None,
    masks: np.ndarray | None = None,
    uint8: bool = False,
) -> torch.Tensor:
    """The index crops of `rows` (at the bank's image size) bent onto the (N, 13, 2) crop-coordinate
    `skeletons` at `size` px -> (N, 4, size, size) float32 references: colours in [-1, 1], alpha in [0, 1]
    (with `uint8`: colours and alpha on 0..255, as a dataset keeps them). With `crops` and `masks` (a cache's (F, R,
    R, 3) and (F, R, R) uint8 arrays, by frame number) the rows' frames come from those, at their resolution.
    A row of -1 gives nobody (zeros)."""
    out = torch.zeros(len(rows), REFERENCE_CHANNELS, size, size, dtype=torch.uint8 if uint8 else torch.float32)
    skeletons = np.asarray(skeletons, dtype=np.float64).reshape(len(rows), NUM_JOINTS, 2)
    for i, (row, skeleton) in enumerate(zip(np.asarray(rows), skeletons)):
        if row < 0:
            continue
        if crops is None:
            image = np.ascontiguousarray(bank.index_images[row].permute(1, 2, 0).cpu().numpy())
            mask = np.ascontiguousarray(bank.index_masks[row, 0].cpu().numpy())
        else:
            frame = int(bank.index_frames[row])
            image, mask = np.ascontiguousarray(crops[frame]), np.ascontiguousarray(masks[frame])
        joints = bank.skeletons_of_rows(np.array([row]))[0] * image.shape[0]
        bent = warp_person(image, mask, joints, skeleton * size, size, bank.method)
        rgb, alpha = torch.from_numpy(bent.rgb).permute(2, 0, 1), torch.from_numpy(bent.alpha)
        if uint8:
            out[i, :3], out[i, 3] = rgb, (alpha.clamp(0, 1) * 255.0).round().to(torch.uint8)
        else:
            out[i, :3], out[i, 3] = rgb.float() / 127.5 - 1.0, alpha
    return out
