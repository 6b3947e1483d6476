"""`make bench`: every section of the bench in one run (configs/bench.yaml, configs/bench/), its
options checked first; writes bench.json (the command, the settings, the machine and each
section's figures) and prints the table.

Every figure is the median of `repeats` timed runs after a warm-up; a path and its baseline are
timed in alternating pairs (`measure.compared`).
"""

from __future__ import annotations

import logging
import os
import platform
import shlex
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from motion_transfer.bench.demos import bench_demo, bench_full_frame_demo
from motion_transfer.bench.generation import bench_generation
from motion_transfer.bench.live_mode import bench_live
from motion_transfer.bench.measure import peak_rss_mb
from motion_transfer.bench.native_demo import bench_native_demo
from motion_transfer.bench.nearest_neighbour import bench_nearest
from motion_transfer.bench.preprocess import bench_preprocess
from motion_transfer.bench.table import format_table
from motion_transfer.bench.train_settings import bench_training_settings
from motion_transfer.bench.training import bench_training
from motion_transfer.data.cache import load_or_build_video_cache
from motion_transfer.models.kinds import model_kinds, model_names
from motion_transfer.render.output import OutputOptions
from motion_transfer.runtime.atomic import write_json_atomically
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)


def timed_models() -> tuple[str, ...]:
    """The models the generation, demo, training and live sections can time: those that learn and
    train alone (untrained, they do the same work as trained ones)."""
    kinds = model_kinds()
    return tuple(name for name in model_names(learns=True) if not kinds[name].trains_from)


def check_models(option: str, names: list[str]) -> None:
    """Refuse, in one sentence, a model list the timed sections cannot build."""
    allowed = timed_models()
    if not names or any(name not in allowed for name in names):
        built = ", ".join(model_names(learns=False))
        raise UserError(
            f"{option}={names} must list learned generators that train alone: {', '.join(allowed)} "
            f"({built} is timed in the nearest-neighbour section)."
        )


def bench_command() -> str:
    """The command line that runs this bench again (its overrides as Hydra received them)."""
    from hydra.core.hydra_config import HydraConfig

    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return shlex.join(["python", "src/bench.py", *overrides])


def run_bench(cfg: DictConfig) -> Path:
    """Time every section (the quick preset: a few seconds each); write bench.json, print the table."""
    from motion_transfer.models.loading import prepare_datamodule
    from motion_transfer.runtime.config import start_run

    b = cfg.bench
    device = str(b.device)
    if device not in ("cpu", "cuda"):
        raise UserError(f"bench.device={device!r} is not known; use cpu or cuda.")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("bench.device=cuda but PyTorch sees no CUDA GPU on this machine; use bench.device=cpu.")
    check_models("bench.models", list(b.models or []))
    if b.live_model:
        check_models("bench.live_model", [str(b.live_model)])
    output = OutputOptions.from_config(cfg.output)
    torch.set_num_threads(int(b.threads) if b.threads else torch.get_num_threads())
    out_dir = start_run(cfg)
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": bench_command(),
        "settings": OmegaConf.to_container(b, resolve=True),
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "device": device if device == "cpu" else f"cuda ({torch.cuda.get_device_name()})",
            "torch": torch.__version__,
            "quick": bool(b.quick),
        },
    }
    repeats = int(b.repeats)
    datamodule = prepare_datamodule(cfg.data)
    target = datamodule.cache
    source = (
        load_or_build_video_cache(
            b.source_video,
            Path(cfg.paths.cache_dir),
            datamodule.crop_params,
            progress=False,
            option="bench.source_video",
        )
        if b.source_video
        else None
    )
    if source is None:
        from motion_transfer.data.cache import load_or_build_synthetic_cache

        source = load_or_build_synthetic_cache("source", 200, 1, Path(cfg.paths.cache_dir), datamodule.crop_params)
    log.info("nearest neighbour")
    result["nearest_neighbour"] = bench_nearest(
        np.asarray(target.landmarks)[target.detected],
        np.asarray(target.skeletons)[target.detected],
        np.asarray(source.landmarks)[source.detected],
        np.asarray(source.skeletons)[source.detected],
        repeats,
        list(b.nn_sizes),
        device,
    )
    if b.preprocess_video:
        log.info("preprocessing")
        result["preprocess"] = bench_preprocess(Path(b.preprocess_video).resolve(), repeats)
    log.info("generation")
    result["generation"] = bench_generation(
        np.asarray(source.skeletons), list(b.sizes), list(b.batches), repeats, list(b.models), device
    )
    log.info("demo")
    result["demo"] = bench_demo(
        source, datamodule.training_skeletons(), list(b.models), datamodule.image_size, repeats, device
    )
    log.info("full-frame demo")
    if b.source_video:
        from motion_transfer.data.video import iter_frames

        frames = lambda: iter_frames(Path(b.source_video))  # noqa: E731
    else:
        from motion_transfer.data.synthetic import render_clip

        frames = lambda: iter(render_clip("source", 200, 1)[0])  # noqa: E731
    result["full_frame_demo"] = bench_full_frame_demo(
        source, frames, datamodule, list(b.models), datamodule.image_size, repeats, output, device
    )
    if b.native_heights is not None:
        log.info("native full-frame demo")
        result["native_demo"] = bench_native_demo(
            source, frames, datamodule, repeats, output, list(b.native_heights), int(b.native_frames)
        )
    if b.source_video and b.live_model:
        log.info("live mode")
        result["live"] = bench_live(datamodule, Path(b.source_video), str(b.live_model), int(b.live_frames), output)
    log.info("training")
    result["training"] = bench_training(
        datamodule, list(b.models), int(b.train_steps), max(1, (repeats + 1) // 2), device
    )
    log.info("training settings")
    result["training_settings"] = bench_training_settings(
        datamodule, list(b.models), int(b.settings_steps), max(1, (repeats + 1) // 2), device
    )
    result["peak_rss_mb"] = peak_rss_mb()
    path = write_json_atomically(out_dir / "bench.json", result)
    print(format_table(result))
    return path
