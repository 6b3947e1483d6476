"""The checks of the data.* options a SkeletonImageDataModule is made with: the first one out of range
is a one-sentence UserError that names the option and the values it may take."""

from __future__ import annotations

from pathlib import Path

from motion_transfer.pose.crop import CropParams
from motion_transfer.runtime.errors import UserError

SUPPORTED_IMAGE_SIZES = (32, 64, 128, 256)
DATA_KINDS = ("synthetic", "video")


def check_data_options(
    kind: str,
    target_video: str | None,
    image_size: int,
    batch_size: int,
    num_workers: int,
    val_fraction: float,
    gap_s: float,
    jitter: float,
) -> None:
    """data.kind, data.target_video, data.image_size and the loaders' and the split's options."""
    if kind not in DATA_KINDS:
        raise UserError(f"data.kind={kind!r} is not known; use one of {', '.join(DATA_KINDS)}.")
    if image_size not in SUPPORTED_IMAGE_SIZES:
        raise UserError(
            f"data.image_size={image_size} is not supported; use one of {', '.join(map(str, SUPPORTED_IMAGE_SIZES))}."
        )
    if int(batch_size) < 1:
        raise UserError(f"data.batch_size={batch_size} must be at least 1.")
    if int(num_workers) < 0:
        raise UserError(f"data.num_workers={num_workers} must be 0 or more.")
    if not 0.0 < float(val_fraction) < 0.9:
        raise UserError(f"data.val_fraction={val_fraction} must be between 0 and 0.9.")
    if float(gap_s) < 0:
        raise UserError(f"data.gap_s={gap_s} must be 0 or more seconds.")
    if not 0.0 <= float(jitter) <= 0.25:
        raise UserError(f"data.jitter={jitter} must be between 0 (off) and 0.25 of the image side.")
    if kind == "video" and not target_video:
        raise UserError(
            "data.target_video is not set: give the target person's video, e.g. data.target_video=clips/target.mp4."
        )


def check_crop_size(crop_params: CropParams, image_size: int) -> None:
    """data.crop.crop_size: the stored crops are at least as large as the images made from them."""
    if crop_params.crop_size < image_size:
        raise UserError(
            f"data.crop.crop_size={crop_params.crop_size} is smaller than data.image_size={image_size}; raise it."
        )


def check_background_file(background: str | None) -> None:
    """data.background, when given, names an existing file (whether it is a usable image is seen
    once the frame size is known)."""
    if background is not None and not Path(background).expanduser().is_file():
        raise UserError(
            f"data.background='{background}' is not a file: give a still image of the target's scene "
            "(png or jpg, the size of the target's frames), or data.background=null to estimate it from the video."
        )
