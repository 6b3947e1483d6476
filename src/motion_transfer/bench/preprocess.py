"""Preprocessing timed: building a clip's skeleton cache against bare decoding and MediaPipe."""

from __future__ import annotations

import tempfile
from pathlib import Path

from motion_transfer.bench.measure import compared
from motion_transfer.data.cache import load_or_build_video_cache
from motion_transfer.pose.crop import CropParams


def bench_preprocess(video: Path, repeats: int) -> dict:
    """Frames a second of `video` through MediaPipe alone and through the cache builder, timed in pairs."""
    from motion_transfer.data.video import iter_frames
    from motion_transfer.pose.detector import PoseExtractor

    def bare():
        n = 0
        with PoseExtractor() as extract:
            for frame in iter_frames(video):
                extract(frame)
                n += 1
        return n

    n_frames = bare()
    with tempfile.TemporaryDirectory() as tmp:
        c = compared(
            bare,
            lambda: load_or_build_video_cache(video, Path(tmp), CropParams(), force=True, progress=False),
            repeats,
            0,
        )
    return {
        "frames": n_frames,
        "bare_fps": n_frames / c["baseline_s"],
        "preprocess_fps": n_frames / c["ours_s"],
        **c,
    }
