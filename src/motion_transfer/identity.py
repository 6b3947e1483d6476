"""The record a checkpoint carries of what it is: model, size, target and where it started.

Written by the models when they save and read by the loaders, which import this module from
both sides without importing each other.
"""

from __future__ import annotations

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
