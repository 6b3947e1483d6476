"""The record a checkpoint carries of what it is: model, size, target and where it started.

Written by the models when they save and read by the loaders, which import this module from
both sides without importing each other.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from motion_transfer.runtime.errors import UserError

#: Key under which a checkpoint records what it is, for the demo's and evaluation's checks.
IDENTITY_KEY = "motion_transfer"


def make_identity(
    model_name: str, class_name: str, image_size: int, target_key: str, target_name: str, init_from: str | None = None
) -> dict:
    """model: the config name (vanilla_image); class: the LightningModule that rebuilds it."""
    record = {
        "model": model_name,
        "class": class_name,
        "image_size": int(image_size),
        "target_key": target_key,
        "target_name": target_name,
    }
    if init_from:
        record["init_from"] = init_from
    return record


def checkpoint_identity(ckpt: dict) -> dict:
    """The identity record of a loaded checkpoint dict ({} when it has none)."""
    return ckpt.get(IDENTITY_KEY) or {}


def read_checkpoint_file(path: str | os.PathLike, option: str, known_classes=None) -> dict:
    """Load a checkpoint file safely (weights_only=True), or raise a UserError naming it; refused
    unless it records its maker, one of `known_classes` (class names) when given."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"{option}: '{path}' does not exist; give the path of a .ckpt file written by src/train.py.")
    if p.is_dir():
        raise UserError(f"{option}: '{path}' is a folder; give a .ckpt file inside it (e.g. checkpoints/last.ckpt).")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to unpickle means the same thing to the user
        raise UserError(
            f"{option}: '{path}' is not a readable checkpoint (truncated or not written by this toolkit); "
            "train again or pick another file."
        ) from err
    maker = checkpoint_identity(ckpt).get("class") if isinstance(ckpt, dict) else None
    if maker is None or "state_dict" not in ckpt or (known_classes is not None and maker not in known_classes):
        raise UserError(f"{option}: '{path}' is not a checkpoint of this toolkit; use one written by src/train.py.")
    return ckpt


def check_identity(
    ckpt: dict, path, model_name: str | None, image_size: int, target_key: str | None, option: str
) -> dict:
    """The checkpoint's identity, refused (a UserError naming `option`) when made by another model
    (None: any), at another size or on another target (None: any)."""
    identity = checkpoint_identity(ckpt)
    if model_name is not None and identity.get("model") != model_name:
        raise UserError(
            f"{option}: '{path}' holds a '{identity.get('model')}' model, not '{model_name}'; "
            f"pass model={identity.get('model')} or another checkpoint."
        )
    if identity.get("image_size") != image_size:
        raise UserError(
            f"{option}: '{path}' was trained at {identity.get('image_size')} px, not data.image_size={image_size}; "
            f"pass data.image_size={identity.get('image_size')}."
        )
    if target_key is not None and identity.get("target_key") != target_key:
        raise UserError(
            f"{option}: '{path}' was trained on another target ('{identity.get('target_name')}'); "
            "pass that target or train on this one."
        )
    return identity
