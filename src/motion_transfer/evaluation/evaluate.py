"""Self-reconstruction evaluation on the held-out frames of the target (after Everybody Dance Now).

The validation block of the time split was never trained on (and a gap separates it from the
training frames). Each generator redraws those frames from their skeletons; the figures compare
them with the real crops, beside two floors that learn nothing (the mean training image, the last
training frame) and the real crops' own pose figures as the ceiling.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from motion_transfer.data.datamodule import SkeletonImageDataModule
from motion_transfer.evaluation.frame_metrics import full_frame_figures, val_composites
from motion_transfer.evaluation.metrics import image_metrics, pose_consistency
from motion_transfer.evaluation.native import native_bounds, native_figures
from motion_transfer.evaluation.steadiness import sequence_figures
from motion_transfer.models import PoseToImageModule
from motion_transfer.pose.drawing import tensor_to_images
from motion_transfer.pose.retarget import check_smoothing, smooth_poses, smoothing_figures
from motion_transfer.runtime.atomic import write_json_atomically

log = logging.getLogger(__name__)


def held_out(datamodule: SkeletonImageDataModule, smoothing=None) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Skeletons (N, 13, 2), placements (N, 3) and real images (N, 3, S, S) in [-1, 1] of the
    validation frames; the skeletons smoothed over the whole clip as `smoothing` says, if given."""
    val = datamodule.val_set
    skeletons = np.asarray(datamodule.cache.skeletons)
    if smoothing is not None:
        skeletons = smooth_poses(skeletons, smoothing, datamodule.cache.fps)
    skeletons = skeletons[val.indices.numpy()]
    return skeletons, val.placements.numpy(), val.images.float() / 127.5 - 1.0


def floor_predictions(datamodule: SkeletonImageDataModule, n: int) -> dict[str, torch.Tensor]:
    """Predictors that ignore the pose: the mean training image, and the last training frame."""
    train = datamodule.train_set.images.float() / 127.5 - 1.0
    return {
        "mean_image": train.mean(dim=0, keepdim=True).expand(n, -1, -1, -1),
        "last_training_frame": train[-1:].expand(n, -1, -1, -1),
    }


def score(fake: torch.Tensor, real: torch.Tensor, skeletons: np.ndarray, pose: DictConfig | dict) -> dict[str, float]:
    figures = image_metrics(fake, real)
    if pose.get("enabled", True):
        figures.update(pose_consistency(tensor_to_images(fake), skeletons, int(pose["size"]), float(pose["pad"])))
    return figures


def evaluate_generator(
    model: PoseToImageModule,
    datamodule: SkeletonImageDataModule,
    pose: DictConfig | dict,
    batch_size: int = 64,
    with_floors: bool = True,
    smoothing=None,
) -> tuple[dict, torch.Tensor]:
    """All figures for one generator on the held-out frames (per frame, and over consecutive frames
    under "temporal": on the crops, and on the full frames where there is a plate; at the video's own
    resolution under "native", evaluation/native.py), as a JSON-ready dict, and the
    generated crops (N, 3, S, S) in [-1, 1] (for a model that draws alpha, composited over the
    plate's crop at each frame's box: what crop output shows)."""
    skeletons, placements, real = held_out(datamodule, smoothing)
    start = time.perf_counter()
    # Each frame's own placement, as its own pose: both are inputs (for models that read them).
    rgb, alpha = model.layers_from_skeletons(skeletons, batch_size, placements)
    generation_s = time.perf_counter() - start
    fake = val_composites(rgb, alpha, datamodule) if model.draws_alpha else rgb
    result = {
        "model": model.model_name,
        "image_size": datamodule.image_size,
        "target": {"name": datamodule.target_name, "key": datamodule.target_key},
        "split": {
            "train_frames": int(len(datamodule.split.train)),
            "val_frames": int(len(datamodule.split.score)),
            "val_start": int(datamodule.split.val_start),
            "select_frames": int(len(datamodule.split.select)),
            "gap_frames": int(datamodule.split.gap),
        },
        "metrics": score(fake, real, skeletons, pose),
        "generation_fps": float(len(skeletons) / max(generation_s, 1e-9)),
    }
    if smoothing is not None:  # how far the smoothed poses drawn are from those MediaPipe found
        found = np.asarray(datamodule.cache.skeletons)[datamodule.val_set.indices.numpy()]
        result["smoothing"] = smoothing_figures(found, skeletons)
    numbers = datamodule.val_set.indices.numpy()
    result["temporal"] = {"crop": sequence_figures(numbers, tensor_to_images(real), tensor_to_images(fake))}
    if datamodule.has_plate:
        result["full_frame"] = full_frame_figures(rgb, alpha, fake, datamodule)
        result["temporal"]["full_frame"] = result["full_frame"].pop("temporal")
        result["native"] = native_figures(model, datamodule, skeletons, placements)
        if with_floors and getattr(model, "store", None) is not None:
            result["native_bounds"] = native_bounds(datamodule, model.store)
    if with_floors:
        result["floors"] = {
            name: score(pred, real, skeletons, pose) for name, pred in floor_predictions(datamodule, len(real)).items()
        }
        if pose.get("enabled", True):
            result["ceiling"] = {
                "real_crops": pose_consistency(tensor_to_images(real), skeletons, int(pose["size"]), float(pose["pad"]))
            }
    return result, fake


def _json_safe(value):
    """NaN (no pose found, so no joint error) becomes null: metrics.json stays strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_metrics(result: dict, folder: Path) -> Path:
    return write_json_atomically(folder / "metrics.json", _json_safe(result))


def run_evaluation(cfg: DictConfig) -> Path:
    """Evaluate the configured generator on the held-out frames; write metrics.json and a grid."""
    import torchvision

    from motion_transfer.models.loading import prepare_data_and_model
    from motion_transfer.runtime.config import start_run

    check_smoothing(cfg.smoothing)
    out_dir = start_run(cfg)
    datamodule, model = prepare_data_and_model(cfg)
    result, fake = evaluate_generator(model, datamodule, cfg.pose, int(cfg.batch_size), smoothing=cfg.smoothing)
    result["smoothing"] = {**OmegaConf.to_container(cfg.smoothing), **result["smoothing"]}
    result["checkpoint"] = str(Path(cfg.ckpt_path).resolve()) if cfg.get("ckpt_path") else None
    path = write_metrics(result, out_dir)
    # The same evenly spread held-out frames every time: stick figure | real | generated.
    batch = datamodule.fixed_val_batch(int(cfg.grid_frames))
    picks = batch["position"]
    rows = torch.stack([batch["stick"], batch["image"], fake[picks]], dim=1).flatten(0, 1)
    torchvision.utils.save_image(rows, out_dir / "samples.png", nrow=3, normalize=True, value_range=(-1, 1))
    _log_to_tensorboard(result, out_dir)
    m = result["metrics"]
    pose = f", pose found {100 * m['pose_detection_rate']:.0f}%" if "pose_detection_rate" in m else ""
    steadiness = result["temporal"]["crop"]["warping_ratio"]
    log.info(
        "%s on %s: SSIM %.3f, PSNR %.2f dB, L1 %.3f%s, warping error %.2fx the real frames'",
        result["model"],
        result["target"]["name"],
        m["ssim"],
        m["psnr"],
        m["l1"],
        pose,
        steadiness,
    )
    if "native" in result:
        n = result["native"]
        log.info(
            "at the video's resolution (box side %.0f px): box SSIM %.3f, PSNR %.2f dB, detail ratio %.2f "
            "(real %.2f grey levels), head SSIM %.3f, hands SSIM %.3f; %.2f s a frame",
            n["median_side"],
            n["box_ssim"],
            n["box_psnr"],
            n["detail_ratio"],
            n["detail_real"],
            n["head_ssim"],
            n["hands_ssim"],
            n["seconds_per_frame"],
        )
    for name, b in result.get("native_bounds", {}).items():
        log.info(
            "  bound, %s: box SSIM %.3f, PSNR %.2f dB, detail ratio %.2f, head SSIM %.3f, hands SSIM %.3f",
            name.replace("_", " "),
            b["box_ssim"],
            b["box_psnr"],
            b["detail_ratio"],
            b["head_ssim"],
            b["hands_ssim"],
        )
    return path


def _log_to_tensorboard(result: dict, folder: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(folder / "tensorboard")) as writer:
        groups = [("eval", result["metrics"])]
        groups += [(f"floor_{k}", v) for k, v in result.get("floors", {}).items()]
        groups += [(f"full_frame_{k}", v) for k, v in result.get("full_frame", {}).items()]
        groups += [(f"temporal_{k}", v) for k, v in result.get("temporal", {}).items()]
        groups += [("native", result["native"])] if "native" in result else []
        for group, figures in groups:
            for name, value in figures.items():
                if np.isfinite(value):
                    writer.add_scalar(f"{group}/{name}", value, 0)
