"""One table and one picture comparing every generator trained on a target (`make report`)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torchvision
from omegaconf import DictConfig

from motion_transfer.evaluation.evaluate import evaluate_generator, write_metrics
from motion_transfer.evaluation.frame_metrics import BOX_SIZE, box_views, real_box_views
from motion_transfer.models.checkpoints import find_latest_checkpoint, load_generator
from motion_transfer.models.loading import model_class, model_config, prepare_datamodule
from motion_transfer.runtime.atomic import write_text_atomically
from motion_transfer.runtime.config import start_run

log = logging.getLogger(__name__)

COLUMNS = (
    "ssim",
    "psnr",
    "l1",
    "sharpness",
    "checkerboard",
    "pose_detection_rate",
    "pose_joint_error",
    "pose_joint_error_median",
    "pose_joint_error_upper",
    "pose_joint_error_lower",
)


def _fmt(figures: dict, key: str) -> str:
    value = figures.get(key)
    if value is None or not np.isfinite(value):
        return "-"
    if key == "pose_detection_rate":
        return f"{100 * value:.0f}%"
    return f"{value:.2f}" if key in ("psnr", "sharpness", "checkerboard") else f"{value:.3f}"


def markdown_table(rows: list[tuple[str, str, dict]]) -> str:
    """rows: (name, note, figures) -> a Markdown table."""
    lines = [
        "| model | checkpoint | SSIM | PSNR (dB) | L1 | sharpness | checkerboard | pose found | joint error | "
        "median | upper body | lower body |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, note, figures in rows:
        lines.append(f"| {name} | {note} | " + " | ".join(_fmt(figures, k) for k in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


#: (region, figure) columns of the full-frame table; regions as in frame_metrics.full_frame_figures.
FULL_FRAME_COLUMNS = (
    ("full_frame", "ssim"),
    ("full_frame", "psnr"),
    ("box", "ssim"),
    ("box", "psnr"),
    ("box_crop_output", "ssim"),
    ("box_crop_output", "psnr"),
    ("person_mask", "l1"),
    ("person_mask", "psnr"),
    ("person_mask", "mask_iou"),
)


def full_frame_table(rows: list[tuple[str, dict]]) -> str:
    """rows: (name, full-frame figures) -> a Markdown table (frame, box, crop output in the box, mask)."""
    lines = [
        "| model | frame SSIM | frame PSNR | box SSIM | box PSNR | crop output: box SSIM | box PSNR | "
        "person L1 | person PSNR | mask IoU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, figures in rows:
        cells = [_fmt(figures.get(region, {}), key) for region, key in FULL_FRAME_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: Columns of the native-resolution table (evaluation/native.py) and their formats.
NATIVE_COLUMNS = (
    ("box_ssim", ".3f"),
    ("box_psnr", ".2f"),
    ("detail_ratio", ".2f"),
    ("head_ssim", ".3f"),
    ("hands_ssim", ".3f"),
    ("detail_generated", ".2f"),
    ("detail_real", ".2f"),
    ("median_side", ".0f"),
)


def native_table(rows: list[tuple[str, dict]]) -> str:
    """rows: (name, native figures) -> a Markdown table: box and head regions at the video's own resolution,
    and the person's high-frequency energy, generated beside the real video's."""
    lines = [
        "| model | box SSIM | box PSNR | detail ratio | head SSIM | hands SSIM | detail (grey levels) | real detail | "
        "box side (px) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, figures in rows:
        lines.append(f"| {name} | " + " | ".join(_number(figures.get(k), spec) for k, spec in NATIVE_COLUMNS) + " |")
    return "\n".join(lines) + "\n"


NATIVE_NOTE = (
    "At the video's own resolution (evaluation/native.py): each held-out frame's person drawn at its box's own "
    "side (at most {max_side} px) and pasted into the frame's plate; box, head and hand regions compared without "
    "resampling the real frame; detail ratio: the mean absolute Laplacian over the real person's widened mask, "
    "generated over real (1: as sharp as the video).\n\n"
)


def native_section(rows: list[tuple[str, dict]]) -> str:
    """The native-resolution table with its note, or nothing when no model has native figures."""
    if not rows:
        return ""
    max_side = next((f["max_side"] for _, f in rows if f.get("max_side")), None)
    return "\n" + NATIVE_NOTE.format(max_side=_number(max_side, ".0f")) + native_table(rows)


def temporal_table(rows: list[tuple[str, dict]]) -> str:
    """rows: (name, temporal figures by region) -> a Markdown table: warping error of the generated
    frames beside the real frames' own, their ratio, and the temporal-difference error."""
    regions = [("crop", "crop"), ("full_frame", "frame")]
    shown = [(key, label) for key, label in regions if any(key in figures for _, figures in rows)]
    header = "| model | " + " | ".join(
        f"{label} warping error | real | ratio | {label} temporal difference" for _, label in shown
    )
    lines = [header + " |", "|---|" + "---|---|---|---|" * len(shown)]
    for name, figures in rows:
        cells = []
        for key, _ in shown:
            f = figures.get(key, {})
            cells += [_number(f.get(k), ".4f") for k in ("warping_error", "warping_error_real")]
            cells += [_number(f.get("warping_ratio"), ".2f"), _number(f.get("temporal_difference"), ".4f")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _number(value, spec: str) -> str:
    return "-" if value is None or not np.isfinite(value) else format(value, spec)


def yt_picture(real: torch.Tensor, fakes: list[torch.Tensor], rows: int = 2) -> torch.Tensor:
    """Y-T slices of the held-out crops (N, 3, S, S): row S/2 (through the body) of every frame
    stacked downwards, real then each model side by side, each frame `rows` pixels tall so that
    flicker shows. -> (3, rows * N, S * (1 + len(fakes))) in [-1, 1]."""
    middle = real.shape[-2] // 2
    slices = [images[:, :, middle, :].permute(1, 0, 2) for images in (real, *fakes)]  # (3, N, S) each
    return torch.cat(slices, dim=-1).repeat_interleave(rows, dim=1)


def run_report(cfg: DictConfig) -> Path:
    """Evaluate `models` on the held-out frames of the target; write report.md, report.png, metrics.json."""
    out_dir = start_run(cfg)
    datamodule = prepare_datamodule(cfg.data)
    rows, columns, results, floors, frame_rows, box_columns, native_rows = [], [], {}, None, [], [], []
    temporal_rows, sequences = [], []
    batch = datamodule.fixed_val_batch(int(cfg.grid_frames))
    picks = batch["position"]
    for name in cfg.models:
        cls = model_class(model_config(name))
        if not cls.learns:
            model, note = cls.indexed_on(datamodule, name), "built now"
        else:
            ckpt = find_latest_checkpoint(Path(cfg.paths.train_dir), name, datamodule.target_key, datamodule.image_size)
            if ckpt is None:
                rows.append((name, f"none: `python src/train.py model={name}`", {}))
                continue
            model = load_generator(ckpt, name, datamodule.image_size, datamodule.target_key)[0]
            model.attach_target(datamodule)
            note = f"`{ckpt.parent.parent.name}/{ckpt.name}`"
        result, fake = evaluate_generator(model, datamodule, cfg.pose, int(cfg.batch_size), with_floors=floors is None)
        floors = floors or {**result.get("floors", {}), **result.get("ceiling", {})}
        results[name] = result
        rows.append((name, note, result["metrics"]))
        if "full_frame" in result:
            frame_rows.append((name, result["full_frame"]))
            box_columns.append(box_views(model, datamodule, picks.numpy()))
        if "native" in result:
            native_rows.append((name, result["native"]))
        columns.append(fake[picks])
        temporal_rows.append((name, result["temporal"]))
        sequences.append(fake)
        log.info("%s: %s", name, result["metrics"])
    for name, figures in (floors or {}).items():
        rows.append((f"*{name.replace('_', ' ')}*", "floor" if name != "real_crops" else "ceiling", figures))
    table = markdown_table(rows)
    header = (
        f"Held-out frames of `{datamodule.target_name}` at {datamodule.image_size} px: "
        f"{len(datamodule.split.score)} frames "
        f"from frame {datamodule.split.val_start}; the {len(datamodule.split.select)} held-out frames before them "
        f"chose the checkpoints, and {datamodule.split.gap} frames separate training from the held-out block.\n\n"
    )
    if frame_rows:
        table += (
            "\nFull-frame output: each held-out frame redrawn at its own box and pasted into the background "
            f"plate; box regions compared at {BOX_SIZE} px; person: over MediaPipe's mask, at "
            f"{datamodule.image_size} px.\n\n" + full_frame_table(frame_rows)
        )
    table += native_section(native_rows)
    if temporal_rows:
        table += (
            "\nSteadiness over consecutive held-out frames (evaluation/steadiness.py): the generated frame t-1 "
            "moved along the real frames' optical flow onto t, mean error where the flow is trustworthy, beside the "
            "real frames' own (lower is steadier; report_yt.png shows one row of the crops over time, real first).\n\n"
            + temporal_table(temporal_rows)
        )
        real = datamodule.val_set.images.float() / 127.5 - 1.0
        torchvision.utils.save_image(
            yt_picture(real, sequences), out_dir / "report_yt.png", normalize=True, value_range=(-1, 1)
        )
    write_text_atomically(out_dir / "report.md", header + table)
    write_metrics({"models": results, "floors": floors}, out_dir)
    grid = torch.stack([batch["stick"], batch["image"], *columns], dim=1).flatten(0, 1)
    torchvision.utils.save_image(
        grid, out_dir / "report.png", nrow=2 + len(columns), normalize=True, value_range=(-1, 1), padding=1
    )
    if box_columns:  # the person's box in the full frame, large enough to see seams and halos
        grid = torch.stack([real_box_views(datamodule, picks.numpy()), *box_columns], dim=1).flatten(0, 1)
        torchvision.utils.save_image(
            grid, out_dir / "report_frames.png", nrow=1 + len(box_columns), normalize=True, value_range=(-1, 1)
        )
    print(header + table)
    return out_dir / "report.md"
