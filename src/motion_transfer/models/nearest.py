"""Nearest neighbour: return the training frame whose skeleton is closest to the query.

At the output's own resolution (`draws_native`, with the target's person store attached) the retrieved
frame's person comes from the native-resolution store (data/person_store.py) and is placed by the
similarity transform that maps its torso onto the asked torso (render/warp.py's `similarity`): turned,
scaled and moved with the asked body, never bent. Without a store (a model loaded from a checkpoint
without its target's clip) it pastes the index's crops scaled to the box, as the learned generators do.
Where the asked pose's facing is known (pose/skeleton.py's `facing_angles`: a back view and a front view
can share a 2-D skeleton), frames turned the other way are left out of the search (`facing_allowed`).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

from motion_transfer.models.base import PoseToImageModule
from motion_transfer.pose.skeleton import NUM_JOINTS, facing_angles
from motion_transfer.render.warp import warp_person

#: The query works on tiles of QUERY_BLOCK queries x INDEX_TILE index rows (4 MiB of float32
#: distances), so the work per index row is the same at 10k rows as at 100k, where a whole
#: 256 x 100k distance matrix (100 MB) would fall out of the caches (`make bench` prints the
#: cost per query at 1k, 10k and 100k rows).
QUERY_BLOCK = 256
INDEX_TILE = 4096
#: Rows per group of the two-stage minimum: amin over groups is vectorised, unlike argmin over a
#: row, and the argmin then scans only the winning group.
GROUP = 64
#: The index's buffers, sized by the frames indexed (resized before a checkpoint loads).
INDEX_BUFFERS = ("index_vectors", "index_images", "index_frames", "index_masks")
#: Decoded store frames kept: consecutive poses mostly retrieve the same few frames.
DECODED_FRAMES = 32


#: The skeleton's joints seen in a mirror: the nose stays, each left joint takes its right's place.
MIRRORED_JOINTS = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11)


def mirrored(skeletons: np.ndarray) -> np.ndarray:
    """(..., 13, 2) skeletons in crop coordinates [0, 1] -> the skeletons of the crops flipped left to right."""
    out = np.array(skeletons, dtype=np.float64)[..., MIRRORED_JOINTS, :]
    out[..., 0] = 1.0 - out[..., 0]
    return out


def facing_allowed(asked: np.ndarray, frames: np.ndarray, limit: float, k: int = 1) -> np.ndarray:
    """(N,) asked facings and (M,) the index frames' (radians; NaN unknown) -> (N, M) bool, which frames each
    query may use: those turned at most `limit` radians from it, any whose facing or the query's is unknown;
    the k least turned where fewer than k are that near (a side the clip never shows)."""
    turn = np.abs(np.angle(np.exp(1j * (np.asarray(asked, np.float64)[:, None] - np.asarray(frames)[None]))))
    turn = np.nan_to_num(turn, nan=0.0)
    allowed = turn <= limit
    few = allowed.sum(axis=1) < k
    if few.any():
        kth = np.partition(turn[few], k - 1, axis=1)[:, k - 1 : k]
        allowed[few] = turn[few] <= kth
    return allowed


class NearestNeighbourGenerator(PoseToImageModule):
    """A generator that does not learn by gradient (like anomalib's memory-bank models).

    Its index, the 26-vectors of the training frames and their crops, lives in registered
    buffers: one `fit` epoch fills it, checkpoints carry it, and queries are batched
    matrix products plus an argmin, with no Python loop over frames or joints.
    """

    learns = False
    indexed_in_one_epoch = True
    # The index keeps the training frames as they are: no data.jitter.
    takes_augmentation = False
    # With a person store attached; without one native_layers scales the index's crops.
    draws_native = True
    # Whether the index's frames flipped left to right are candidates too (rows M..2M-1 of an M-row index).
    mirror = False

    def __init__(
        self,
        name: str = "nearest",
        image_size: int = 64,
        max_side: int = 768,
        target_key: str = "",
        target_name: str = "",
        grid_size: int = 8,
        facing_limit: float = 90.0,
    ):
        if int(max_side) < 64:
            raise ValueError(f"model.max_side={max_side} must be at least 64 pixels")
        if not 0 <= float(facing_limit) <= 180:
            raise ValueError(f"model.facing_limit={facing_limit} must be an angle from 0 to 180 degrees")
        super().__init__(name, image_size, target_key, target_name, grid_size)
        self.save_hyperparameters()
        self.store = None
        #: (frames, 13, 2) every frame's skeleton in its crop's coordinates (the store's and the index's).
        self.frame_skeletons: np.ndarray | None = None
        #: (frames,) every frame's facing (radians, NaN unknown), where the clip's landmarks give it.
        self.frame_facings: np.ndarray | None = None
        self._decoded: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.automatic_optimization = False
        self.register_buffer("index_vectors", torch.empty(0, 26))
        self.register_buffer("index_images", torch.empty(0, 3, self.image_size, self.image_size, dtype=torch.uint8))
        self.register_buffer("index_frames", torch.empty(0, dtype=torch.long))
        self.register_buffer("index_masks", torch.empty(0, 1, self.image_size, self.image_size, dtype=torch.uint8))
        self._collected: list[dict[str, torch.Tensor]] = []
        self._grouped: tuple[tuple, torch.Tensor, torch.Tensor] | None = None

    # -- building the index ------------------------------------------------------------------
    @classmethod
    def indexed_on(cls, datamodule, name: str = "nearest", **options) -> NearestNeighbourGenerator:
        """Built in memory on a prepared datamodule's training frames (no checkpoint needed); `options`
        are the config's other settings of a subclass."""
        model = cls(
            name=name,
            image_size=datamodule.image_size,
            target_key=datamodule.target_key,
            target_name=datamodule.target_name,
            **options,
        )
        train = datamodule.train_set
        model.set_index(train.vectors, train.images, train.indices, train.masks)
        model.attach_store(datamodule.person_store(int(model.hparams.max_side)), *frame_poses(datamodule))
        return model

    def attach_store(self, store, frame_skeletons: np.ndarray, frame_facings: np.ndarray | None = None) -> None:
        """Draw from `store` (data/person_store.PersonStore), whose frame i holds the person whose
        skeleton is `frame_skeletons[i]` in its crop's coordinates, turned `frame_facings[i]` (if known)."""
        self.store = store
        self.frame_skeletons = np.asarray(frame_skeletons, dtype=np.float64)
        self.frame_facings = None if frame_facings is None else np.asarray(frame_facings, dtype=np.float64)
        self._decoded.clear()
        self.reset_sequence()

    def set_index(
        self, vectors: torch.Tensor, images: torch.Tensor, frames: torch.Tensor, masks: torch.Tensor | None = None
    ) -> None:
        """vectors (M, 26) in [-1, 1]; images (M, 3, S, S) in [-1, 1] or uint8; frames (M,) frame
        numbers; masks (M, 1, S, S) in [0, 1] or uint8, the person in each image (default: all of it)."""
        if images.dtype != torch.uint8:
            images = ((images.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
        if masks is None:
            masks = torch.full((len(images), 1, *images.shape[2:]), 255, dtype=torch.uint8)
        elif masks.dtype != torch.uint8:
            masks = (masks.float().clamp(0, 1) * 255.0).round().to(torch.uint8)
        order = torch.argsort(frames)
        self.index_vectors = vectors[order].float().to(self.device)
        self.index_images = images[order].to(self.device)
        self.index_frames = frames[order].long().to(self.device)
        self.index_masks = masks[order].to(self.device)

    def on_train_epoch_start(self) -> None:
        self._collected = []

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._collected.append({k: batch[k].detach() for k in ("vector", "image", "index", "mask")})

    def on_validation_epoch_start(self) -> None:
        # Lightning validates before on_train_epoch_end: finish the index first.
        self._build_index_from_collected()

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        if len(self.index_vectors) == 0:  # the sanity check runs before the index exists
            return
        super().validation_step(batch, batch_idx)

    def on_validation_epoch_end(self) -> None:
        if len(self.index_vectors):
            super().on_validation_epoch_end()

    def on_train_epoch_end(self) -> None:
        self._build_index_from_collected()

    def _build_index_from_collected(self) -> None:
        if not self._collected:
            return
        merged = {k: torch.cat([b[k] for b in self._collected]) for k in self._collected[0]}
        if self.trainer is not None and self.trainer.world_size > 1:
            # Each process saw a shard of the training set: gather the whole index everywhere.
            merged = {k: v.flatten(0, 1) for k, v in self.all_gather(merged).items()}
        # Keep one row per frame (DDP samplers may pad the last shard with repeats).
        order = torch.argsort(merged["index"], stable=True)
        sorted_frames = merged["index"][order]
        first = torch.ones_like(sorted_frames, dtype=torch.bool)
        first[1:] = sorted_frames[1:] != sorted_frames[:-1]
        keep = order[first]
        self.set_index(merged["vector"][keep], merged["image"][keep], merged["index"][keep], merged["mask"][keep])
        self.log("train/index_size", float(len(keep)), batch_size=1)
        self._collected = []

    def configure_optimizers(self):
        return None

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        # The index has the size it had when saved: resize the empty buffers before loading.
        state = checkpoint["state_dict"]
        for name in INDEX_BUFFERS:
            if name in state:
                setattr(self, name, torch.empty_like(state[name], device=self.device))

    # -- querying -------------------------------------------------------------------------------
    def nearest_indices(self, vector: torch.Tensor) -> torch.Tensor:
        """(N, 26) queries -> (N,) rows of the index with the smallest Euclidean distance.

        |q - x|^2 = |q|^2 - 2 q.x + |x|^2, and |q|^2 does not change which x is closest: one
        matrix product per tile, then the minimum of each group of GROUP rows; the argmin
        runs only inside each query's best group. Ties go to the lowest row, as in argmin.
        """
        if len(self.index_vectors) == 0:
            raise RuntimeError(
                "the nearest-neighbour index is empty: fit the model (one epoch) or call set_index first"
            )
        if len(vector) == 0:
            return torch.empty(0, dtype=torch.long, device=self.index_vectors.device)
        index, squared_norms = self._grouped_index()
        rows, groups = len(index), len(index) // GROUP
        tile = min(INDEX_TILE, rows)
        workspace = torch.empty(min(QUERY_BLOCK, len(vector)) * tile, device=index.device)
        found = []
        for queries in vector.float().split(QUERY_BLOCK):
            n = len(queries)
            group_minima = torch.empty(n, groups, device=index.device)
            for start in range(0, rows, tile):
                width = min(tile, rows - start)
                distances = workspace[: n * width].view(n, width)
                torch.addmm(
                    squared_norms[start : start + width],
                    queries,
                    index[start : start + width].T,
                    alpha=-2,
                    out=distances,
                )
                torch.amin(
                    distances.view(n, width // GROUP, GROUP),
                    dim=2,
                    out=group_minima[:, start // GROUP : (start + width) // GROUP],
                )
            best_group = group_minima.argmin(dim=1)
            if rows <= tile:  # one tile: its distances are still in the workspace
                in_group = distances.view(n, groups, GROUP)[torch.arange(n, device=index.device), best_group]
            else:  # recompute the winning group with the same formula (padding stays infinite)
                members = index.view(groups, GROUP, -1)[best_group]
                norms = squared_norms.view(groups, 1, GROUP)[best_group]
                in_group = torch.baddbmm(norms, queries[:, None], members.transpose(1, 2), alpha=-2)[:, 0]
            found.append(best_group * GROUP + in_group.argmin(dim=1))
        return torch.cat(found)

    def _grouped_index(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The index padded to whole groups (padding rows are infinitely far), cached until the
        index buffer changes (set_index, a checkpoint load or a move to another device)."""
        source = self.index_vectors
        key = (source.data_ptr(), source._version, source.shape, source.device)
        if self._grouped is None or self._grouped[0] != key:
            padded_rows = -(-len(source) // GROUP) * GROUP
            padded = source.new_zeros(padded_rows, source.shape[1])
            padded[: len(source)] = source
            squared_norms = torch.full((padded_rows,), float("inf"), device=source.device)
            squared_norms[: len(source)] = source.square().sum(dim=1)
            self._grouped = (key, padded, squared_norms)
        return self._grouped[1], self._grouped[2]

    # -- drawing at the output's resolution ------------------------------------------------------------
    def skeletons_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """(K,) candidate rows -> (K, 13, 2) their frames' skeletons in crop coordinates (mirrored rows' mirrored)."""
        rows = np.asarray(rows, dtype=np.int64)
        count = len(self.index_frames)
        own = rows % count
        if self.frame_skeletons is not None:
            skeletons = self.frame_skeletons[self.index_frames.cpu().numpy()[own]]
        else:
            vectors = self.index_vectors[torch.as_tensor(own)].cpu().numpy()
            skeletons = (vectors.reshape(-1, NUM_JOINTS, 2) + 1.0) / 2.0
        flipped = rows >= count
        if flipped.any():
            skeletons = skeletons.copy()
            skeletons[flipped] = mirrored(skeletons[flipped])
        return skeletons

    def person_of_row(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The person of candidate row `row`: colours, mask and joints in their pixels, from the store at
        native resolution when it has the frame, else the index's crop; a mirrored row's flipped left to right."""
        image, mask = self._pixels_of_row(int(row) % len(self.index_frames))
        if row >= len(self.index_frames):
            image, mask = image[:, ::-1], mask[:, ::-1]
        joints = self.skeletons_of_rows(np.array([row]))[0] * image.shape[0]
        return np.ascontiguousarray(image), np.ascontiguousarray(mask), joints

    def _pixels_of_row(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        frame = int(self.index_frames[row])
        if self.store is not None and self.store.sides[frame] > 0:
            if frame not in self._decoded:
                self._decoded[frame] = self.store.person(frame)
                if len(self._decoded) > DECODED_FRAMES:
                    self._decoded.popitem(last=False)
            self._decoded.move_to_end(frame)
            image, mask = self._decoded[frame]
        else:
            image = self.index_images[row].permute(1, 2, 0).cpu().numpy()
            mask = self.index_masks[row, 0].cpu().numpy()
        return image, mask

    def row_frames(self) -> np.ndarray:
        """The frame number of every candidate row (a mirrored row's is its frame's)."""
        frames = self.index_frames.cpu().numpy()
        return np.concatenate([frames, frames]) if self.mirror else frames

    def index_facings(self) -> np.ndarray | None:
        """The candidate rows' facings, if the attached clip gave them (a mirror turns a body the other way)."""
        if self.frame_facings is None:
            return None
        facings = self.frame_facings[self.index_frames.cpu().numpy()]
        return np.concatenate([facings, -facings]) if self.mirror else facings

    def index_distances(self, skeletons: np.ndarray, facings: np.ndarray | None, k: int = 1) -> torch.Tensor:
        """(N, 13, 2) asked poses -> (N, rows) their distances to the candidate rows' (the index's, then, with
        `mirror`, the same mirrored), infinite to the frames turned the other way (more than model.facing_limit
        degrees: `facing_allowed`, keeping at least k) where the asked facings (N,) and the index's are known."""
        queries = torch.as_tensor(np.asarray(skeletons, dtype=np.float32).reshape(len(skeletons), -1) * 2.0 - 1.0)
        candidates = self.index_vectors.float().cpu()
        if self.mirror:
            flipped = mirrored(candidates.numpy().reshape(-1, NUM_JOINTS, 2) / 2.0 + 0.5) * 2.0 - 1.0
            candidates = torch.cat([candidates, torch.from_numpy(flipped.reshape(len(candidates), -1)).float()])
        distances = torch.cdist(queries, candidates)
        index_facings = self.index_facings()
        if facings is not None and index_facings is not None:
            limit = np.radians(float(self.hparams.get("facing_limit", 90.0)))
            allowed = torch.from_numpy(facing_allowed(facings, index_facings, limit, k))
            distances = distances.masked_fill(~allowed, float("inf"))
        return distances

    def native_layers(
        self,
        skeletons: np.ndarray,
        sides: np.ndarray,
        placements: np.ndarray | None = None,
        facings: np.ndarray | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The retrieved frames' persons from the store, each placed by its torso onto the asked torso at
        the asked side; without a store, the index's crops scaled to it. `facings`: (N,) the asked poses'
        facings (radians, NaN unknown), or None."""
        if self.store is None:
            return super().native_layers(skeletons, sides, placements)
        skeletons = np.asarray(skeletons, dtype=np.float64)
        if facings is not None and self.frame_facings is not None:
            rows = self.index_distances(skeletons, facings).argmin(dim=1).numpy()
        else:
            queries = torch.as_tensor(skeletons.reshape(len(skeletons), -1) * 2.0 - 1.0, dtype=torch.float32)
            rows = self.nearest_indices(queries.to(self.index_vectors.device)).cpu().numpy()
        out = []
        for skeleton, side, row in zip(skeletons, np.asarray(sides, dtype=int), rows):
            image, mask, joints = self.person_of_row(int(row))
            side = max(8, int(side))
            placed = warp_person(image, mask, joints, skeleton * side, side, "similarity")
            out.append((placed.rgb, placed.alpha))
        return out

    def generate_layers(
        self, vector: torch.Tensor, stick: torch.Tensor, placement: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The retrieved training crops and their person masks."""
        rows = self.nearest_indices(vector)
        return self.index_images[rows].float() / 127.5 - 1.0, self.index_masks[rows].float() / 255.0


def frame_poses(datamodule) -> tuple[np.ndarray, np.ndarray]:
    """The target clip's (frames, 13, 2) skeletons in their crops' coordinates and (frames,) facings."""
    cache = datamodule.cache
    return np.asarray(cache.skeletons), facing_angles(np.asarray(cache.landmarks))
