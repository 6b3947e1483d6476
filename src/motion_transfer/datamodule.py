"""The (skeleton, target image) pairs of one target clip, split by time, as a LightningDataModule."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from .cache import CropParams, SkeletonCache, load_or_build_synthetic_cache, load_or_build_video_cache
from .crop import placement_features
from .drawing import render_stick_figures
from .errors import UserError
from .skeleton import sanitize, to_vector

log = logging.getLogger(__name__)

SUPPORTED_IMAGE_SIZES = (32, 64, 128, 256)
DATA_KINDS = ("synthetic", "video")
#: Fewest training frames a split may leave.
MIN_TRAIN_FRAMES = 16


@dataclass(frozen=True)
class TimeSplit:
    """Frame indices of a clip: training frames first, then a gap, then the validation block."""

    train: np.ndarray
    val: np.ndarray
    gap: int

    @property
    def val_start(self) -> int:
        return int(self.val[0]) if len(self.val) else -1


def time_split(usable: np.ndarray, val_fraction: float, gap: int) -> TimeSplit:
    """Split a clip by time: the last `val_fraction` of the frames validate, the `gap` frames
    before them are used by neither, so no training frame is a near-duplicate neighbour of a
    validation frame. Frames where `usable` is False are in neither set."""
    n = len(usable)
    n_val = max(1, int(round(n * val_fraction)))
    val_start = n - n_val
    train_end = max(0, val_start - gap)
    idx = np.arange(n)
    train = idx[:train_end][usable[:train_end]]
    val = idx[val_start:][usable[val_start:]]
    return TimeSplit(train=train, val=val, gap=gap)


def jitter_pairs(
    batch: dict[str, torch.Tensor], max_shift: int, generator: torch.Generator | None = None
) -> dict[str, torch.Tensor]:
    """Move each training pair (stick figure, image, and the pose vector with them) by one random
    offset of up to `max_shift` pixels, repeating edge pixels (pix2pix's random jitter).

    A generator then cannot tie the background to exact pixel positions of the poses it saw.
    """
    stick, image = batch["stick"], batch["image"]
    n, _, h, w = image.shape
    both = F.pad(torch.cat([stick, image], dim=1), (max_shift,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    moved = torch.stack([both[i, :, y : y + h, x : x + w] for i, (x, y) in enumerate(offsets.tolist())])
    # Content moves by (max_shift - offset) pixels; the vector holds crop coordinates scaled to [-1, 1].
    shift = (max_shift - offsets).to(batch["vector"]) * torch.tensor([2.0 / w, 2.0 / h]).to(batch["vector"])
    vector = (batch["vector"].view(n, -1, 2) + shift[:, None, :]).view(n, -1)
    return {**batch, "stick": moved[:, :3], "image": moved[:, 3:], "vector": vector}


def resize_crops(crops: np.ndarray, size: int) -> np.ndarray:
    """(N, R, R, 3) uint8 -> (N, size, size, 3) uint8 with area averaging (no aliasing)."""
    if crops.shape[1] == size:
        return np.array(crops, copy=True)  # writable: callers may draw on it
    out = np.empty((len(crops), size, size, 3), dtype=np.uint8)
    for i, c in enumerate(crops):
        out[i] = cv2.resize(np.asarray(c), (size, size), interpolation=cv2.INTER_AREA)
    return out


class PairDataset(Dataset):
    """In-memory pairs; images stay uint8 until asked for, to keep 256-px clips small."""

    def __init__(
        self, skeletons: np.ndarray, sticks: np.ndarray, images: np.ndarray, indices: np.ndarray, placements: np.ndarray
    ):
        self.vectors = torch.from_numpy(to_vector(skeletons))
        self.placements = torch.from_numpy(np.asarray(placements, dtype=np.float32))
        self.sticks = torch.from_numpy(np.ascontiguousarray(sticks)).permute(0, 3, 1, 2)
        self.images = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
        self.indices = torch.from_numpy(np.asarray(indices, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "vector": self.vectors[i],
            "stick": self.sticks[i].float() / 127.5 - 1.0,
            "image": self.images[i].float() / 127.5 - 1.0,
            "placement": self.placements[i],
            "index": self.indices[i],
        }


class SkeletonImageDataModule(L.LightningDataModule):
    """Pairs (skeleton as a 26-vector and as a stick-figure image, target crop) from one clip.

    kind="synthetic" renders the embedded default clip; kind="video" reads `target_video`
    through the skeleton cache. Images are in [-1, 1] at `image_size`.
    """

    def __init__(
        self,
        kind: str = "synthetic",
        target_video: str | None = None,
        synthetic_frames: int = 400,
        synthetic_seed: int = 0,
        image_size: int = 64,
        batch_size: int = 32,
        num_workers: int = 0,
        val_fraction: float = 0.15,
        gap_s: float = 1.0,
        jitter: float = 0.0,
        cache_dir: str = "outputs/cache",
        crop: dict | None = None,
        force_rebuild: bool = False,
        progress: bool = True,
    ):
        super().__init__()
        if kind not in DATA_KINDS:
            raise UserError(f"data.kind={kind!r} is not known; use one of {', '.join(DATA_KINDS)}.")
        if image_size not in SUPPORTED_IMAGE_SIZES:
            raise UserError(
                f"data.image_size={image_size} is not supported; use one of "
                f"{', '.join(map(str, SUPPORTED_IMAGE_SIZES))}."
            )
        if int(batch_size) < 1:
            raise UserError(f"data.batch_size={batch_size} must be at least 1.")
        if int(num_workers) < 0:
            raise UserError(f"data.num_workers={num_workers} must be 0 or more.")
        if not 0.0 < float(val_fraction) < 0.9:
            raise UserError(f"data.val_fraction={val_fraction} must be between 0 and 0.9.")
        if float(gap_s) < 0:
            raise UserError(f"data.gap_s={gap_s} must be 0 or more seconds.")
        if not 0.0 <= float(jitter) <= 0.25:
            raise UserError(f"data.jitter={jitter} must be between 0 (off) and 0.25 of the image side.")
        if kind == "video" and not target_video:
            raise UserError(
                "data.target_video is not set: give the target person's video, e.g. data.target_video=clips/target.mp4."
            )
        self.kind = kind
        self.target_video = target_video
        self.synthetic_frames = int(synthetic_frames)
        self.synthetic_seed = int(synthetic_seed)
        self.image_size = int(image_size)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.val_fraction = float(val_fraction)
        self.gap_s = float(gap_s)
        self.jitter = float(jitter)
        self.cache_dir = Path(cache_dir)
        self.crop_params = CropParams(**(dict(crop) if crop else {}))
        if self.crop_params.crop_size < self.image_size:
            raise UserError(
                f"data.crop.crop_size={self.crop_params.crop_size} is smaller than "
                f"data.image_size={self.image_size}; raise it."
            )
        self.force_rebuild = bool(force_rebuild)
        self.progress = bool(progress)
        self.cache: SkeletonCache | None = None
        self.split: TimeSplit | None = None
        self.train_set: PairDataset | None = None
        self.val_set: PairDataset | None = None

    # -- the clip -------------------------------------------------------------------------
    def load_cache(self, force: bool = False) -> SkeletonCache:
        if self.kind == "synthetic":
            return load_or_build_synthetic_cache(
                "target", self.synthetic_frames, self.synthetic_seed, self.cache_dir, self.crop_params, force
            )
        return load_or_build_video_cache(
            self.target_video, self.cache_dir, self.crop_params, force, self.progress, option="data.target_video"
        )

    def prepare_data(self) -> None:
        # Runs once per machine before setup: builds the cache if needed.
        self.cache = self.load_cache(force=self.force_rebuild)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        if self.cache is None:
            self.cache = self.load_cache()
        cache = self.cache
        skeletons, usable = sanitize(np.asarray(cache.skeletons))
        usable &= np.asarray(cache.detected, dtype=bool)
        gap = int(round(self.gap_s * cache.fps))
        self.split = time_split(usable, self.val_fraction, gap)
        if len(self.split.train) < MIN_TRAIN_FRAMES or len(self.split.val) < 1:
            raise UserError(
                f"the target clip '{cache.name}' has {int(usable.sum())} usable frames of {cache.n_frames}, too "
                "few for "
                f"data.val_fraction={self.val_fraction} and data.gap_s={self.gap_s} (need {MIN_TRAIN_FRAMES} "
                "training frames "
                "and 1 validation frame); use a longer video or lower those values."
            )
        self.train_set = self._pairs(skeletons, self.split.train)
        self.val_set = self._pairs(skeletons, self.split.val)
        log.info(
            "target %s: %d training frames, %d validation frames, gap %d",
            cache.name,
            len(self.split.train),
            len(self.split.val),
            gap,
        )

    def _pairs(self, skeletons: np.ndarray, indices: np.ndarray) -> PairDataset:
        images = resize_crops(self.cache.crops[indices], self.image_size)
        sticks = render_stick_figures(skeletons[indices], self.image_size)
        return PairDataset(skeletons[indices], sticks, images, indices, self.placements(indices))

    def placements(self, indices: np.ndarray) -> np.ndarray:
        """(N, 3) where the crops of these frames lie in the frame (see crop.placement_features)."""
        return placement_features(np.asarray(self.cache.boxes)[indices], tuple(self.cache.meta["frame_size"]))

    def typical_placement(self) -> np.ndarray:
        """(3,) the median placement of the training crops: where the target usually stands."""
        return np.median(self.placements(self.split.train), axis=0).astype(np.float32)

    # -- what models and the demo need ----------------------------------------------------
    @property
    def target_key(self) -> str:
        return self.cache.key

    @property
    def target_name(self) -> str:
        return self.cache.name

    def training_skeletons(self) -> np.ndarray:
        """(M, 13, 2) skeletons of the training frames, crop coordinates."""
        return np.asarray(self.cache.skeletons)[self.split.train]

    def fixed_val_batch(self, n: int = 8) -> dict[str, torch.Tensor]:
        """n validation pairs spread evenly over the validation block (the same every epoch)."""
        picks = np.unique(np.linspace(0, len(self.val_set) - 1, num=min(n, len(self.val_set))).round().astype(int))
        items = [self.val_set[int(i)] for i in picks]
        batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
        batch["position"] = torch.from_numpy(picks)  # rows of the validation set
        return batch

    # -- loaders ---------------------------------------------------------------------------
    def on_after_batch_transfer(self, batch: dict[str, torch.Tensor], dataloader_idx: int) -> dict[str, torch.Tensor]:
        # Training batches only: validation and evaluation see the frames as they are.
        max_shift = int(round(self.jitter * self.image_size))
        if (
            max_shift > 0
            and self.trainer is not None
            and self.trainer.training
            and self.trainer.lightning_module.takes_augmentation
        ):
            return jitter_pairs(batch, max_shift)
        return batch

    def train_dataloader(self) -> DataLoader:
        # A last short batch is dropped for gradient steps (BatchNorm), but a model that indexes
        # the frames in one epoch (nearest) must see every one of them.
        indexes_frames = self.trainer is not None and self.trainer.lightning_module.indexed_in_one_epoch
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            shuffle=True,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            drop_last=len(self.train_set) > self.batch_size and not indexes_frames,
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(
            self.val_set,
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
