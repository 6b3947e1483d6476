"""Checkpoints: written atomically, found by model and target, loaded with weights_only=True."""

from __future__ import annotations

import os
from pathlib import Path
from weakref import proxy

import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from .errors import UserError

#: Key under which a checkpoint records what it is, for the demo's and evaluation's checks.
IDENTITY_KEY = "motion_transfer"


class AtomicModelCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose files appear only complete: written under a temporary name, then
    renamed. A kill during the write leaves the previous `last.ckpt` intact."""

    def _save_checkpoint(self, trainer, filepath: str) -> None:
        tmp = f"{filepath}.partial"
        trainer.save_checkpoint(tmp, self.save_weights_only)
        if trainer.is_global_zero:
            os.replace(tmp, filepath)
        trainer.strategy.barrier("atomic_checkpoint")
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.after_save_checkpoint(proxy(self))


def checkpoint_identity(ckpt: dict) -> dict:
    return ckpt.get(IDENTITY_KEY) or {}


def read_checkpoint(path: str | os.PathLike, option: str = "ckpt_path") -> dict:
    """Load a checkpoint file safely (weights_only=True), or raise a UserError naming it."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"{option}: '{path}' does not exist; give the path of a .ckpt file written by src/train.py.")
    if p.is_dir():
        raise UserError(f"{option}: '{path}' is a folder; give a .ckpt file inside it (e.g. checkpoints/last.ckpt).")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to unpickle means the same thing to the user
        raise UserError(f"{option}: '{path}' is not a readable checkpoint (truncated or not written by this toolkit); train again or pick another file.") from err
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or not checkpoint_identity(ckpt):
        raise UserError(f"{option}: '{path}' is not a checkpoint of this toolkit; use one written by src/train.py.")
    return ckpt


def find_latest_checkpoint(train_dir: Path, model_name: str, target_key: str, image_size: int, prefer: str = "best") -> Path | None:
    """The newest run's checkpoint under train_dir made by `model_name` on this target and size:
    its `best*.ckpt` (prefer="best") or its `last.ckpt` (prefer="last"), else whichever exists."""
    candidates = []
    for path in Path(train_dir).glob("*/checkpoints/*.ckpt"):
        try:
            identity = checkpoint_identity(torch.load(path, map_location="cpu", weights_only=True))
        except Exception:  # noqa: BLE001 - unreadable files are simply not candidates
            continue
        if (identity.get("model"), identity.get("target_key"), identity.get("image_size")) == (model_name, target_key, image_size):
            # Prefer the best checkpoint of the newest run.
            candidates.append((path.parent.parent.stat().st_mtime, path.name.startswith(prefer), path))
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[0], c[1]))[2]


def load_generator(path: str | os.PathLike, model_name: str, image_size: int, target_key: str | None = None, option: str = "ckpt_path"):
    """Build the generator stored in a checkpoint, refusing one of another model, size or target."""
    return load_generator_and_checkpoint(path, model_name, image_size, target_key, option)[0]


def load_generator_and_checkpoint(path: str | os.PathLike, model_name: str, image_size: int, target_key: str | None = None, option: str = "ckpt_path"):
    """`load_generator`, also returning the checkpoint dict it was built from (read once)."""
    from .models import MODEL_CLASSES

    ckpt = read_checkpoint(path, option)
    identity = checkpoint_identity(ckpt)
    if identity.get("model") != model_name:
        raise UserError(f"{option}: '{path}' holds a '{identity.get('model')}' model, not '{model_name}'; pass model={identity.get('model')} or another checkpoint.")
    if identity.get("image_size") != image_size:
        raise UserError(f"{option}: '{path}' was trained at {identity.get('image_size')} px, not data.image_size={image_size}; pass data.image_size={identity.get('image_size')}.")
    if target_key is not None and identity.get("target_key") != target_key:
        raise UserError(f"{option}: '{path}' was trained on another target ('{identity.get('target_name')}'); pass that target or train on this one.")
    cls = MODEL_CLASSES[model_name]
    model = cls(**ckpt.get("hyper_parameters", {}))
    model.on_load_checkpoint(ckpt)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt


def generator_weights(path: str | os.PathLike, image_size: int, target_key: str, option: str) -> tuple[dict[str, torch.Tensor], dict]:
    """The generator network a checkpoint draws with (its weight average when it has one), as a
    state dict, and the checkpoint's whole state dict; refused unless it was trained on this
    target at this size."""
    ckpt = read_checkpoint(path, option)
    identity = checkpoint_identity(ckpt)
    if identity.get("image_size") != image_size or identity.get("target_key") != target_key:
        raise UserError(f"{option}: '{path}' was trained on '{identity.get('target_name')}' at {identity.get('image_size')} px; "
                        f"use a run on this target at data.image_size={image_size}.")
    state = ckpt["state_dict"]
    prefix = next((p for p in ("ema_network.", "net.", "generator.") if any(k.startswith(p) for k in state)), None)
    return ({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)} if prefix else {}), state


def _trained_network(model, option: str):
    if model._trained_attr is None:
        raise UserError(f"{option} is for learned generators; model={model.model_name} looks frames up.")
    return getattr(model, model._trained_attr)


def _check_same_shape(network, weights: dict, path, option: str) -> None:
    expected = network.state_dict()
    if not weights or weights.keys() != expected.keys() or any(weights[k].shape != expected[k].shape for k in expected):
        raise UserError(f"{option}: '{path}' holds a generator of another shape; train it with the same model.generator, "
                        "model.base_filters, model.upsample and model.placement as this run.")


def start_from_generator(model, path: str | os.PathLike, image_size: int, target_key: str, option: str = "init_from") -> None:
    """Copy the generator network of another run's checkpoint into `model` before training (a
    U-Net trained on L1 as the start of an adversarial run): the network that checkpoint draws
    with (its weight average when it has one) becomes both the live and the averaged weights.
    The model remembers where it started (`started_from`, saved in its checkpoints)."""
    network = _trained_network(model, option)
    weights, state = generator_weights(path, image_size, target_key, option)
    _check_same_shape(network, weights, path, option)
    network.load_state_dict(weights)
    if model.ema_decay > 0:
        model.ema_network.load_state_dict(weights)
    if model.uses_placement and "default_placement" in state:
        model.default_placement = state["default_placement"].clone()
    model.started_from = str(Path(path).expanduser().resolve())


def interpolate_generator(model, path: str | os.PathLike, alpha: float, image_size: int, target_key: str, option: str = "start_from") -> None:
    """ESRGAN's network interpolation, in place: every floating-point weight and statistic of the
    model's generator (live and averaged) becomes (1 - alpha) * start + alpha * its own, `start`
    being the generator of the checkpoint at `path` (the run it was fine-tuned from)."""
    network = _trained_network(model, option)
    start, _ = generator_weights(path, image_size, target_key, option)
    _check_same_shape(network, start, path, option)
    networks = [network] + ([model.ema_network] if model.ema_decay > 0 else [])
    with torch.no_grad():
        for net in networks:
            for name, tensor in net.state_dict().items():
                if tensor.is_floating_point():
                    # own + (1 - alpha) (start - own); state_dict tensors share the module's storage
                    tensor.lerp_(start[name].to(tensor), 1.0 - alpha)
