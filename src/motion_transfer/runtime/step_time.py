"""Where a training run's wall time goes: its steps (forward, backward, optimizer step) against the rest."""

from __future__ import annotations

import logging
import time

import lightning as L

log = logging.getLogger(__name__)


class StepTimeShare(L.Callback):
    """Times each training step, from a batch's first hook to its last (the forward and backward
    passes and the optimizer steps; the model's weight averaging runs after it), and the validation
    loops, within the fit; logs at its end the share of the wall time spent outside the steps (batch
    assembly and augmentation, weight averaging, validation, logging, checkpoints). `summary()` gives
    the figures."""

    def __init__(self):
        self.fit_s = self.step_s = self.validation_s = 0.0
        self.steps = 0
        self._start = self._step_start = self._validation_start = None

    @staticmethod
    def _now(pl_module) -> float:
        if pl_module.device.type == "cuda":  # kernels run asynchronously: wait for them
            import torch

            torch.cuda.synchronize(pl_module.device)
        return time.perf_counter()

    def on_train_start(self, trainer, pl_module) -> None:
        self._start = self._now(pl_module)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._step_start = self._now(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._step_start is not None:
            self.step_s += self._now(pl_module) - self._step_start
            self.steps += 1
            self._step_start = None

    def on_validation_start(self, trainer, pl_module) -> None:
        self._validation_start = self._now(pl_module)

    def on_validation_end(self, trainer, pl_module) -> None:
        if self._validation_start is not None and self._start is not None:  # not the sanity check
            self.validation_s += self._now(pl_module) - self._validation_start
        self._validation_start = None

    def on_train_end(self, trainer, pl_module) -> None:
        if self._start is None:
            return
        self.fit_s = self._now(pl_module) - self._start
        s = self.summary()
        log.info(
            "wall time %.1f s over %d steps (%.0f ms a step): %.1f%% outside the training steps "
            "(validation %.1f%%, batch assembly, weight averaging, logging and checkpoints %.1f%%)",
            s["fit_s"],
            s["steps"],
            1e3 * s["step_ms"],
            100 * s["outside_share"],
            100 * s["validation_share"],
            100 * (s["outside_share"] - s["validation_share"]),
        )

    def summary(self) -> dict:
        """Seconds of the fit and of its steps, the mean step, and the shares of the fit outside the
        steps and in validation."""
        fit = max(self.fit_s, 1e-9)
        return {
            "fit_s": self.fit_s,
            "step_s": self.step_s,
            "steps": self.steps,
            "step_ms": self.step_s / max(self.steps, 1),
            "outside_share": max(0.0, 1.0 - self.step_s / fit),
            "validation_share": self.validation_s / fit,
        }
