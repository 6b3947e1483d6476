"""Turning a video into a skeleton cache ahead of time."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from motion_transfer.data.cache import load_or_build_video_cache
from motion_transfer.pose.crop import CropParams
from motion_transfer.runtime.config import start_run

log = logging.getLogger(__name__)


def run_preprocess(cfg: DictConfig) -> Path:
    """Build (or reuse, unless preprocess.force) the cache of `video`; return the cache folder."""
    start_run(cfg)
    params = CropParams(**cfg.data.crop)
    cache = load_or_build_video_cache(
        cfg.video, Path(cfg.paths.cache_dir), params, force=bool(cfg.preprocess.force), progress=bool(cfg.data.progress)
    )
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
    return cache.path
