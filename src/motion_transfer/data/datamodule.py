"""The (skeleton, target image) pairs of one target clip, split by time, as a LightningDataModule."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from motion_transfer.data.cache import SkeletonCache, load_or_build_synthetic_cache, load_or_build_video_cache
from motion_transfer.data.datasets import ConsecutiveFrames, PairDataset, jitter_pairs, resize_crops, resize_masks
from motion_transfer.data.options import check_background_file, check_crop_size, check_data_options
from motion_transfer.data.person_store import PersonStore, load_or_build_person_store
from motion_transfer.data.plate import STATIC_CAMERA_MAX_RESIDUAL
from motion_transfer.data.registration import Scene, map_boxes
from motion_transfer.pose.crop import CropParams, placement_features
from motion_transfer.pose.drawing import render_stick_figures
from motion_transfer.pose.skeleton import sanitize
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)

#: Fewest training frames a split may leave.
MIN_TRAIN_FRAMES = 16
#: A user's background image may differ from the frames' aspect ratio by this share (then it is resized).
BACKGROUND_ASPECT_TOLERANCE = 0.01


@dataclass(frozen=True)
class TimeSplit:
    """Frame indices of a clip: training frames first, then a gap, then the held-out block `val`.

    The held-out block is cut in two by time: choices made on held-out frames (the checkpoint
    kept by its validation loss) are made on `select`, its first half, and figures are reported
    on `score`, the second half, so that nothing reported was chosen on the frames it is scored on.
    """

    train: np.ndarray
    val: np.ndarray
    gap: int

    @property
    def select(self) -> np.ndarray:
        """The first half of the held-out block (all of it when it has a single frame)."""
        return self.val[: len(self.val) // 2] if len(self.val) > 1 else self.val

    @property
    def score(self) -> np.ndarray:
        """The second half of the held-out block: the frames every figure is reported on."""
        return self.val[len(self.val) // 2 :]

    @property
    def val_start(self) -> int:
        """The first scored frame."""
        return int(self.score[0]) if len(self.score) else -1


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


class SkeletonImageDataModule(L.LightningDataModule):
    """Pairs (skeleton as a 26-vector and as a stick-figure image, target crop) from one clip.

    kind="synthetic" renders the embedded default clip; kind="video" reads `target_video`
    through the skeleton cache. Images are in [-1, 1] at `image_size`.

    Full-frame output: `scene` (registration.Scene) is the target's background in every frame, the
    cache's estimate (a static camera's plate, or a moving camera's registered scene) or the
    user's image `background` (png/jpg of the frame size or of its aspect ratio); `plate` (H, W,
    3) uint8 RGB is the view full-frame output is drawn in (the scene's reference frame);
    `has_plate` says whether they can be used (always True for a user's image). Each item also
    carries the person's `mask` and its frame's plate cut at its crop box.
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
        background: str | None = None,
    ):
        super().__init__()
        check_data_options(kind, target_video, image_size, batch_size, num_workers, val_fraction, gap_s, jitter)
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
        check_crop_size(self.crop_params, self.image_size)
        self.force_rebuild = bool(force_rebuild)
        self.progress = bool(progress)
        self.background = str(background) if background else None
        check_background_file(self.background)
        self.cache: SkeletonCache | None = None
        #: The background of every target frame, and the view full-frame output is drawn in (after setup).
        self.scene: Scene | None = None
        self.plate: np.ndarray | None = None
        #: Whether the background fits every frame (a static or registered camera, or a user's image).
        self.has_plate: bool = False
        #: (N, S, S) uint8 person masks of every frame (after setup); their plate crops: frame_plates.
        self.frame_masks: np.ndarray | None = None
        self.split: TimeSplit | None = None
        self.train_set: PairDataset | None = None
        #: The held-out frames checkpoints are chosen on, and those figures are reported on.
        self.select_set: PairDataset | None = None
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

    def person_store(self, max_side: int = 768) -> PersonStore:
        """The target's person at the video's own resolution (data/person_store.py), at most max_side
        pixels a side: loaded, or built from the clip's frames (decoded again, upright as iter_frames
        gives them, or rendered again for the embedded clip), and kept on this instance."""
        stores = self.__dict__.setdefault("_person_stores", {})
        if max_side not in stores:
            if self.cache is None:
                self.cache = self.load_cache()
            if self.kind == "synthetic":
                from motion_transfer.data.synthetic import render_clip

                def frames():
                    return iter(render_clip("target", self.synthetic_frames, self.synthetic_seed)[0])
            else:
                from motion_transfer.data.video import check_video_path, decoded_ahead

                path = check_video_path(self.target_video, "data.target_video")

                def frames():
                    return decoded_ahead(path)

            stores[max_side] = load_or_build_person_store(
                self.cache, frames, self.cache_dir, max_side, force=self.force_rebuild, progress=self.progress
            )
        return stores[max_side]

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
        self._setup_plate(cache)
        self.train_set = self._pairs(skeletons, self.split.train)
        self.select_set = self._pairs(skeletons, self.split.select)
        self.val_set = self._pairs(skeletons, self.split.score)
        log.info(
            "target %s: %d training frames, gap %d, %d held-out frames to choose checkpoints on, then %d to score",
            cache.name,
            len(self.split.train),
            gap,
            len(self.split.select),
            len(self.split.score),
        )

    def _pairs(self, skeletons: np.ndarray, indices: np.ndarray) -> PairDataset:
        images = resize_crops(self.cache.crops[indices], self.image_size)
        sticks = render_stick_figures(skeletons[indices], self.image_size)
        return PairDataset(
            skeletons[indices],
            sticks,
            images,
            indices,
            self.placements(indices),
            masks=self.frame_masks[indices],
            plates=lambda: self.frame_plates[indices],
        )

    # -- the background -------------------------------------------------------------------
    def _setup_plate(self, cache: SkeletonCache) -> None:
        """The plate (the user's or the cache's), whether it can be used, and per frame the mask at image_size."""
        if self.background is not None:
            self.scene = Scene.still(self._load_background(tuple(cache.meta["frame_size"])), cache.n_frames)
            self.has_plate = True
        else:
            self.scene = cache.background()
            info = cache.meta["plate"]
            self.has_plate = bool(info["fits"])
            if not self.has_plate:
                log.warning(
                    "the camera of the target clip '%s' moves and its frames could not be registered onto one scene "
                    "(background plate residual %.1f grey levels, fits up to %.1f): full-frame output falls back to "
                    "crop output; give a still image of the scene with data.background=IMAGE to use it anyway",
                    cache.name,
                    float(info["residual"]),
                    STATIC_CAMERA_MAX_RESIDUAL,
                )
        self.plate = self.scene.plate_for(self.scene.reference)
        self.frame_masks = resize_masks(np.asarray(cache.masks), self.image_size)

    @cached_property
    def frame_plates(self) -> np.ndarray:
        """(N, S, S, 3) uint8 each frame's plate crop at image_size, cut when first asked for: training and
        evaluation use them, a demo does not (2.3 s for taichi2's 901 frames)."""
        return self.scene.crops(np.asarray(self.cache.boxes), self.crop_params.crop_size, self.image_size)

    def plate_crops(self, boxes: np.ndarray) -> np.ndarray:
        """(M, 3) crop boxes (cx, cy, side) in the view's pixels -> (M, S, S, 3) uint8 RGB crops of
        the plate, cut like the cache's crops (crop.crop_frame at the cache's crop size, then area
        resized to image_size), so that they line up with the images."""
        return Scene.still(self.plate, len(boxes)).crops(boxes, self.crop_params.crop_size, self.image_size)

    def view_boxes(self, indices: np.ndarray) -> np.ndarray:
        """(N, 3) the crop boxes of these frames in the view's pixels (where full-frame output is drawn)."""
        return map_boxes(self.scene.to_view()[indices], np.asarray(self.cache.boxes)[indices])

    def _load_background(self, frame_size: tuple[int, int]) -> np.ndarray:
        """The user's background image as (H, W, 3) uint8 RGB at the frames' (width, height)."""
        path = Path(self.background).expanduser()
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise UserError(f"data.background: '{path}' is not a readable image; give a png or jpg file.")
        width, height = int(frame_size[0]), int(frame_size[1])
        h, w = image.shape[:2]
        if (w, h) != (width, height):
            aspect, target = w / h, width / height
            if abs(aspect - target) > BACKGROUND_ASPECT_TOLERANCE * target:
                raise UserError(
                    f"data.background: '{path}' is {w}x{h} pixels but the target's frames are {width}x{height} "
                    f"(aspect {target:.3f}, the image's {aspect:.3f}); give an image of {width}x{height} pixels or of "
                    "the same aspect ratio."
                )
            shrink = w > width
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
            log.info("data.background: '%s' resized from %dx%d to the frames' %dx%d", path, w, h, width, height)
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))

    def placements(self, indices: np.ndarray) -> np.ndarray:
        """(N, 3) where the crops of these frames lie in the view, i.e. in the scene as full-frame output
        shows it (see crop.placement_features)."""
        return placement_features(self.view_boxes(indices), tuple(self.cache.meta["frame_size"]))

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
        module = None if self.trainer is None else self.trainer.lightning_module
        indexes_frames = module is not None and module.indexed_in_one_epoch
        dataset = self.train_set
        dataset.plates  # noqa: B018 - cut once here, not in each loader worker
        if module is not None and module.temporal:
            dataset = ConsecutiveFrames(self.train_set)
            if len(dataset) < 1:
                raise UserError(
                    f"model.temporal=true trains on three consecutive frames, and the target clip "
                    f"'{self.cache.name}' has none among its training frames; use a longer video or "
                    "model.temporal=false."
                )
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=True,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            drop_last=len(dataset) > self.batch_size and not indexes_frames,
        )

    def val_dataloader(self) -> DataLoader:
        """The validation loop (whose loss picks the best checkpoint) sees the selection half only."""
        self.select_set.plates  # noqa: B018 - cut once here, not in each loader worker
        return DataLoader(
            self.select_set,
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
