"""The skeleton cache: a video turned once into person crops and skeletons, reused afterwards.

A cache folder holds `crops.npy` (N, R, R, 3) uint8 RGB crops at the working resolution R,
`landmarks.npy` (N, 33, 4) MediaPipe landmarks in frame pixels (NaN where no person was found),
`skeletons.npy` (N, 13, 2) the reduced skeleton in crop coordinates [0, 1], `boxes.npy` (N, 3)
the crop boxes (cx, cy, side) in frame pixels, `detected.npy` (N,) bool, and `meta.json`.
It is keyed by the content of the source file and the parameters, written into a temporary
folder and renamed into place, so a folder under its final name is always complete; meta.json
records every array's size, so a damaged folder is noticed and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import crop as cropping
from .crop import CropParams
from .errors import UserError
from .progress import progress_bar
from .skeleton import NUM_LANDMARKS, reduce_landmarks

log = logging.getLogger(__name__)

CACHE_VERSION = 2
ARRAY_NAMES = ("crops", "landmarks", "skeletons", "boxes", "detected")
# Frames decoded during pose extraction are kept for the crop pass up to this size; beyond it
# the video is decoded a second time instead.
_FRAME_MEMORY_BUDGET = 3 << 30


#: A video that decodes fewer than this share of the frames its header announces is truncated.
TRUNCATION_SHARE = 0.9


class CacheDamaged(Exception):
    """A cache folder is incomplete or inconsistent with its meta.json."""


@dataclass
class SkeletonCache:
    path: Path
    crops: np.ndarray
    landmarks: np.ndarray
    skeletons: np.ndarray
    boxes: np.ndarray
    detected: np.ndarray
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
        for name in ARRAY_NAMES:
            file = path / f"{name}.npy"
            expected = meta.get("files", {}).get(f"{name}.npy")
            if not file.is_file() or expected is None or file.stat().st_size != expected:
                raise CacheDamaged(f"{path}: {name}.npy missing or of the wrong size")
            try:
                arrays[name] = np.load(file, mmap_mode="r" if name == "crops" else None)
            except (OSError, ValueError) as err:
                raise CacheDamaged(f"{path}: {name}.npy unreadable ({err})") from err
        n = meta["n_frames"]
        if any(len(a) != n for a in arrays.values()):
            raise CacheDamaged(f"{path}: arrays disagree on the frame count")
        return cls(path=path, meta=meta, **arrays)


def _cache_key(identity: dict, params: CropParams) -> str:
    blob = json.dumps({"identity": identity, "params": asdict(params), "version": CACHE_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _write_atomically(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write arrays and meta.json into a temporary sibling folder, then rename it to `folder`."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=folder.parent))
    try:
        (tmp / ".owner").write_text(str(os.getpid()))
        files = {}
        for name in ARRAY_NAMES:
            np.save(tmp / f"{name}.npy", arrays[name])
            files[f"{name}.npy"] = (tmp / f"{name}.npy").stat().st_size
        meta = {**meta, "files": files}
        # meta.json last: a folder without it is never trusted.
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        (tmp / ".owner").unlink()
        if folder.exists():
            stale = folder.with_name(f".old-{folder.name}-{os.getpid()}")
            os.replace(folder, stale)
            shutil.rmtree(stale, ignore_errors=True)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_abandoned_temporaries(root: Path) -> None:
    """Delete temporary folders left by builds that were killed (their process is gone)."""
    for tmp in root.glob(".tmp-*"):
        owner = tmp / ".owner"
        try:
            pid = int(owner.read_text())
            os.kill(pid, 0)
            continue  # still being written by a live process
        except (OSError, ValueError):
            shutil.rmtree(tmp, ignore_errors=True)


def assemble_cache_arrays(
    frames: Iterable[np.ndarray], landmarks: np.ndarray, detected: np.ndarray, fps: float, params: CropParams
) -> dict[str, np.ndarray]:
    """Crop every frame around the person and express the skeletons in crop coordinates.

    frames: iterable of (H, W, 3) uint8 RGB, in order, as many as landmarks; landmarks (N, 33, 4)
    in pixels (rows of undetected frames are ignored); detected (N,) bool.
    """
    landmarks = np.asarray(landmarks, dtype=np.float32).copy()
    detected = np.asarray(detected, dtype=bool)
    landmarks[~detected] = np.nan
    boxes = cropping.crop_boxes(landmarks, detected, fps, params)
    n = len(detected)
    crops = np.empty((n, params.crop_size, params.crop_size, 3), dtype=np.uint8)
    i = -1
    for i, frame in enumerate(frames):
        if i >= n:
            break
        crops[i] = cropping.crop_frame(frame, boxes[i], params.crop_size)
    if i + 1 < n:
        raise ValueError(f"got {i + 1} frames for {n} landmark rows")
    skeletons = cropping.to_crop_coordinates(reduce_landmarks(landmarks).astype(np.float64), boxes)
    return {"crops": crops, "landmarks": landmarks, "skeletons": skeletons, "boxes": boxes, "detected": detected}


def _extract_landmarks(
    video, params: CropParams, progress: bool, option: str
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray] | None]:
    """Run MediaPipe over every frame. Returns landmarks (N, 33, 4), detected (N,), and the frames if kept."""
    from .pose import PoseExtractor
    from .video import decoded_ahead

    rows, found, kept = [], [], []
    keep = video.width * video.height * 3 * max(video.frame_count, 1) <= _FRAME_MEMORY_BUDGET
    missing = np.full((NUM_LANDMARKS, 4), np.nan, dtype=np.float32)
    bar = progress_bar(video.frame_count or None, f"poses {video.path.name}", enabled=progress, leave=False)
    with PoseExtractor(params.min_detection_confidence, params.min_tracking_confidence) as extract:
        for frame in decoded_ahead(video.path):
            lm = extract(frame)
            rows.append(missing if lm is None else lm)
            found.append(lm is not None)
            if keep:
                kept.append(frame)
            bar.update()
    bar.close()
    if not rows:
        raise UserError(
            f"{option}: '{video.path}' contains no decodable frame; the file may be truncated or not a video."
        )
    if video.frame_count and len(rows) < TRUNCATION_SHARE * video.frame_count:
        raise UserError(
            f"{option}: '{video.path}' stops decoding after {len(rows)} of its {video.frame_count} frames; "
            "the file looks truncated (still downloading?): give the complete file."
        )
    return np.stack(rows), np.array(found, dtype=bool), kept if keep else None


def load_or_build_video_cache(
    video_path,
    cache_root: Path,
    params: CropParams = CropParams(),
    force: bool = False,
    progress: bool = True,
    option: str = "video",
) -> SkeletonCache:
    """The cache of a video file: reused when present and intact, built otherwise."""
    from .video import check_video_path, file_digest, iter_frames, probe_video

    path = check_video_path(video_path, option)
    video = probe_video(path, option)
    digest = file_digest(path)
    key = _cache_key({"sha256": digest}, params)
    folder = Path(cache_root) / f"{_safe_stem(path.stem)}-{key}"
    if not force:
        cached = _try_load(folder)
        if cached is not None:
            return cached
    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_temporaries(cache_root)
    log.info("building the skeleton cache of %s into %s", path, folder)
    landmarks, detected, frames = _extract_landmarks(video, params, progress, option)
    n, n_found = len(detected), int(detected.sum())
    if n_found == 0:
        raise UserError(
            f"{option}: no person was found in any of the {n} frames of '{path}'; use a video where one person "
            "is fully visible."
        )
    arrays = assemble_cache_arrays(
        frames if frames is not None else iter_frames(path), landmarks, detected, video.fps, params
    )
    meta = {
        "version": CACHE_VERSION,
        "key": key,
        "name": path.stem,
        "kind": "video",
        "source": {"path": str(path), "sha256": digest, "size_bytes": path.stat().st_size},
        "fps": video.fps,
        "frame_size": [video.width, video.height],
        "frame_count_header": video.frame_count,
        "n_frames": n,
        "n_detected": n_found,
        "n_missing": n - n_found,
        "missing_frames": np.flatnonzero(~detected).tolist(),
        "params": asdict(params),
    }
    _write_atomically(folder, arrays, meta)
    log.info("pose found in %d of %d frames (%.1f%%) of %s", n_found, n, 100.0 * n_found / n, path.name)
    return SkeletonCache.load(folder)


def load_or_build_synthetic_cache(
    role: str, n_frames: int, seed: int, cache_root: Path, params: CropParams = CropParams(), force: bool = False
) -> SkeletonCache:
    """The cache of a procedurally rendered clip (the embedded default), with exact skeletons."""
    from .synthetic import SYNTHETIC_FPS, render_clip

    identity = {"synthetic": role, "n_frames": n_frames, "seed": seed}
    key = _cache_key(identity, params)
    folder = Path(cache_root) / f"synthetic-{role}-{key}"
    if not force:
        cached = _try_load(folder)
        if cached is not None:
            return cached
    frames, landmarks = render_clip(role, n_frames, seed)
    detected = np.ones(len(frames), dtype=bool)
    arrays = assemble_cache_arrays(frames, landmarks, detected, SYNTHETIC_FPS, params)
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
    }
    _write_atomically(folder, arrays, meta)
    return SkeletonCache.load(folder)


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
