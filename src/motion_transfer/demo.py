"""The demo: a source person's moves, performed by the target person, written as videos."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from motion_transfer.data.cache import SkeletonCache, load_or_build_synthetic_cache, load_or_build_video_cache
from motion_transfer.data.datamodule import SkeletonImageDataModule, resize_crops
from motion_transfer.data.video import (
    BackgroundWorker,
    VideoWriter,
    check_video_path,
    iter_frames,
    keep_what_was_written,
)
from motion_transfer.models import PoseToImageModule
from motion_transfer.models.loading import load_model, model_class, prepare_datamodule
from motion_transfer.pose.drawing import draw_skeletons, render_stick_figures, tensor_to_images
from motion_transfer.pose.retarget import NORMALIZE_MODES, check_smoothing, normalize_poses, smooth_poses
from motion_transfer.pose.skeleton import forward_fill, held_facings, sanitize
from motion_transfer.render.output import OutputOptions, SceneOutput, output_for, typical_plate_crop
from motion_transfer.render.scene_video import source_points_in_frame, target_boxes_for, write_full_frame_videos
from motion_transfer.render.window import show_frames, want_window
from motion_transfer.runtime.config import start_run
from motion_transfer.runtime.errors import UserError
from motion_transfer.runtime.progress import progress_bar

log = logging.getLogger(__name__)

PANEL_LABELS = ("source", "pose", "generated")


def plate_crop_tensor(datamodule: SkeletonImageDataModule) -> torch.Tensor:
    """(1, 3, S, S) in [-1, 1]: the background's crop where the target usually stands, for crop output."""
    crop = torch.from_numpy(typical_plate_crop(datamodule))
    return crop.permute(2, 0, 1)[None].float() / 127.5 - 1.0


def source_frames(cfg: DictConfig, source: SkeletonCache) -> Iterator[np.ndarray]:
    """The source clip's full frames in order, decoded (or rendered) one at a time."""
    if cfg.data.kind == "synthetic" and not cfg.get("source_video"):
        from motion_transfer.data.synthetic import render_clip

        frames, _ = render_clip("source", int(cfg.synthetic_source_frames), int(cfg.seed) + 1)
        return iter(frames)
    return iter_frames(Path(cfg.source_video))


def check_source(cfg: DictConfig) -> None:
    """A missing or unreadable `source_video` refused now, in one line, before any long step."""
    if cfg.data.kind == "synthetic" and not cfg.get("source_video"):
        return
    if not cfg.get("source_video"):
        raise UserError(
            "source_video is not set: give the video of the person whose moves to copy, e.g. "
            "source_video=clips/source.mp4."
        )
    check_video_path(cfg.source_video, "source_video")


def load_source(cfg: DictConfig, datamodule: SkeletonImageDataModule) -> SkeletonCache:
    """The source clip's cache: the synthetic source person, or `source_video`."""
    if cfg.data.kind == "synthetic" and not cfg.get("source_video"):
        return load_or_build_synthetic_cache(
            "source", int(cfg.synthetic_source_frames), int(cfg.seed) + 1, datamodule.cache_dir, datamodule.crop_params
        )
    check_source(cfg)
    return load_or_build_video_cache(
        cfg.source_video,
        datamodule.cache_dir,
        datamodule.crop_params,
        progress=datamodule.progress,
        option="source_video",
    )


def prepare_source_poses(
    source: SkeletonCache, target_reference: np.ndarray, normalize: str, smoothing
) -> tuple[np.ndarray, np.ndarray, int]:
    """Source skeletons, smoothed, with missing frames holding the last pose, normalised to the target.

    Returns (raw, normalised, n_missing): raw (N, 13, 2) in the source's crops, normalised in the target's.
    """
    raw, usable = sanitize(np.asarray(source.skeletons))
    usable &= np.asarray(source.detected, dtype=bool)
    n_missing = int((~usable).sum())
    raw = forward_fill(raw, usable)
    smoothed = smooth_poses(raw, smoothing, source.fps)
    normalised = normalize_poses(smoothed, target_reference, normalize)
    return smoothed, normalised, n_missing


def compose_panels(
    source_crops: np.ndarray, source_poses: np.ndarray, normalised: np.ndarray, generated: np.ndarray, size: int
) -> np.ndarray:
    """Side by side: source crop with its skeleton | normalised stick figure | generated image.

    source_crops (N, R, R, 3) uint8; poses (N, 13, 2) crop coordinates; generated (N, S, S, 3) uint8
    (resized here unless S == size). Returns (N, size, 3 * size, 3) uint8.
    """
    left = draw_skeletons(resize_crops(source_crops, size), source_poses * size)
    middle = render_stick_figures(normalised, size)
    right = (
        generated
        if generated.shape[1] == size
        else np.stack([cv2.resize(g, (size, size), interpolation=cv2.INTER_LINEAR) for g in generated])
    )
    frames = np.concatenate([left, middle, right], axis=2)
    scale = size / 256.0
    for frame in frames:
        for i, label in enumerate(PANEL_LABELS):
            cv2.putText(
                frame,
                label,
                (int(i * size + 8 * scale), int(22 * scale)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.6 * scale,
                (255, 255, 255),
                max(1, int(round(scale))),
                cv2.LINE_AA,
            )
    return frames


def generate_panel_images(
    model, normalised: np.ndarray, batch: int, size: int, plate: torch.Tensor | None = None
) -> np.ndarray:
    """The target in each pose, (N, size, size, 3) uint8; over `plate` (1, 3, S, S) in [-1, 1], the
    background's crop where the target usually stands, for a model that draws alpha.

    Converted to uint8 at the model's size, then upscaled bilinearly in one batched torch call on
    uint8 pixels: a quarter of the bytes of float images, and one call for the batch (`make bench`
    times this stage as `generation_and_upscale` beside `generation`).
    """
    plates = None if plate is None else plate.expand(len(normalised), -1, -1, -1)
    images = tensor_to_images(model.generate_from_skeletons(normalised, batch, plates=plates))
    if images.shape[1] == size:
        return images
    pixels = torch.from_numpy(images).permute(0, 3, 1, 2)  # a channels-last view, no copy
    return (
        F.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False)
        .permute(0, 2, 3, 1)
        .contiguous()
        .numpy()
    )


def write_transfer_videos(
    model,
    source_crops: np.ndarray,
    raw: np.ndarray,
    normalised: np.ndarray,
    fps: float,
    out_dir: Path,
    batch: int = 64,
    size: int = 256,
    progress: bool = True,
    show: bool = False,
    preset: str = "ultrafast",
    plate: torch.Tensor | None = None,
) -> tuple[Path, Path]:
    """Generate the target in each normalised pose, batch by batch, and write both videos (over
    `plate`, (1, 3, S, S), for a model that draws alpha: see generate_panel_images).

    A worker thread draws and encodes one batch while the next is generated (unless `show`: the
    window is drawn on the calling thread). Ctrl-C or a failure
    keeps a playable video of the frames done so far (or none): the writers finish their stream
    before the file takes its final name.
    """
    n = len(raw)
    transfer_path, generated_path = out_dir / "transfer.mp4", out_dir / "generated.mp4"
    transfer = VideoWriter(transfer_path, fps, 3 * size, size, preset=preset)
    generated_video = VideoWriter(generated_path, fps, size, size, preset=preset)
    encoder = BackgroundWorker()
    bar = progress_bar(n, "demo", enabled=progress)

    def draw(frames: slice, images: np.ndarray) -> np.ndarray:
        return compose_panels(source_crops[frames], raw[frames], normalised[frames], images, size)

    def encode(panels: np.ndarray) -> None:
        transfer.write(panels)
        generated_video.write(panels[:, :, 2 * size :])
        bar.update(len(panels))

    try:
        for start in range(0, n, batch):
            frames = slice(start, min(n, start + batch))
            images = generate_panel_images(model, normalised[frames], batch, size, plate)
            if show:
                panels = draw(frames, images)
                show_frames(panels)
                encoder.submit(lambda panels=panels: encode(panels))
            else:
                encoder.submit(lambda frames=frames, images=images: encode(draw(frames, images)))
        encoder.finish()
    except BaseException:
        bar.close()
        keep_what_was_written(encoder, (transfer, generated_video))
        raise
    bar.close()
    return transfer.close(), generated_video.close()


def model_and_source(cfg: DictConfig, datamodule: SkeletonImageDataModule) -> tuple[PoseToImageModule, SkeletonCache]:
    """The generator and the source's cache. A model built now (nearest neighbour, the warp) may first build
    the target's person store while the source's poses are found on another thread: the two share no data,
    and on two cores they overlap (a first transfer from taichi2 onto karate1 spends about 10 s on the store
    and 6 s on the source). A checkpoint loads in a moment: there the source simply follows."""
    if model_class(cfg.model).learns or cfg.get("ckpt_path"):
        model = load_model(cfg, datamodule)
        return model, load_source(cfg, datamodule)
    with ThreadPoolExecutor(1, thread_name_prefix="source-poses") as pool:
        source = pool.submit(load_source, cfg, datamodule)
        model = load_model(cfg, datamodule)
        return model, source.result()


def run_demo(cfg: DictConfig) -> Path:
    """Write transfer.mp4 (side by side) and generated.mp4 into this run's folder; return transfer.mp4."""
    if cfg.normalize not in NORMALIZE_MODES:
        raise UserError(f"normalize={cfg.normalize!r} is not known; use one of {', '.join(NORMALIZE_MODES)}.")
    if int(cfg.batch_size) < 1:
        raise UserError(f"batch_size={cfg.batch_size} must be at least 1.")
    check_smoothing(cfg.smoothing)
    options = OutputOptions.from_config(cfg.output)
    out_dir = start_run(cfg)
    datamodule = prepare_datamodule(cfg.data)
    check_source(cfg)  # before the model and the source are made side by side: a wrong path ends it now
    model, source = model_and_source(cfg, datamodule)

    show = want_window(bool(cfg.show))
    raw, normalised, n_missing = prepare_source_poses(
        source, datamodule.training_skeletons(), cfg.normalize, cfg.smoothing
    )
    output = output_for(options, datamodule, model.draws_alpha)  # crop where the target has no plate (warned)
    full_frame = isinstance(output, SceneOutput)
    if full_frame and show:
        log.warning("show=true is for the crop output (output.mode=crop); writing the videos only")
    if full_frame:
        points = source_points_in_frame(raw, np.asarray(source.boxes))
        transfer_path, generated_path = write_full_frame_videos(
            model,
            source_frames(cfg, source),
            points,
            normalised,
            target_boxes_for(points, datamodule),
            output,
            source.fps,
            out_dir,
            int(cfg.batch_size),
            progress=datamodule.progress,
            preset=options.video_preset,
            panel_height=options.panel_height,
            facings=held_facings(np.asarray(source.landmarks)),
        )
    else:
        transfer_path, generated_path = write_transfer_videos(
            model,
            np.asarray(source.crops),
            raw,
            normalised,
            source.fps,
            out_dir,
            int(cfg.batch_size),
            options.panel_size,
            progress=datamodule.progress,
            show=show,
            preset=options.video_preset,
            plate=plate_crop_tensor(datamodule) if model.draws_alpha and datamodule.has_plate else None,
        )
    n = len(raw)
    log.info(
        "source '%s': %d frames, %d without a person (held the last pose); %s, normalize=%s",
        source.name,
        n,
        n_missing,
        model.model_name,
        cfg.normalize,
    )
    print(f"frames: {n}, source frames without a person: {n_missing} (held the last pose)")
    print(f"generated: {generated_path}")
    return transfer_path
