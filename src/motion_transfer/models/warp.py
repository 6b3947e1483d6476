"""Warp (`model=warp`): the target's own pixels moved to the asked pose, at the video's resolution, with
nothing to train.

For each asked pose the training frames are searched for the one that needs the least bending: the
nearest poses by the index's distance (as nearest neighbour), then, among them, the one whose joints
are closest to the asked ones after its torso is aligned onto the asked torso (a similarity
transform): what is left is what the warp must bend. That frame's person, from the native-resolution
store (data/person_store.py), is bent onto the asked skeleton by render/warp.py at the size the
output needs, so a 480-px box gets 480 px of real detail instead of an upscaled 64-256-px drawing.
A frame keeps the previous frame's choice while that needs little more bending than the best one:
switching source frames is what makes such a video flicker. Frames turned away from the asked facing are
not candidates (models/nearest.py's `facing_allowed`). Where the chosen frame's arm covered the chest, the
bent person has holes; another moment fills them (`fill_holes`).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from motion_transfer.models.base import check_choice
from motion_transfer.models.nearest import NearestNeighbourGenerator
from motion_transfer.pose.skeleton import NUM_JOINTS, SHOULDERS
from motion_transfer.render.warp import DEFAULT_METHOD, WARP_METHODS, warp_person

#: The hips (left, right): with the shoulders, the torso that aligns two poses.
HIPS = (7, 8)
TORSO = (*SHOULDERS, *HIPS)
#: A frame that fills holes is at least this many frames from the chosen one (a moment when the arms
#: were elsewhere).
FILL_GAP = 10
#: Holes are gaps of up to this share of the side inside the person's outline (closed by a disc).
HOLE_SIZE = 0.08
#: Below this share of the square, holes are left as they are (the filler's warp is not worth it).
MIN_HOLE_SHARE = 0.002


def torso_residuals(candidates: np.ndarray, query: np.ndarray) -> np.ndarray:
    """(K, 13, 2) candidate skeletons and a (13, 2) query -> (K,) mean distance of the joints after
    each candidate's torso is mapped onto the query's by the best similarity transform, in units of
    the query's torso size: how far the candidate must still bend."""
    src = candidates[:, TORSO]  # (K, 4, 2)
    dst = query[list(TORSO)]  # (4, 2)
    src_mean, dst_mean = src.mean(axis=1, keepdims=True), dst.mean(axis=0)
    a, b = src - src_mean, dst - dst_mean
    # The similarity z -> s * R z as one complex number per candidate (least squares, closed form).
    az, bz = a[..., 0] + 1j * a[..., 1], b[..., 0] + 1j * b[..., 1]
    scale = (np.conj(az) * bz).sum(axis=1) / np.maximum((np.abs(az) ** 2).sum(axis=1), 1e-12)
    cz = (candidates[..., 0] + 1j * candidates[..., 1]) - (src_mean[..., 0] + 1j * src_mean[..., 1])
    mapped = scale[:, None] * cz + (dst_mean[0] + 1j * dst_mean[1])
    qz = query[:, 0] + 1j * query[:, 1]
    torso_size = max(float(np.sqrt((np.abs(bz) ** 2).mean())), 1e-6)
    return np.abs(mapped - qz[None]).mean(axis=1) / torso_size


class WarpGenerator(NearestNeighbourGenerator):
    """Nearest neighbour's index and person store, with each retrieved person bent onto the asked pose at
    the output's own resolution (`draws_native`). Without a person store (`attach_store`), it bends the
    index's crops instead: the same poses, at `image_size`."""

    def __init__(
        self,
        name: str = "warp",
        image_size: int = 64,
        method: str = DEFAULT_METHOD,
        candidates: int = 16,
        keep_margin: float = 0.15,
        fill_holes: bool = True,
        max_side: int = 768,
        target_key: str = "",
        target_name: str = "",
        grid_size: int = 8,
        facing_limit: float = 90.0,
        mirror: bool = False,
    ):
        check_choice("model.method", method, WARP_METHODS)
        if int(candidates) < 1:
            raise ValueError(f"model.candidates={candidates} must be at least 1")
        if float(keep_margin) < 0:
            raise ValueError(f"model.keep_margin={keep_margin} must be 0 or more")
        super().__init__(name, image_size, max_side, target_key, target_name, grid_size, facing_limit)
        self.save_hyperparameters()
        self.method = method
        self.mirror = bool(mirror)
        self._previous_row: int | None = None

    @classmethod
    def indexed_on(cls, datamodule, name: str = "warp", **options) -> WarpGenerator:
        """Built on a prepared datamodule's training frames, with the target's native-resolution store."""
        return super().indexed_on(datamodule, name, **options)

    def reset_sequence(self) -> None:
        """Forget the previous frame's choice (a new video starts)."""
        super().reset_sequence()
        self._previous_row = None

    # -- choosing the frame to bend ------------------------------------------------------------------
    def choose_rows(self, skeletons: np.ndarray, facings: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(N, 13, 2) asked poses (and (N,) their facings, if known) -> (N,) index rows to bend, in order
        (each may keep the one before), and (N,) rows that fill what those lack: the least bending among
        frames at least FILL_GAP frames away from the chosen one (another moment shows what an arm covered
        then; -1 where there is none). Frames turned the other way are not candidates (`facing_allowed`)."""
        frames = self.row_frames()
        k = min(int(self.hparams.candidates), len(frames))
        distances = self.index_distances(skeletons, facings, k)
        nearest = torch.topk(distances, k, dim=1, largest=False).indices.numpy()
        chosen = np.empty(len(skeletons), dtype=np.int64)
        fillers = np.full(len(skeletons), -1, dtype=np.int64)
        for i, (query, rows) in enumerate(zip(np.asarray(skeletons, dtype=np.float64), nearest)):
            residuals = torso_residuals(self.skeletons_of_rows(rows), query)
            best = int(np.argmin(residuals))
            if self._previous_row is not None:
                kept = np.flatnonzero(rows == self._previous_row)
                margin = 1.0 + float(self.hparams.keep_margin)
                if len(kept) and residuals[kept[0]] <= residuals[best] * margin:
                    best = int(kept[0])
            chosen[i] = rows[best]
            self._previous_row = int(rows[best])
            apart = np.flatnonzero(np.abs(frames[rows] - frames[rows[best]]) >= FILL_GAP)
            if len(apart):
                fillers[i] = rows[apart[np.argmin(residuals[apart])]]
        return chosen, fillers

    # -- drawing ---------------------------------------------------------------------------------------
    def native_layers(
        self,
        skeletons: np.ndarray,
        sides: np.ndarray,
        placements: np.ndarray | None = None,
        facings: np.ndarray | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        skeletons = np.asarray(skeletons, dtype=np.float64)
        rows, fillers = self.choose_rows(skeletons, facings)
        out = []
        for skeleton, side, row, filler in zip(skeletons, np.asarray(sides, dtype=int), rows, fillers):
            image, mask, joints = self.person_of_row(int(row))
            side = max(8, int(side))
            warped = warp_person(image, mask, joints, skeleton * side, side, self.method)
            rgb, alpha = warped.rgb, warped.alpha
            if self.hparams.fill_holes and filler >= 0:
                rgb, alpha = self._filled(rgb, alpha, skeleton, side, int(filler))
            out.append((rgb, alpha))
        return out

    def _filled(
        self, rgb: np.ndarray, alpha: np.ndarray, skeleton: np.ndarray, side: int, filler: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The holes inside the person (what the chosen frame did not show: a chest its arm covered)
        filled from another frame placed by its torso onto the same pose, drawn at half the side: it shows
        only there, and a torso is nearly rigid (a whole second warp would cost as much as the first)."""
        # The outline closed on a quarter-size picture: a disc of HOLE_SIZE closes the same gaps 16x cheaper.
        small = max(8, side // 4)
        solid = (cv2.resize(alpha, (small, small), interpolation=cv2.INTER_AREA) > 0.5).astype(np.uint8)
        size = max(3, int(HOLE_SIZE * small) | 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        closed = cv2.morphologyEx(solid, cv2.MORPH_CLOSE, kernel)
        if int(closed.sum()) - int(solid.sum()) < MIN_HOLE_SHARE * small * small:
            return rgb, alpha
        inside = cv2.resize(closed.astype(np.float32), (side, side), interpolation=cv2.INTER_LINEAR)
        image, mask, joints = self.person_of_row(filler)
        half = max(8, side // 2)
        back = warp_person(image, mask, joints, skeleton * half, half, "similarity")
        back_rgb = cv2.resize(back.rgb, (side, side), interpolation=cv2.INTER_LINEAR)
        back_alpha = cv2.resize(back.alpha, (side, side), interpolation=cv2.INTER_LINEAR)
        # Only inside the person's closed outline: the filler adds no limb where the chosen frame has none.
        fill = (1.0 - alpha) * back_alpha * inside
        # blendLinear divides by the weights' sum: the colours of the two layers mixed by what each shows.
        return cv2.blendLinear(rgb, back_rgb, alpha, fill), np.minimum(alpha + fill, 1.0).astype(np.float32)

    def generate_layers(
        self, vector: torch.Tensor, stick: torch.Tensor, placement: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The bent persons at `image_size` (validation, crop output, report grids)."""
        skeletons = (vector.detach().float().cpu().numpy().reshape(len(vector), NUM_JOINTS, 2) + 1.0) / 2.0
        layers = self.native_layers(skeletons, np.full(len(skeletons), self.image_size))
        rgb = torch.from_numpy(np.stack([p for p, _ in layers])).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        alpha = torch.from_numpy(np.stack([a for _, a in layers]))[:, None].float()
        return rgb.to(self.device), alpha.to(self.device)
