"""Nearest neighbour: return the training frame whose skeleton is closest to the query."""

from __future__ import annotations

import torch

from .base import PoseToImageModule

#: Distances computed at once (16 MiB of float32). A whole 256 x 100k distance matrix (100 MB)
#: is fresh memory on every call, and its page faults cost more than the arithmetic (measured
#: here: 270 us a query, against 89 us writing into reused memory).
DISTANCE_BLOCK = 1 << 22


class NearestNeighbourGenerator(PoseToImageModule):
    """A generator that does not learn by gradient (like anomalib's memory-bank models).

    Its index, the 26-vectors of the training frames and their crops, lives in registered
    buffers: one `fit` epoch fills it, checkpoints carry it, and queries are batched
    matrix products plus an argmin, with no Python loop over frames or joints.
    """

    model_name = "nearest"
    fits_in_one_epoch = True
    # The index keeps the training frames as they are: no data.jitter.
    augment = False

    def __init__(self, image_size: int = 64, target_key: str = "", target_name: str = "", grid_size: int = 8):
        super().__init__(image_size, target_key, target_name, grid_size)
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.register_buffer("index_vectors", torch.empty(0, 26))
        self.register_buffer("index_images", torch.empty(0, 3, self.image_size, self.image_size, dtype=torch.uint8))
        self.register_buffer("index_frames", torch.empty(0, dtype=torch.long))
        self._collected: list[dict[str, torch.Tensor]] = []

    # -- building the index ------------------------------------------------------------------
    def set_index(self, vectors: torch.Tensor, images: torch.Tensor, frames: torch.Tensor) -> None:
        """vectors (M, 26) in [-1, 1]; images (M, 3, S, S) in [-1, 1] or uint8; frames (M,) frame numbers."""
        if images.dtype != torch.uint8:
            images = ((images.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
        order = torch.argsort(frames)
        self.index_vectors = vectors[order].float().to(self.device)
        self.index_images = images[order].to(self.device)
        self.index_frames = frames[order].long().to(self.device)

    def on_train_epoch_start(self) -> None:
        self._collected = []

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._collected.append({k: batch[k].detach() for k in ("vector", "image", "index")})

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
        self.set_index(merged["vector"][keep], merged["image"][keep], merged["index"][keep])
        self.log("train/index_size", float(len(keep)), batch_size=1)
        self._collected = []

    def configure_optimizers(self):
        return None

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        # The index has the size it had when saved: resize the empty buffers before loading.
        state = checkpoint["state_dict"]
        for name in ("index_vectors", "index_images", "index_frames"):
            if name in state:
                setattr(self, name, torch.empty_like(state[name], device=self.device))

    # -- querying -------------------------------------------------------------------------------
    def nearest_indices(self, vector: torch.Tensor) -> torch.Tensor:
        """(N, 26) queries -> (N,) rows of the index with the smallest Euclidean distance.

        |q - x|^2 = |q|^2 - 2 q.x + |x|^2, and |q|^2 does not change which x is closest: one
        matrix product per block of queries, each block at most DISTANCE_BLOCK distances.
        """
        index = self.index_vectors
        if len(index) == 0:
            raise RuntimeError("the nearest-neighbour index is empty: fit the model (one epoch) or call set_index first")
        if len(vector) == 0:
            return torch.empty(0, dtype=torch.long, device=index.device)
        squared_norms = index.square().sum(dim=1)
        rows = max(1, DISTANCE_BLOCK // len(index))
        return torch.cat([torch.addmm(squared_norms, queries, index.T, alpha=-2).argmin(dim=1) for queries in vector.float().split(rows)])

    def generate(self, vector: torch.Tensor, stick: torch.Tensor) -> torch.Tensor:
        rows = self.nearest_indices(vector)
        return self.index_images[rows].float() / 127.5 - 1.0
