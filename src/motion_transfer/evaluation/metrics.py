"""Honest figures for generated frames: image similarity to the real crops, and pose consistency.

SSIM and PSNR come from torchmetrics (no downloaded weights). Pose consistency runs MediaPipe on
each generated frame and compares the joints it finds with the skeleton the frame was generated
from. MediaPipe rarely finds a person in a 64-px crop: frames are upsampled to `pose_size` and
surrounded by a margin of repeated edge pixels, which let it find most real crops.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from motion_transfer.pose.skeleton import body_height, reduce_landmarks


def image_metrics(fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
    """(N, 3, S, S) images in [-1, 1] -> mean SSIM, PSNR (dB) and L1, all on the [0, 1] scale,
    plus the sharpness and checkerboard ratios of the generated images to the real ones."""
    f = (fake.float().clamp(-1, 1) + 1) / 2
    r = (real.float().clamp(-1, 1) + 1) / 2
    return {
        "ssim": float(structural_similarity_index_measure(f, r, data_range=1.0)),
        "psnr": float(peak_signal_noise_ratio(f, r, data_range=1.0)),
        "l1": float((f - r).abs().mean()),
        "sharpness": float(gradient_energy(f) / gradient_energy(r).clamp_min(1e-12)),
        "checkerboard": float(nyquist_energy(f) / nyquist_energy(r).clamp_min(1e-12)),
    }


def gradient_energy(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels: what blur removes. (N, C, H, W) -> scalar."""
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return (dx + dy) / 2


def nyquist_energy(images: torch.Tensor) -> torch.Tensor:
    """Power at the three period-2 frequencies (horizontal, vertical, diagonal), per pixel.

    The checkerboard of stride-2 transposed convolutions repeats on the stride grid, in phase
    across the image, so it stands out exactly there; natural images have little power there.
    (N, C, H, W) -> scalar.
    """
    h, w = images.shape[-2:]
    sign_y = 1.0 - 2.0 * (torch.arange(h) % 2).to(images)  # +1, -1, +1, ...
    sign_x = 1.0 - 2.0 * (torch.arange(w) % 2).to(images)
    centred = images - images.mean(dim=(-2, -1), keepdim=True)
    power = 0.0
    for pattern in (sign_x[None, :].expand(h, w), sign_y[:, None].expand(h, w), sign_y[:, None] * sign_x[None, :]):
        power = power + ((centred * pattern).sum(dim=(-2, -1)) ** 2).mean()
    return power / (h * w)


def prepare_for_pose(image: np.ndarray, pose_size: int, pad_fraction: float) -> tuple[np.ndarray, int]:
    """Upsample an (S, S, 3) crop to pose_size and pad it with repeated edges. Returns (image, pad)."""
    big = cv2.resize(image, (pose_size, pose_size), interpolation=cv2.INTER_CUBIC)
    pad = int(round(pad_fraction * pose_size))
    return cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE), pad


def detect_skeletons(images: np.ndarray, pose_size: int = 256, pad_fraction: float = 0.25) -> np.ndarray:
    """(N, S, S, 3) uint8 RGB crops -> (N, 13, 2) detected skeletons in crop coordinates (NaN: none found).

    Each image is judged on its own (static-image mode): a generated clip must not borrow a pose
    from the previous frame through MediaPipe's tracking.
    """
    from motion_transfer.pose.detector import PoseExtractor

    out = np.full((len(images), 13, 2), np.nan, dtype=np.float32)
    with PoseExtractor(static_image_mode=True, segmentation=False) as extract:
        for i, image in enumerate(images):
            padded, pad = prepare_for_pose(np.ascontiguousarray(image), pose_size, pad_fraction)
            landmarks = extract(padded)
            if landmarks is not None:
                out[i] = (reduce_landmarks(landmarks) - pad) / pose_size
    return out


#: Joints of the reduced skeleton above and below the waist (hips count as lower body).
UPPER_BODY = np.array([0, 1, 2, 3, 4, 5, 6])
LOWER_BODY = np.array([7, 8, 9, 10, 11, 12])


def pose_consistency(
    images: np.ndarray, skeletons: np.ndarray, pose_size: int = 256, pad_fraction: float = 0.25
) -> dict[str, float]:
    """Does MediaPipe see the intended pose in the images?

    images (N, S, S, 3) uint8; skeletons (N, 13, 2) the input poses in crop coordinates.
    Returns the share of frames where a person is found and, over those frames, the distance
    between detected and input joints as a fraction of the input body height: the mean over
    frames of each frame's mean joint distance, its median (a few wild detections move the
    mean), and the means over the upper-body and lower-body joints (where the pose is lost).
    """
    detected = detect_skeletons(images, pose_size, pad_fraction)
    found = np.isfinite(detected).all(axis=(1, 2))
    errors = ("pose_joint_error", "pose_joint_error_median", "pose_joint_error_upper", "pose_joint_error_lower")
    result = {"pose_detection_rate": float(found.mean()) if len(found) else 0.0, **dict.fromkeys(errors, float("nan"))}
    if found.any():
        heights = np.maximum(body_height(skeletons[found]), 1e-3)
        joint = np.linalg.norm(detected[found] - skeletons[found], axis=-1) / heights[:, None]  # (frames, 13)
        per_frame = joint.mean(axis=1)
        result.update(
            zip(
                errors,
                map(
                    float,
                    (per_frame.mean(), np.median(per_frame), joint[:, UPPER_BODY].mean(), joint[:, LOWER_BODY].mean()),
                ),
            )
        )
    return result
