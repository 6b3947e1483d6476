"""The demo timed with cached poses, against generation alone: the crop demo (the source | stick
figure | result panels and generated.mp4) and the full-frame demo (the person pasted into the
target's plate at the video's resolution); and each stage of their writers timed one by one."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from motion_transfer.bench.generation import untrained_model
from motion_transfer.bench.measure import compared, timed
from motion_transfer.render.output import OutputOptions, SceneOutput

#: Pose smoothing in the timed demo paths: its cost is negligible next to generation and writing.
BENCH_SMOOTHING = {"method": "median", "window": 5}


def bench_demo(
    source, target_reference: np.ndarray, models: list[str], size: int, repeats: int, device: str = "cpu"
) -> dict:
    """The crop demo of each model on the source's cached poses (`source`: its skeleton cache),
    retargeted to `target_reference`, against generating the same frames alone."""
    from motion_transfer.demo import prepare_source_poses, write_transfer_videos

    raw, normalised, _ = prepare_source_poses(source, target_reference, "global", BENCH_SMOOTHING)
    crops = np.asarray(source.crops)
    out = {}
    for name in models:
        model = untrained_model(name, size, device)
        with tempfile.TemporaryDirectory() as tmp:
            c = compared(
                lambda: model.generate_from_skeletons(normalised, 64),
                lambda: write_transfer_videos(
                    model, crops, raw, normalised, source.fps, Path(tmp), 64, 256, progress=False
                ),
                repeats,
                device=device,
            )
        n = len(raw)
        out[name] = {
            "frames": n,
            "demo_fps": n / c["ours_s"],
            "generation_fps": n / c["baseline_s"],
            **c,
            "stage_ms_per_frame": {
                "generation": 1e3 * c["baseline_s"] / n,
                **_demo_stages(model, crops, raw, normalised, source.fps, repeats),
            },
        }
    return out


def bench_full_frame_demo(
    source,
    source_frames,
    datamodule,
    models: list[str],
    size: int,
    repeats: int,
    options: OutputOptions,
    device: str = "cpu",
) -> dict:
    """The full-frame demo (the person pasted into the target's plate at the video's resolution, at
    most `options.max_side`, and the source | result panel) against generation alone.
    `source_frames()` gives a fresh iterator over the source's frames (decoding is part of the demo).
    The plate is used whether or not the target's camera was found static: the cost is the same."""
    from motion_transfer.demo import prepare_source_poses
    from motion_transfer.render.scene_video import source_points_in_frame, target_boxes_for, write_full_frame_videos

    raw, normalised, _ = prepare_source_poses(source, datamodule.training_skeletons(), "global", BENCH_SMOOTHING)
    points = source_points_in_frame(raw, np.asarray(source.boxes))
    boxes = target_boxes_for(points, datamodule)
    output = SceneOutput(datamodule.plate, options.max_side, options.feather)
    out = {"frame_size": list(output.size)}
    for name in models:
        model = untrained_model(name, size, device)
        with tempfile.TemporaryDirectory() as tmp:
            c = compared(
                lambda: model.layers_from_skeletons(normalised, 64),
                lambda: write_full_frame_videos(
                    model,
                    source_frames(),
                    points,
                    normalised,
                    boxes,
                    output,
                    source.fps,
                    Path(tmp),
                    progress=False,
                    preset=options.video_preset,
                    panel_height=options.panel_height,
                ),
                repeats,
                device=device,
            )
        n = len(raw)
        out[name] = {
            "frames": n,
            "demo_fps": n / c["ours_s"],
            "generation_fps": n / c["baseline_s"],
            **c,
            "stage_ms_per_frame": _full_frame_stages(
                model, source_frames, points, normalised, boxes, output, options, source.fps, repeats
            ),
        }
    return out


def _full_frame_stages(
    model,
    source_frames,
    points,
    normalised,
    boxes,
    output: SceneOutput,
    options: OutputOptions,
    fps: float,
    repeats: int,
    batch: int = 64,
) -> dict:
    """The full-frame demo's writer stages timed one by one on one core, in ms a frame, over the
    first `batch` frames: what the writer thread does beside generation."""
    from motion_transfer.data.video import VideoWriter
    from motion_transfer.pose.drawing import render_stick_figures, tensor_to_images
    from motion_transfer.render.scene_video import INSET, side_by_side

    n = min(batch, len(normalised))
    width, height = output.size
    rgb, alpha = model.layers_from_skeletons(normalised[:n], n)
    persons, alphas = tensor_to_images(rgb), alpha[:, 0].numpy().astype(np.float32)
    frames = output.frames(persons, alphas, boxes[:n])
    sources = [frame for _, frame in zip(range(n), source_frames())]
    side = min(height, options.panel_height) // 2 * 2
    sticks = render_stick_figures(normalised[:n], max(16, int(INSET * side)))
    panels = np.stack([side_by_side(*args, side) for args in zip(sources, frames, sticks, points[:n])])

    def encode(images):
        with tempfile.TemporaryDirectory() as tmp:
            writer = VideoWriter(
                Path(tmp) / "v.mp4", fps, images.shape[2], images.shape[1], preset=options.video_preset
            )
            writer.write(images)
            writer.close()

    stages = {
        "paste": lambda: output.frames(persons, alphas, boxes[:n]),
        "encode_full_frame": lambda: encode(frames),
        "decode_source": lambda: [frame for _, frame in zip(range(n), source_frames())],
        "side_by_side": lambda: [side_by_side(*args, side) for args in zip(sources, frames, sticks, points[:n])],
        "encode_side_by_side": lambda: encode(panels),
    }
    import cv2

    cv2_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # CPU time a frame: what the stages take from the two cores
    try:
        return {name: 1e3 * timed(fn, repeats) / n for name, fn in stages.items()}
    finally:
        cv2.setNumThreads(cv2_threads)


def _demo_stages(
    model,
    crops: np.ndarray,
    raw: np.ndarray,
    normalised: np.ndarray,
    fps: float,
    repeats: int,
    batch: int = 64,
    size: int = 256,
) -> dict:
    """The demo's stages after generation timed one by one, in ms a frame: what the whole demo
    overlaps (generation alone is the baseline `bench_demo` already timed)."""
    from motion_transfer.data.video import VideoWriter
    from motion_transfer.demo import compose_panels, generate_panel_images

    n = len(raw)
    images = generate_panel_images(model, normalised, batch, size)
    panels = compose_panels(crops, raw, normalised, images, size)

    def encode():
        with tempfile.TemporaryDirectory() as tmp:
            for name, frames in (("transfer.mp4", panels), ("generated.mp4", panels[:, :, 2 * size :])):
                writer = VideoWriter(Path(tmp) / name, fps, frames.shape[2], size, preset="ultrafast")
                writer.write(frames)
                writer.close()

    stages = {
        "generation_and_upscale": lambda: generate_panel_images(model, normalised, batch, size),
        "drawing": lambda: compose_panels(crops, raw, normalised, images, size),
        "encoding": encode,
    }
    return {name: 1e3 * timed(fn, repeats) / n for name, fn in stages.items()}
