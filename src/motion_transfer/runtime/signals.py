"""SIGTERM, what schedulers and container stops send, ends a run as cleanly as Ctrl-C does.

Outside training, SIGTERM raises `errors.Terminated` (a KeyboardInterrupt; set up by
`errors.terminate_like_interrupt` for every entry point), so every path that keeps
finished work on Ctrl-C keeps it here too: the demo closes a playable video of the frames done,
writers remove their temporary files. During training, `StopOnTerminate` asks Lightning to stop
after the batch in progress, so the epoch ends as a time budget ends it: `last.ckpt` is written
and a resume (`ckpt_path=.../last.ckpt`) goes on from there; the run then exits with status 143.
"""

from __future__ import annotations

import logging
import signal

import lightning as L

log = logging.getLogger(__name__)


class StopOnTerminate(L.Callback):
    """While training, SIGTERM stops the run after the current batch instead of raising mid-step;
    `received` says whether it came."""

    def __init__(self):
        self.received = False
        self._previous = None

    def _note(self, signum, frame) -> None:
        if not self.received:
            log.warning("SIGTERM: stopping after this batch and writing last.ckpt")
        self.received = True

    def on_train_start(self, trainer, pl_module) -> None:
        # After Lightning installed its own handler, which would only stop at the epoch's end.
        self._previous = signal.signal(signal.SIGTERM, self._note)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.received:
            trainer.should_stop = True

    def on_train_end(self, trainer, pl_module) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None
