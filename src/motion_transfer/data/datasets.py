"""The datasets of (skeleton, target image) pairs a model trains and is scored on, the resizing of a
cache's crops and masks to the model's image size, and the random jitter of training batches."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from motion_transfer.pose.skeleton import NOSE, SHOULDERS, to_vector

#: Per-pixel entries of a batch that move together under jitter, with their channel counts.
_JITTERED = (("stick", 3), ("image", 3), ("mask", 1), ("plate", 3), ("reference", 4))
#: How the entries of the frames before a training frame are named (ConsecutiveFrames).
HISTORY_PREFIXES = ("prev_", "prev2_")


def jitter_pairs(
    batch: dict[str, torch.Tensor], max_shift: int, generator: torch.Generator | None = None
) -> dict[str, torch.Tensor]:
    """Move each training pair (stick figure, image, and the pose vector, person mask and plate
    crop with them, where the batch has them; and those of the frames before it, for a temporal
    model) by one random offset of up to `max_shift` pixels, repeating edge pixels (pix2pix's
    random jitter).

    A generator then cannot tie the background to exact pixel positions of the poses it saw.
    """
    prefixes = ("", *HISTORY_PREFIXES)
    keys = [(p + k, c) for p in prefixes for k, c in _JITTERED if p + k in batch]
    image = batch["image"]
    n, _, h, w = image.shape
    stacked = torch.cat([batch[k].to(image.dtype) for k, _ in keys], dim=1)
    padded = F.pad(stacked, (max_shift,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    moved = torch.stack([padded[i, :, y : y + h, x : x + w] for i, (x, y) in enumerate(offsets.tolist())])
    # Content moves by (max_shift - offset) pixels; the vector holds crop coordinates scaled to [-1, 1].
    shift = (max_shift - offsets).to(batch["vector"]) * torch.tensor([2.0 / w, 2.0 / h]).to(batch["vector"])
    out = dict(batch)
    for key in [p + "vector" for p in prefixes if p + "vector" in batch]:
        out[key] = (batch[key].view(n, -1, 2) + shift[:, None, :]).view(n, -1)
    if "fine_layer_grid" in batch:  # where a flow model's detail patch now lies on its layers
        out["fine_layer_grid"] = batch["fine_layer_grid"] + shift[:, None, None, :].to(batch["fine_layer_grid"])
    start = 0
    for key, channels in keys:
        out[key] = moved[:, start : start + channels].to(batch[key].dtype)
        start += channels
    return out


def head_centre(skeleton: np.ndarray) -> np.ndarray:
    """(13, 2) skeleton -> (2,) the centre of its head patch, in the skeleton's units: halfway between the
    nose and the neck (the shoulders' midpoint), so that the patch holds the face, the neck and the shoulders."""
    neck = (skeleton[SHOULDERS[0]] + skeleton[SHOULDERS[1]]) / 2.0
    return (skeleton[NOSE] + neck) / 2.0


def window_grid(x0: float, y0: float, count: int, side: int, step: float = 1.0) -> torch.Tensor:
    """(count, count, 2) grid_sample positions (align_corners=False) of the pixel centres of a window of a (side,
    side) image: its top-left corner at pixel (x0, y0), its pixels `step` image pixels apart."""
    offsets = (torch.arange(count, dtype=torch.float32) + 0.5) * step
    xs, ys = (x0 + offsets) * (2.0 / side) - 1.0, (y0 + offsets) * (2.0 / side) - 1.0
    return torch.stack([xs[None, :].expand(count, count), ys[:, None].expand(count, count)], dim=-1)


def resize_crops(crops: np.ndarray, size: int) -> np.ndarray:
    """(N, R, R, 3) uint8 -> (N, size, size, 3) uint8 with area averaging (no aliasing)."""
    if crops.shape[1] == size:
        return np.array(crops, copy=True)  # writable: callers may draw on it
    out = np.empty((len(crops), size, size, 3), dtype=np.uint8)
    for i, c in enumerate(crops):
        out[i] = cv2.resize(np.asarray(c), (size, size), interpolation=cv2.INTER_AREA)
    return out


def resize_masks(masks: np.ndarray, size: int) -> np.ndarray:
    """(N, R, R) uint8 -> (N, size, size) uint8 with area averaging, like resize_crops."""
    if masks.shape[1] == size:
        return np.array(masks, copy=True)
    out = np.empty((len(masks), size, size), dtype=np.uint8)
    for i, m in enumerate(masks):
        out[i] = cv2.resize(np.asarray(m), (size, size), interpolation=cv2.INTER_AREA)
    return out


class PairDataset(Dataset):
    """In-memory pairs; images stay uint8 until asked for, to keep 256-px clips small.

    Items: vector (26,), stick and image (3, S, S) in [-1, 1], placement (3,), index (); with
    masks and plates given also mask (1, S, S) float32 in [0, 1], the person's mask, and plate
    (3, S, S) float32 in [-1, 1], the background plate cut at the frame's own crop box (`plates` may be a
    function that cuts them, called when they are first used); with
    `references` set (an appearance-flow model's training frames, (N, 4, S, S) uint8) also
    reference (4, S, S): another frame's person bent onto this pose, colours in [-1, 1], alpha in [0, 1];
    with `add_fine` also the entries of a flow model's detail loss (fine_...).
    """

    def __init__(
        self,
        skeletons: np.ndarray,
        sticks: np.ndarray,
        images: np.ndarray,
        indices: np.ndarray,
        placements: np.ndarray,
        masks: np.ndarray | None = None,
        plates: np.ndarray | Callable[[], np.ndarray] | None = None,
    ):
        self.vectors = torch.from_numpy(to_vector(skeletons))
        self.placements = torch.from_numpy(np.asarray(placements, dtype=np.float32))
        self.sticks = torch.from_numpy(np.ascontiguousarray(sticks)).permute(0, 3, 1, 2)
        self.images = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
        self.indices = torch.from_numpy(np.asarray(indices, dtype=np.int64))
        self.masks = None if masks is None else torch.from_numpy(np.ascontiguousarray(masks))[:, None]
        self._plates = plates
        self.references: torch.Tensor | None = None
        self.fine: tuple[np.ndarray, np.ndarray, torch.Tensor, int, float] | None = None

    @property
    def plates(self) -> torch.Tensor | None:
        """(N, 3, S, S) uint8 the plate crops, or None."""
        if self._plates is not None and not isinstance(self._plates, torch.Tensor):
            plates = self._plates() if callable(self._plates) else self._plates
            self._plates = torch.from_numpy(np.ascontiguousarray(plates)).permute(0, 3, 1, 2)
        return self._plates

    def add_fine(
        self, crops: np.ndarray, masks: np.ndarray, references: torch.Tensor, patch: int, head_share: float = 0.0
    ) -> None:
        """Give each item a patch of its frame at the cache's resolution R, for a flow model's detail loss:
        `crops` (F, R, R, 3) and `masks` (F, R, R) uint8 are the cache's arrays by frame number (read per item:
        they may be memory-mapped), `references` (N, 4, R, R) uint8 the items' references bent at R, `patch`
        the patch's side, centred on a random pixel of the person (on the head, between the nose and the neck,
        for a `head_share` of the items: a head refiner's training patches). Items then also hold fine_image
        (3, P, P) in [-1, 1], fine_mask (1, P, P) in [0, 1], fine_reference (4, R, R) uint8 (whole: the flow
        may reach outside the patch), fine_grid (P, P, 2), the patch's pixel centres in grid_sample's units,
        fine_layer_grid, the same until jitter moves it with the item's other entries, and fine_head () 1.0
        when the patch is centred on the head."""
        side = crops.shape[1]
        if not 0 < patch <= side or references.shape[2:] != (side, side) or len(references) != len(self):
            raise ValueError(f"fine references {tuple(references.shape)} and patch {patch} do not fit {side}-px crops")
        self.fine = (crops, masks, references, int(patch), float(head_share))

    def fine_entries(self, i: int) -> dict[str, torch.Tensor]:
        """The detail loss's entries of item i (see `add_fine`)."""
        crops, masks, references, patch, head_share = self.fine
        side = crops.shape[1]
        scale = side / self.images.shape[-1]
        person = torch.nonzero(self.masks[i, 0] > 127) if self.masks is not None else torch.empty(0, 2)
        on_head = bool(torch.rand(()) < head_share)
        if on_head:
            x, y = (head_centre(self.vectors[i].view(-1, 2).numpy()) + 1.0) / 2.0 * side
        elif len(person):
            y, x = (person[torch.randint(len(person), ())].float() + torch.rand(2)) * scale
        else:
            y, x = torch.rand(2) * side
        x0 = int(min(max(round(float(x) - patch / 2), 0), side - patch))
        y0 = int(min(max(round(float(y) - patch / 2), 0), side - patch))
        frame = int(self.indices[i])
        image = torch.from_numpy(np.ascontiguousarray(crops[frame, y0 : y0 + patch, x0 : x0 + patch]))
        mask = torch.from_numpy(np.ascontiguousarray(masks[frame, y0 : y0 + patch, x0 : x0 + patch]))
        grid = window_grid(x0, y0, patch, side)
        return {
            "fine_image": image.permute(2, 0, 1).float() / 127.5 - 1.0,
            "fine_mask": mask[None].float() / 255.0,
            "fine_reference": references[i],
            "fine_grid": grid,
            "fine_layer_grid": grid.clone(),
            "fine_head": torch.tensor(float(on_head)),
        }

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {
            "vector": self.vectors[i],
            "stick": self.sticks[i].float() / 127.5 - 1.0,
            "image": self.images[i].float() / 127.5 - 1.0,
            "placement": self.placements[i],
            "index": self.indices[i],
        }
        if self.masks is not None:
            item["mask"] = self.masks[i].float() / 255.0
        if self.plates is not None:
            item["plate"] = self.plates[i].float() / 127.5 - 1.0
        if self.references is not None:
            reference = self.references[i].float()
            item["reference"] = torch.cat([reference[:3] / 127.5 - 1.0, reference[3:] / 255.0])
        if self.fine is not None:
            item.update(self.fine_entries(i))
        return item


class ConsecutiveFrames(Dataset):
    """The items of `pairs` that follow two frames of their own clip (consecutive frame numbers,
    all in `pairs`), each with those two frames' entries too, named "prev_..." (the frame before)
    and "prev2_..." (the one before that): what a temporal generator trains on."""

    def __init__(self, pairs: PairDataset):
        self.pairs = pairs
        numbers = pairs.indices.numpy()
        history = len(HISTORY_PREFIXES)
        follows = np.zeros(len(numbers), dtype=bool)
        follows[history:] = True
        for k in range(1, history + 1):
            follows[history:] &= numbers[history:] - numbers[history - k : len(numbers) - k] == k
        self.positions = np.flatnonzero(follows)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        position = int(self.positions[i])
        item = self.pairs[position]
        for k, prefix in enumerate(HISTORY_PREFIXES, start=1):
            item.update({prefix + key: value for key, value in self.pairs[position - k].items()})
        return item
