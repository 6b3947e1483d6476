"""The Live tab: the visitor's webcam through live mode's pipeline (live/run.py: pose, mapping onto
the target, generator, pasting into the scene), the result shown as it comes with its frame rate
and latency.

Unlike the other tabs' jobs it runs in the server's own process: a frame cannot wait for a process
to start. One live session at a time per page (a second visitor is told the view is in use). The
browser's frames go into a CameraFeed, so the session ends as a stalled camera does: when no frame
has come for `live_stall_timeout_s` (the visitor stopped the webcam or left the page), or at once
when the page is closed. Its video is kept in a job folder of its own (`app/jobs/<job>/live/`).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from pathlib import Path

import numpy as np

from motion_transfer.app.commands import describe
from motion_transfer.app.jobs import new_job_folder, override
from motion_transfer.app.runs import EMBEDDED
from motion_transfer.app.settings import AppSettings
from motion_transfer.models.kinds import model_kinds
from motion_transfer.runtime.errors import UserError, user_message

log = logging.getLogger(__name__)

#: The rate and latency shown are over this many of the newest results.
SHOWN_OVER = 30
_compose_lock = threading.Lock()


def live_config(overrides: list[str]):
    """configs/live.yaml composed with `overrides` (Hydra's compose API: in the server, Hydra is
    already set up by src/app.py; in a test, it is set up here)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from motion_transfer.runtime.config import CONFIG_DIR

    with _compose_lock:
        if GlobalHydra.instance().is_initialized():
            return compose(config_name="live", overrides=overrides)
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name="live", overrides=overrides)


class LiveSession:
    """One visitor's live transfer: the pipeline on a thread of its own, fed by `offer`."""

    def __init__(self, settings: AppSettings, owner: str, overrides: list[str], name: str):
        from motion_transfer.live.source import CameraFeed, FrameSource

        self.owner, self.name = owner, name
        fps = settings.live_fps
        self.feed = CameraFeed(fps)
        self.source = FrameSource("the webcam", fps, camera=True, feed=self.feed, stall_timeout_s=settings.live_stall_s)
        self.folder = new_job_folder(settings.jobs_dir) / "live"
        self.folder.mkdir()
        self.overrides = overrides
        self.latest: np.ndarray | None = None
        self.results = 0  # results drawn so far
        self.times: collections.deque = collections.deque(maxlen=SHOWN_OVER)
        self.latency_ms: collections.deque = collections.deque(maxlen=SHOWN_OVER)
        self.message = f"Starting: loading {name}…"
        self.done = False
        self.failed = False
        self.thread = threading.Thread(target=self._run, name="live-session", daemon=True)
        self.thread.start()

    def _show(self, frame, result: np.ndarray) -> None:
        now = time.perf_counter()
        self.latest, self.results = result, self.results + 1
        self.times.append(now)
        self.latency_ms.append(1000.0 * (now - frame.arrived))

    def _run(self) -> None:
        from motion_transfer.live.run import build_pipeline

        try:
            cfg = live_config(self.overrides)
            pipeline = build_pipeline(cfg, self.source, self.folder, sink=self._show)
            self.message = "Live: waiting for the first frame…"
            result = pipeline.run()
            why = f" (the webcam {result.ended})" if result.ended and result.ended != "closed" else ""
            self.message = f"Ended{why}: {result.frames} frames at {result.fps:.1f} frames a second."
        except BaseException as error:  # noqa: BLE001 - a session's failure is its message, never the server's
            said = user_message(error) if isinstance(error, Exception) else None
            self.failed = True
            self.message = f"**Error:** {said}" if said else f"**The live view failed:** {error!r}"
            if said is None:
                log.exception("the live view failed")
        finally:
            self.source.close()
            self.done = True

    def rate(self) -> float:
        span = self.times[-1] - self.times[0] if len(self.times) > 1 else 0.0
        return (len(self.times) - 1) / span if span > 0 else 0.0

    def status(self) -> str:
        if self.done or not self.results:
            return self.message
        return (
            f"**Live**: {self.rate():.1f} frames a second, latency {np.median(self.latency_ms):.0f} ms "
            f"(median of the last {len(self.latency_ms)}), {self.source.dropped} frames dropped; "
            f"{self.name}."
        )

    def end(self) -> None:
        self.feed.end("closed")

    @property
    def restartable(self) -> bool:
        """Ended because its frames stopped (the webcam was stopped): a frame now is a new start."""
        return self.done and not self.failed and (self.feed.ended or "").startswith("sent no frame")


class LiveView:
    """The page's live sessions: at most one at a time; `frame` is the webcam stream's handler."""

    def __init__(self, settings: AppSettings):
        self.settings = settings
        self._lock = threading.Lock()
        self.session: LiveSession | None = None
        self._shown = 0  # the results handed to the page so far

    def overrides(self, target: str | None, model: str, checkpoint: str | None) -> list[str]:
        """live.yaml's overrides for the chosen target, model and run."""
        kind = model_kinds().get(model or "")
        if kind is None:
            raise UserError(f"'{model}' is not a model; pick one in the list.")
        overrides = [*self.settings.paths_overrides(), f"model={model}", "show=false", *self.settings.live_overrides]
        if target in (None, "", EMBEDDED):
            overrides.append("data=synthetic")
        elif Path(target).is_file():
            overrides += ["data=video", override("data.target_video", target)]
        else:
            raise UserError(f"The target clip '{target}' no longer exists; pick another one.")
        if kind.learns:
            if not checkpoint:
                raise UserError(f"{model} draws only from a trained run: pick one in the list, or pick nearest.")
            overrides.append(override("ckpt_path", checkpoint))
        return overrides

    def frame(self, rgb: np.ndarray | None, target, model, checkpoint, owner: str):
        """One webcam frame in; (the newest result, or None when there is none new yet; the status)."""
        if rgb is None:
            return None, ""
        with self._lock:
            session = self.session
            if session is not None and not session.done:
                if session.owner != owner:
                    return None, "The live view is in use by another visitor; try again when it ends."
            else:
                try:
                    overrides = self.overrides(target, model, checkpoint)
                except UserError as error:
                    return None, f"**Error:** {error}"
                again = session is not None and session.owner == owner and session.overrides == overrides
                if again and not session.restartable:
                    return None, session.status()  # it failed or was stopped: said, not started again as it was
                session = self.session = LiveSession(self.settings, owner, overrides, f"{model} on {describe(target)}")
                self._shown = 0
        session.feed.offer(np.asarray(rgb))
        if session.results > self._shown and session.latest is not None:
            self._shown = session.results
            return session.latest, session.status()
        return None, session.status()

    def stop(self, owner: str | None = None) -> None:
        """End the session (only `owner`'s, when given): its frames so far are kept in its video."""
        with self._lock:
            session = self.session
        if session is not None and (owner is None or session.owner == owner):
            session.end()
            if owner is None:
                session.thread.join(timeout=15)
