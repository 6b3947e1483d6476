"""Network interpolation (ESRGAN): a generator between its reconstruction-trained start and its
adversarial fine-tuning, chosen after training by one number.

A GAN fine-tuned from the U-Net (train.py init_from=...) trades fidelity for detail as it trains.
Blending its weights with the U-Net's moves back along that trade smoothly, without retraining
(Wang et al., ESRGAN, 2018, section 3.4). The result is written as a new run beside the training
runs, so the demo, evaluation, export and report use it like any trained checkpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from omegaconf import DictConfig

from motion_transfer.models.checkpoints import interpolate_generator, load_generator
from motion_transfer.models.identity import IDENTITY_KEY
from motion_transfer.models.loading import checkpoint_path, model_class, prepare_datamodule
from motion_transfer.runtime.atomic import atomic_file
from motion_transfer.runtime.config import start_run
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)


def run_interpolation(cfg: DictConfig) -> Path:
    """Write `checkpoints/last.ckpt` of a new run: the model's generator blended with its start."""
    alpha = float(cfg.alpha)
    if not 0.0 <= alpha <= 1.0:
        raise UserError(
            f"alpha={cfg.alpha} must be between 0 (the start, e.g. the U-Net) and 1 (the fine-tuned generator "
            "as trained)."
        )
    name = cfg.model.name
    if not model_class(cfg.model).learns:
        raise UserError(f"model={name} has no weights to interpolate; use a learned model, e.g. model=gan.")
    datamodule = prepare_datamodule(cfg.data)
    end = checkpoint_path(cfg, datamodule)
    model, ckpt = load_generator(end, name, datamodule.image_size, datamodule.target_key)
    start = cfg.get("start_from") or model.started_from
    if not start:
        raise UserError(
            f"start_from is not set and '{end}' was not started from another run (train.py init_from=...); "
            "give start_from=<checkpoint of the generator it was fine-tuned from>."
        )
    interpolate_generator(model, start, alpha, datamodule.image_size, datamodule.target_key)

    out_dir = start_run(cfg)
    ckpt["state_dict"] = model.state_dict()
    ckpt[IDENTITY_KEY] = {
        **ckpt[IDENTITY_KEY],
        "interpolated": {"from": str(Path(end).resolve()), "start": str(Path(start).resolve()), "alpha": alpha},
    }
    path = out_dir / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        torch.save(ckpt, tmp)
    log.info("%s: %.2f x %s + %.2f x %s", path, alpha, end, 1.0 - alpha, start)
    return path
