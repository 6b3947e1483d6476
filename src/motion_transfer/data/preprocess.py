"""Turning a video into a skeleton cache, and its person at native resolution into a person store, ahead of time."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from motion_transfer.data.cache import load_or_build_video_cache
from motion_transfer.data.person_store import load_or_build_person_store
from motion_transfer.data.video import check_video_path, decoded_ahead
from motion_transfer.pose.crop import CropParams
from motion_transfer.runtime.config import start_run
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)


def run_preprocess(cfg: DictConfig) -> Path:
    """Build (or reuse, unless preprocess.force) the cache of `video` and, unless
    preprocess.native_max_side is 0, its person store; return the cache folder."""
    max_side = _native_max_side(cfg.preprocess.get("native_max_side", 0))
    start_run(cfg)
    params = CropParams(**cfg.data.crop)
    force, progress = bool(cfg.preprocess.force), bool(cfg.data.progress)
    cache = load_or_build_video_cache(cfg.video, Path(cfg.paths.cache_dir), params, force=force, progress=progress)
    meta = cache.meta
    rate = 100.0 * meta["n_detected"] / max(meta["n_frames"], 1)
    print(
        f"frames: {meta['n_frames']}, pose found: {meta['n_detected']} ({rate:.1f}%), missing: "
        f"{meta['n_missing']}, fps: {meta['fps']:.2f}"
    )
    people = meta.get("people")
    if people:
        print(
            f"person followed: {people['person']} ({people['people_at_start']} in view at the start"
            f"{', more later' if people['several'] and people['people_at_start'] < 2 else ''}), "
            f"doubtful frames: {people['doubtful_frames']}"
        )
    if max_side:
        path = check_video_path(cfg.video, "video")
        store = load_or_build_person_store(
            cache, lambda: decoded_ahead(path), Path(cfg.paths.cache_dir), max_side, force=force, progress=progress
        )
        info = store.meta
        low, high = info["side_range"]
        size = sum(info["files"].values())
        print(
            f"person store: {info['n_people']} frames at {low}-{high} px (max {max_side}), {size / 1e6:.1f} MB, "
            f"built in {info['build_seconds']:.1f} s"
        )
    return cache.path


def _native_max_side(value) -> int:
    """preprocess.native_max_side as a number of pixels (0: no person store), or a UserError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(
            f"preprocess.native_max_side={value!r} is not a side in pixels; give a positive whole number "
            "(e.g. 768) or 0 to skip the person store."
        )
    return value
