"""Figures for full-frame output on the target's held-out frames (self-reconstruction).

Each held-out frame is redrawn from its own skeleton and pasted into the background plate at its
own (real) crop box, then compared with the real frame: over the whole frame (mostly background,
so high), inside the person's box (the honest comparison with crop output: the same box region
filled with the model's crop image, upscaled, as crop output shows it), over MediaPipe's person
mask only, and as mask IoU of the generator's alpha against MediaPipe's mask. Real frames are
decoded one at a time: memory does not grow with the clip.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from motion_transfer.evaluation.metrics import image_metrics
from motion_transfer.evaluation.steadiness import TemporalFigures
from motion_transfer.models.base import mask_iou
from motion_transfer.pose.crop import crop_frame
from motion_transfer.pose.drawing import tensor_to_images
from motion_transfer.render.paste import composite_frames

#: Side the box regions are compared at: near the person's size in a 720p frame, above 128 px.
BOX_SIZE = 256


def target_frames(datamodule) -> Iterator[np.ndarray]:
    """The target clip's full RGB frames in order, one at a time."""
    if datamodule.kind == "synthetic":
        from motion_transfer.data.synthetic import render_clip

        return iter(render_clip("target", datamodule.synthetic_frames, datamodule.synthetic_seed)[0])
    from pathlib import Path

    from motion_transfer.data.video import iter_frames

    return iter_frames(Path(datamodule.target_video))


def selected_frames(frames: Iterator[np.ndarray], wanted: np.ndarray) -> Iterator[np.ndarray]:
    """The frames whose numbers are in `wanted` (sorted), in order."""
    wanted_set, last = set(int(i) for i in wanted), int(wanted.max())
    for number, frame in enumerate(frames):
        if number in wanted_set:
            yield frame
        if number >= last:
            return


def _to_tensor(images: list[np.ndarray] | np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.stack(images))).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _masked(fake: torch.Tensor, real: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """L1 and PSNR over the pixels where mask > 0.5, on the [0, 1] scale. (N, 3, S, S), (N, 1, S, S)."""
    inside = (mask > 0.5).expand_as(fake)
    diff = ((fake - real) / 2)[inside]
    if diff.numel() == 0:
        return {"l1": float("nan"), "psnr": float("nan")}
    mse = float(diff.square().mean())
    return {"l1": float(diff.abs().mean()), "psnr": float(10 * np.log10(1.0 / max(mse, 1e-10)))}


def _in_own_frames(
    scene, numbers: np.ndarray, persons: np.ndarray, alphas: np.ndarray, boxes: np.ndarray, feather_width=None
) -> np.ndarray:
    """Frames `numbers` of the clip redrawn: each crop pasted at its box into that frame's own
    plate (a moving camera's frames each see the scene from their own viewpoint)."""
    feather = {} if feather_width is None else {"feather_width": feather_width}
    if not scene.moves:
        return composite_frames(scene.image, persons, alphas, boxes, **feather)
    return np.stack(
        [
            composite_frames(
                scene.plate_for(int(t)), persons[i : i + 1], alphas[i : i + 1], boxes[i : i + 1], **feather
            )[0]
            for i, t in enumerate(numbers)
        ]
    )


def full_frame_figures(
    rgb: torch.Tensor, alpha: torch.Tensor, crop_output: torch.Tensor, datamodule, batch_size: int = 16
) -> dict[str, dict[str, float]]:
    """rgb (N, 3, S, S) and alpha (N, 1, S, S) drawn for the held-out frames (in the order of
    datamodule.val_set), crop_output (N, 3, S, S) the model's crop images; -> figures by region,
    and under "temporal" the full frames' temporal figures (evaluation/steadiness.py)."""
    val = datamodule.val_set
    numbers = val.indices.numpy()
    boxes = np.asarray(datamodule.cache.boxes)[numbers]
    persons, alphas, crops = tensor_to_images(rgb), alpha[:, 0].numpy(), tensor_to_images(crop_output)
    ones = np.ones_like(alphas)
    order = np.argsort(numbers)  # frames are decoded in clip order
    frames = selected_frames(target_frames(datamodule), numbers[order])
    sums: dict[str, dict[str, float]] = {"full_frame": {}, "box": {}, "box_crop_output": {}}
    count = 0
    steadiness = TemporalFigures(["full_frame"])
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        real = [next(frames) for _ in rows]
        full = _in_own_frames(datamodule.scene, numbers[rows], persons[rows], alphas[rows], boxes[rows])
        as_crop = _in_own_frames(datamodule.scene, numbers[rows], crops[rows], ones[rows], boxes[rows], 0.0)

        def in_boxes(images, rows=rows) -> torch.Tensor:
            return _to_tensor([crop_frame(image, box, BOX_SIZE) for image, box in zip(images, boxes[rows])])

        real_boxes = in_boxes(real)
        for number, real_frame, full_frame in zip(numbers[rows], real, full):
            steadiness.add(int(number), real_frame, {"full_frame": full_frame})
        regions = {
            "full_frame": (_to_tensor(full), _to_tensor(real)),
            "box": (in_boxes(full), real_boxes),
            "box_crop_output": (in_boxes(as_crop), real_boxes),
        }
        for region, (fake, reference) in regions.items():
            figures = image_metrics(fake, reference)
            for name in ("ssim", "psnr", "l1"):
                sums[region][name] = sums[region].get(name, 0.0) + figures[name] * len(rows)
        count += len(rows)
    result = {region: {k: v / max(count, 1) for k, v in figures.items()} for region, figures in sums.items()}
    real_crops = val.images.float() / 127.5 - 1.0
    masks = val.masks.float() / 255.0
    result["person_mask"] = _masked(val_composites(rgb, alpha, datamodule), real_crops, masks)
    result["person_mask"]["mask_iou"] = float(mask_iou(alpha, masks))
    result["temporal"] = steadiness.result()["full_frame"]
    return result


def real_box_views(datamodule, positions: np.ndarray) -> torch.Tensor:
    """The real frames' person boxes at BOX_SIZE px for some held-out frames (`positions`: rows of
    datamodule.val_set), (K, 3, BOX_SIZE, BOX_SIZE) in [-1, 1]. Decodes the clip once."""
    numbers = datamodule.val_set.indices.numpy()[positions]
    boxes = np.asarray(datamodule.cache.boxes)[numbers]
    order = np.argsort(numbers)
    real = [None] * len(numbers)
    for row, frame in zip(order, selected_frames(target_frames(datamodule), numbers[order])):
        real[row] = crop_frame(frame, boxes[row], BOX_SIZE)
    return _to_tensor(real)


def box_views(model, datamodule, positions: np.ndarray) -> torch.Tensor:
    """The full-frame output's person boxes for the same frames as `real_box_views`, (K, 3,
    BOX_SIZE, BOX_SIZE) in [-1, 1]: for a report grid at a size where seams and halos show."""
    val = datamodule.val_set
    numbers = val.indices.numpy()[positions]
    boxes = np.asarray(datamodule.cache.boxes)[numbers]
    skeletons = np.asarray(datamodule.cache.skeletons)[numbers]
    rgb, alpha = model.layers_from_skeletons(skeletons, len(numbers), val.placements.numpy()[positions])
    full = _in_own_frames(datamodule.scene, numbers, tensor_to_images(rgb), alpha[:, 0].numpy(), boxes)
    return _to_tensor([crop_frame(f, b, BOX_SIZE) for f, b in zip(full, boxes)])


def val_composites(rgb: torch.Tensor, alpha: torch.Tensor, datamodule) -> torch.Tensor:
    """The crops as full-frame output shows them: the person over the plate's crop, (N, 3, S, S)."""
    plates = datamodule.val_set.plates.float() / 127.5 - 1.0
    return plates + alpha * (rgb - plates)
