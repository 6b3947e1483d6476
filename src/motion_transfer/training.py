"""Training a generator: compose data, model, trainer, callbacks and logger from the config."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import lightning as L
from omegaconf import DictConfig

from motion_transfer.models.checkpoints import (
    BackgroundCheckpointIO,
    finish_checkpoint_writes,
    load_generator,
    start_from_generator,
)
from motion_transfer.models.loading import prepare_datamodule
from motion_transfer.runtime.atomic import atomic_file, write_json_atomically
from motion_transfer.runtime.config import start_run
from motion_transfer.runtime.errors import Terminated, UserError
from motion_transfer.runtime.precision import resolve_precision
from motion_transfer.runtime.progress import on_terminal
from motion_transfer.runtime.signals import StopOnTerminate
from motion_transfer.runtime.step_time import StepTimeShare

log = logging.getLogger(__name__)


def completed_epochs(checkpoint: dict) -> int:
    """Epochs a Lightning checkpoint had trained through: its fit loop's `processed` count (an
    epoch-end checkpoint is written before the epoch counts as `completed`, and a resume goes on
    with the next epoch); else its epoch field plus one."""
    try:
        return int(checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])
    except (KeyError, TypeError, ValueError):
        return int(checkpoint.get("epoch", -1)) + 1


def check_epochs_left(checkpoint: dict, max_epochs: int | None, ckpt_path) -> None:
    """A resume with nothing left to train, or from weights alone, says so, instead of Lightning's
    traceback (or a silent no-op)."""
    if "optimizer_states" not in checkpoint:
        raise UserError(
            f"ckpt_path: '{ckpt_path}' holds the weights alone (a best-epoch checkpoint), not the optimizer's "
            "state; resume from the run's last.ckpt, or start a new run from these weights with init_from=."
        )
    done = completed_epochs(checkpoint)
    if max_epochs is not None and max_epochs >= 0 and done >= max_epochs:
        raise UserError(
            f"ckpt_path: '{ckpt_path}' has already trained {done} epochs, so trainer.max_epochs={max_epochs} is "
            f"reached; pass trainer.max_epochs above {done} to train on."
        )


def run_training(cfg: DictConfig) -> Path:
    """Fit the configured model; return the best checkpoint (else the last one)."""
    out_dir = start_run(cfg)
    datamodule = prepare_datamodule(cfg.data)
    model = hydra.utils.instantiate(cfg.model, target_key=datamodule.target_key, target_name=datamodule.target_name)

    callbacks = [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c and "_target_" in c]
    stop_on_terminate = StopOnTerminate()
    step_time = StepTimeShare()
    callbacks += [stop_on_terminate, step_time]
    logger = hydra.utils.instantiate(cfg.logger) if cfg.get("logger") and "_target_" in cfg.logger else False
    # Lightning's bar redraws with carriage returns: only on a terminal, not into a log file.
    trainer_overrides = {"enable_progress_bar": bool(cfg.trainer.get("enable_progress_bar", True)) and on_terminal()}
    if model.indexed_in_one_epoch:
        trainer_overrides.update(max_epochs=1, min_epochs=1)
    requested = cfg.trainer.get("precision", "auto")
    if model.learns or str(requested) != "auto":
        precision, why = resolve_precision(requested, cfg.trainer.accelerator, cache_dir=cfg.paths.cache_dir)
    else:  # an index of real frames: built exactly, nothing learns by gradient
        precision, why = "32", "nothing learns by gradient"
    log.info("precision: %s (%s)", precision, why)
    trainer_overrides.update(precision=precision, plugins=[BackgroundCheckpointIO()])
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=logger, **trainer_overrides)

    ckpt_path, init_from = cfg.get("ckpt_path"), cfg.get("init_from")
    if ckpt_path and init_from:
        raise UserError("give ckpt_path (resume this run) or init_from (start from another run's generator), not both.")
    if ckpt_path:
        # A clear message for a missing, damaged or foreign file before Lightning opens it.
        checkpoint = load_generator(ckpt_path, model.model_name, datamodule.image_size, datamodule.target_key)[1]
        check_epochs_left(checkpoint, trainer.max_epochs, ckpt_path)
    if init_from:
        start_from_generator(model, init_from, datamodule.image_size, datamodule.target_key)
        log.info("generator weights from %s", init_from)
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path or None)
    if trainer.is_global_zero and step_time.steps:
        write_json_atomically(out_dir / "step_time.json", {"precision": precision, **step_time.summary()})
    if stop_on_terminate.received:
        last = out_dir / "checkpoints" / "last.ckpt"
        log.warning("stopped by SIGTERM; resume with ckpt_path=%s", last)
        raise Terminated()

    # The monitored checkpoint's best file, else the newest one any checkpoint callback wrote.
    callbacks = sorted(trainer.checkpoint_callbacks, key=lambda cb: cb.monitor is not None)
    best = ""
    for cb in callbacks:
        best = cb.best_model_path or cb.last_model_path or best
    if not best:
        # ModelCheckpoint saves only after optimizer steps; nearest neighbour takes none.
        best = out_dir / "checkpoints" / "last.ckpt"
        best.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(best) as tmp:
            trainer.save_checkpoint(tmp)
            finish_checkpoint_writes(trainer)
    return Path(best).resolve()
