"""Live mode timed (src/live.py): a video file as the camera, the person drawn into the target's full
frame, paced at the file's rate and as fast as it goes, in ONNX Runtime and in PyTorch."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from motion_transfer.bench.generation import untrained_model
from motion_transfer.render.output import OutputOptions, SceneOutput


def bench_live(datamodule, source_video: Path, model_name: str, frames: int, options: OutputOptions) -> dict:
    """Live mode (src/live.py) with a video file as the camera, into the target's full frame (at most
    `options.max_side`), with an untrained `model_name` at the target's image size (the same work as a
    trained one): read at the file's own rate (`paced`: what a camera would give; the sustained rate
    cannot beat the file's), then as fast as the pipeline goes (`unpaced`: its ceiling), in ONNX
    Runtime and in PyTorch."""
    from omegaconf import OmegaConf

    from motion_transfer.live.generator import LiveGenerator
    from motion_transfer.live.mapping import LivePoseMapper
    from motion_transfer.live.pipeline import LivePipeline
    from motion_transfer.live.source import open_source
    from motion_transfer.render.scene_video import target_floor
    from motion_transfer.runtime.config import CONFIG_DIR

    one_euro = OmegaConf.load(CONFIG_DIR / "smoothing" / "one_euro.yaml")  # live mode's default
    threads = torch.get_num_threads()  # LiveGenerator gives PyTorch one thread
    model = untrained_model(model_name, datamodule.image_size)
    output = SceneOutput(datamodule.plate, options.max_side, options.feather)
    out = {"model": model_name, "image_size": datamodule.image_size}
    runs = {"onnx_paced": ("onnx", True), "onnx_unpaced": ("onnx", False), "torch_unpaced": ("torch", False)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, (runtime, pace) in runs.items():
                generator = LiveGenerator(model, runtime, Path(tmp))
                source = open_source(str(source_video))
                mapper = LivePoseMapper(target_floor(datamodule), source.fps, one_euro)
                pipeline = LivePipeline(
                    source,
                    mapper,
                    generator,
                    output,
                    Path(tmp) / f"{name}.mp4",
                    pace=pace,
                    max_frames=frames,
                    preset=options.video_preset,
                )
                out[name] = pipeline.run().summary()
                out["output_size"] = list(pipeline.size)
    finally:
        torch.set_num_threads(threads)
    return out
