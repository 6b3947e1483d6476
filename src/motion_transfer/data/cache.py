"""The skeleton cache: a video turned once into person crops and skeletons, reused afterwards.

A cache folder holds `crops.npy` (N, R, R, 3) uint8 RGB crops at the working resolution R,
`masks.npy` (N, R, R) uint8 0..255 the person's masks cropped exactly like the crops (MediaPipe's
segmentation for videos, the exact coverage for synthetic clips; zero where no person was found),
`landmarks.npy` (N, 33, 4) MediaPipe landmarks in frame pixels (NaN where no person was found),
`skeletons.npy` (N, 13, 2) the reduced skeleton in crop coordinates [0, 1], `boxes.npy` (N, 3)
the crop boxes (cx, cy, side) in frame pixels, `detected.npy` (N,) bool, `plate.npy` (H, W, 3)
uint8 RGB the background plate at the video's full resolution (plate.estimate_plate, from at
most plate.MAX_PLATE_FRAMES frames spread over the clip; meta.json's "plate" says how good it
is: static_camera, residual, inpainted_fraction, frames_used, and for a moving camera whether its
frames could be registered: registration.py), `scene.npy` (CH, CW, 3) uint8 the scene's plate and
`camera.npy` (N, 3, 3) each frame's map onto it (registration.Scene; for a static camera the plate and
identities), and `meta.json`. `plate.npy` is the scene as its reference frame sees it: where
full-frame output is drawn.
It is keyed by the content of the source file and the parameters, written into a temporary
folder and renamed into place (runtime.atomic.atomic_folder), so a folder under its final name is
always complete; meta.json records every array's size, so a damaged folder is noticed and rebuilt.
pose_pass.py finds the poses, cache_building.py cuts the crops.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from motion_transfer.data.cache_building import assemble_cache_arrays
from motion_transfer.data.plate import estimate_plate, sample_indices
from motion_transfer.data.pose_pass import extract_landmarks
from motion_transfer.data.registration import Scene, scene_of_clip
from motion_transfer.pose.crop import CropParams
from motion_transfer.runtime.atomic import atomic_folder, remove_abandoned_folders
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)

CACHE_VERSION = 4
#: Per-frame arrays (first axis N).
ARRAY_NAMES = ("crops", "masks", "landmarks", "skeletons", "boxes", "detected")
#: Every .npy file of a cache folder: the per-frame arrays and the background.
FILE_NAMES = ARRAY_NAMES + ("plate", "scene", "camera")


class CacheDamaged(Exception):
    """A cache folder is incomplete or inconsistent with its meta.json."""


@dataclass
class SkeletonCache:
    path: Path
    crops: np.ndarray
    masks: np.ndarray
    landmarks: np.ndarray
    skeletons: np.ndarray
    boxes: np.ndarray
    detected: np.ndarray
    #: (H, W, 3) uint8 RGB background plate at the video's resolution; meta["plate"] describes it.
    plate: np.ndarray
    #: (CH, CW, 3) uint8 RGB the scene's plate and (N, 3, 3) each frame's map onto it.
    scene: np.ndarray
    camera: np.ndarray
    meta: dict

    @property
    def n_frames(self) -> int:
        return len(self.detected)

    @property
    def fps(self) -> float:
        return float(self.meta["fps"])

    @property
    def key(self) -> str:
        return str(self.meta["key"])

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    def background(self) -> Scene:
        """The background of every frame (registration.Scene)."""
        info = self.meta["plate"]
        return Scene(
            np.asarray(self.scene),
            np.asarray(self.camera),
            tuple(info["picture"]),
            np.asarray(self.plate),
            int(info["reference_frame"]),
        )

    @classmethod
    def load(cls, path: Path) -> SkeletonCache:
        """Open a cache folder, checking it against its meta.json; raises CacheDamaged."""
        try:
            meta = json.loads((path / "meta.json").read_text())
        except (OSError, ValueError) as err:
            raise CacheDamaged(f"{path}: meta.json unreadable ({err})") from err
        if meta.get("version") != CACHE_VERSION:
            raise CacheDamaged(f"{path}: cache version {meta.get('version')} != {CACHE_VERSION}")
        arrays = {}
        for name in FILE_NAMES:
            file = path / f"{name}.npy"
            expected = meta.get("files", {}).get(f"{name}.npy")
            if not file.is_file() or expected is None or file.stat().st_size != expected:
                raise CacheDamaged(f"{path}: {name}.npy missing or of the wrong size")
            try:
                arrays[name] = np.load(file, mmap_mode="r" if name in ("crops", "masks") else None)
            except (OSError, ValueError) as err:
                raise CacheDamaged(f"{path}: {name}.npy unreadable ({err})") from err
        n = meta["n_frames"]
        if any(len(arrays[a]) != n for a in ARRAY_NAMES):
            raise CacheDamaged(f"{path}: arrays disagree on the frame count")
        if arrays["masks"].shape != arrays["crops"].shape[:3]:
            raise CacheDamaged(f"{path}: masks.npy does not match crops.npy")
        width, height = meta.get("frame_size", (0, 0))
        if arrays["plate"].shape != (height, width, 3) or not isinstance(meta.get("plate"), dict):
            raise CacheDamaged(f"{path}: plate.npy does not match the frame size, or meta.json lacks 'plate'")
        if arrays["camera"].shape != (n, 3, 3) or arrays["scene"].ndim != 3:
            raise CacheDamaged(f"{path}: camera.npy or scene.npy has the wrong shape")
        return cls(path=path, meta=meta, **arrays)


def keyed_params(params: dict) -> dict:
    """The crop parameters a cache's key is made of: `person` only when it is not the default, so that
    the caches, and the checkpoints trained on them, of clips cached before the option existed stay
    valid (a clip with one person in view is cached alike either way)."""
    return {k: v for k, v in params.items() if not (k == "person" and v == CropParams.person)}


def _cache_key(identity: dict, params: CropParams) -> str:
    blob = json.dumps(
        {"identity": identity, "params": keyed_params(asdict(params)), "version": CACHE_VERSION}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class _RowFile:
    """A .npy file written one row at a time, in order, straight to the file: the rows of a long
    clip never sit in this process's memory (written pages are the kernel's cache, not ours). Its
    disk space is reserved at once, so a full disk is an error before the slow pass, not after."""

    def __init__(self, folder: Path, name: str, shape: tuple[int, ...], dtype=np.uint8):
        self.path = folder / f"{name}.npy"
        self.shape, self.dtype = shape, np.dtype(dtype)
        self._file = open(self.path, "wb")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(self._file, header)
        self._file.flush()
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * self.dtype.itemsize
        os.posix_fallocate(self._file.fileno(), 0, self._file.tell() + shape[0] * row_bytes)
        self._rows = 0

    def __setitem__(self, index: int, row: np.ndarray) -> None:
        if index != self._rows:
            raise ValueError(f"{self.path.name}: row {index} written after {self._rows} rows; rows go in order")
        self._file.write(np.ascontiguousarray(row, dtype=self.dtype).tobytes())
        self._rows += 1

    def close(self) -> None:
        if self._rows != self.shape[0]:
            raise ValueError(f"{self.path.name}: {self._rows} of {self.shape[0]} rows written")
        self._file.close()


def _write_cache_folder(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write arrays and meta.json into a temporary sibling folder, then rename it to `folder`."""
    needed = sum(int(np.asarray(a).nbytes) for a in arrays.values())
    with atomic_folder(folder, needed) as tmp:
        _write_cache_files(tmp, arrays, meta)


def _write_cache_files(tmp: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """The arrays (those written row by row into `tmp` closed, the others saved) and meta.json
    written into the folder `tmp`."""
    files = {}
    for name in FILE_NAMES:
        array = arrays[name]
        if isinstance(array, _RowFile):
            array.close()
        else:
            np.save(tmp / f"{name}.npy", array)
        files[f"{name}.npy"] = (tmp / f"{name}.npy").stat().st_size
    meta = {**meta, "files": files}
    # meta.json last: a folder without it is never trusted.
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2))


def load_or_build_video_cache(
    video_path,
    cache_root: Path,
    params: CropParams = CropParams(),
    force: bool = False,
    progress: bool = True,
    option: str = "video",
) -> SkeletonCache:
    """The cache of a video file: reused when present and intact, built otherwise."""
    from motion_transfer.data.video import check_video_path, file_digest, iter_frames, probe_video

    path = check_video_path(video_path, option)
    video = probe_video(path, option)
    digest = file_digest(path)
    # Turned upright since the rotation tag is honoured: a rotated clip's older cache is not reused.
    identity = {"sha256": digest, **({"rotation": video.rotation} if video.rotation else {})}
    key = _cache_key(identity, params)
    folder = Path(cache_root) / f"{_safe_stem(path.stem)}-{key}"
    if not force:
        cached = _try_load(folder)
        if cached is not None:
            return cached
    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    remove_abandoned_folders(cache_root)
    log.info("building the skeleton cache of %s into %s", path, folder)
    extraction = extract_landmarks(video, params, progress, option)
    landmarks, detected, frames = extraction.landmarks, extraction.detected, extraction.frames
    extraction.frames = None  # the decoded frames go once the crops are cut (the plate keeps its sample)
    n, n_found = len(detected), int(detected.sum())
    if n_found == 0:
        raise UserError(
            f"{option}: no person was found in any of the {n} frames of '{path}'; use a video where one person "
            "is fully visible."
        )

    def clip_frames() -> Iterable[np.ndarray]:
        return frames if frames is not None else iter_frames(path)

    picks, sample_frames, sample_masks = extraction.plate.samples()
    extraction.plate = None
    plate = estimate_plate(sample_frames, sample_masks)
    scene, plate_meta = scene_of_clip(
        plate, picks, sample_frames, sample_masks, clip_frames, lambda: iter(extraction.masks), n
    )
    del sample_frames, sample_masks
    size = params.crop_size
    with atomic_folder(folder, n * size * size * 4) as tmp:
        out = {
            "crops": _RowFile(tmp, "crops", (n, size, size, 3)),
            "masks": _RowFile(tmp, "masks", (n, size, size)),
        }
        arrays = assemble_cache_arrays(
            clip_frames(), landmarks, detected, video.fps, params, masks=extraction.masks, out=out
        )
        frames = None  # noqa: F841 (the decoded frames go once the crops are cut)
        arrays.update(_background_arrays(scene))
        meta = {
            "version": CACHE_VERSION,
            "key": key,
            "name": path.stem,
            "kind": "video",
            "source": {"path": str(path), "sha256": digest, "size_bytes": path.stat().st_size},
            "fps": video.fps,
            "frame_size": [video.width, video.height],
            "rotation": video.rotation,
            "frame_count_header": video.frame_count,
            "n_frames": n,
            "n_detected": n_found,
            "n_missing": n - n_found,
            "missing_frames": np.flatnonzero(~detected).tolist(),
            "params": asdict(params),
            "plate": plate_meta,
            "people": extraction.people,
        }
        _write_cache_files(tmp, arrays, meta)
    log.info("pose found in %d of %d frames (%.1f%%) of %s", n_found, n, 100.0 * n_found / n, path.name)
    people = extraction.people
    if people["several"]:
        log.info(
            "several people in view in %s: followed the %s one; %d doubtful frames (a jump in position or size) "
            "were dropped",
            path.name,
            people["person"],
            people["doubtful_frames"],
        )
    elif people["doubtful_frames"]:
        log.info("%s: %d frames where the pose jumped in position or size", path.name, people["doubtful_frames"])
    log.info(
        "background plate of %s: %s camera, residual %.1f grey levels, %.1f%% inpainted, from %d frames",
        path.name,
        plate_meta["camera"],
        plate_meta["residual"],
        100.0 * plate_meta["inpainted_fraction"],
        plate_meta["frames_used"],
    )
    return SkeletonCache.load(folder)


def load_or_build_synthetic_cache(
    role: str, n_frames: int, seed: int, cache_root: Path, params: CropParams = CropParams(), force: bool = False
) -> SkeletonCache:
    """The cache of a procedurally rendered clip (the embedded default), with exact skeletons."""
    from motion_transfer.data.synthetic import SYNTHETIC_FPS, render_clip_with_masks

    identity = {"synthetic": role, "n_frames": n_frames, "seed": seed}
    key = _cache_key(identity, params)
    folder = Path(cache_root) / f"synthetic-{role}-{key}"
    if not force:
        cached = _try_load(folder)
        if cached is not None:
            return cached
    clip = render_clip_with_masks(role, n_frames, seed)
    frames = clip.frames
    detected = np.ones(len(frames), dtype=bool)
    arrays = assemble_cache_arrays(frames, clip.landmarks, detected, SYNTHETIC_FPS, params, masks=clip.masks)
    picks = sample_indices(len(frames))
    plate = estimate_plate(frames[picks], clip.masks[picks])
    arrays.update(_background_arrays(Scene.still(plate.plate, len(frames))))
    meta = {
        "version": CACHE_VERSION,
        "key": key,
        "name": f"synthetic-{role}",
        "kind": "synthetic",
        "source": identity,
        "fps": float(SYNTHETIC_FPS),
        "frame_size": [int(frames.shape[2]), int(frames.shape[1])],
        "frame_count_header": len(frames),
        "n_frames": len(frames),
        "n_detected": len(frames),
        "n_missing": 0,
        "missing_frames": [],
        "params": asdict(params),
        "plate": {**plate.meta(), **Scene.still(plate.plate, 0).meta(), "camera": "static", "fits": True},
    }
    _write_cache_folder(folder, arrays, meta)
    return SkeletonCache.load(folder)


def _background_arrays(scene: Scene) -> dict[str, np.ndarray]:
    return {
        "plate": scene.plate_for(scene.reference),
        "scene": scene.image,
        "camera": scene.frame_to_scene.astype(np.float64),
    }


def _try_load(folder: Path) -> SkeletonCache | None:
    if not folder.exists():
        return None
    try:
        return SkeletonCache.load(folder)
    except CacheDamaged as err:
        log.warning("rebuilding a damaged cache: %s", err)
        return None


def _safe_stem(stem: str) -> str:
    """A folder-name-safe version of a file stem (non-ASCII letters are kept, separators are not)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:60] or "video"
