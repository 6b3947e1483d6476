"""What the page's lists and buttons do: the runs and notes a choice shows, and the jobs of the
Transfer, Train and Report tabs, each an entry point followed until it ends (`PageActions`)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from motion_transfer.app.commands import (
    IMAGE_SIZES,
    check_trains,
    clip_path,
    demo_overrides,
    describe,
    evaluation_overrides,
    no_run_message,
    outcome_message,
    time_budget,
    training_overrides,
)
from motion_transfer.app.jobs import EntryPointJob, RunningJobs, new_job_folder, override
from motion_transfer.app.live_view import LiveView
from motion_transfer.app.runs import (
    clip_choices,
    newest_report,
    read_report,
    refinable_model_names,
    target_key,
    trained_runs,
)
from motion_transfer.app.settings import AppSettings
from motion_transfer.models.kinds import model_kinds, model_names
from motion_transfer.runtime.errors import UserError


def model_summary(model: str | None) -> str:
    """The line under a model list: what the chosen model is, in words (its config's first line),
    and, for one that trains from another run, which run it refines."""
    kind = model_kinds().get(model or "")
    if kind is None:
        return ""
    line = f"**{kind.name}**: {kind.summary}."
    if kind.trains_from:
        line += (
            f" It trains from the newest {' or '.join(refinable_model_names())} run on the same target at half "
            "its size: train one of those first."
        )
    return line


def picture(path: Path | None):
    """A report's picture as pixels (RGB), not a path: the page serves no file of the report folders."""
    if path is None:
        return None
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class PageActions:
    """The page's handlers, for the settings of one server; `layout.build_page` wires them to the page."""

    def __init__(self, settings: AppSettings):
        self.settings = settings
        self.jobs = RunningJobs()
        self.live = LiveView(settings)

    def shown_path(self, path: Path) -> str:
        """A result's folder as the page shows it: inside outputs/ (paths.output_dir) when it is."""
        path = Path(path).resolve()
        if path.is_relative_to(self.settings.output_dir):
            return f"{self.settings.output_dir.name}/{path.relative_to(self.settings.output_dir)}"
        return str(path)

    # lists ------------------------------------------------------------------------------------------------
    def clip_choices(self) -> list[tuple[str, str]]:
        return clip_choices(list(self.settings.clip_folders), self.settings.train_dir)

    def runs_for(self, target: str | None, model: str) -> list:
        key = target_key(target, self.settings.cache_dir)
        return trained_runs(self.settings.train_dir, model, key, self.settings.evaluate_dir)

    def run_choices(self, target_choice: str | None, target_upload: str | None, model: str):
        """The run list's update and a note for the chosen target and model."""
        import gradio as gr

        kind = model_kinds().get(model)
        if kind is None or not kind.learns:
            label = "no training needed: built from the target's frames for the job"
            return gr.update(choices=[(label, "")], value="", interactive=False), ""
        target = target_upload or target_choice
        runs = self.runs_for(target, model)
        if not runs:
            note = no_run_message(model, target_choice)
            if target_upload:  # its copy for a run exists only once a job has stored it
                note = (
                    f"No {model} run is trained on '{Path(target_upload).name}' yet; train one in the Train tab "
                    f"(upload it there), or pick {', '.join(model_names(learns=False))}, which needs none."
                )
            return gr.update(choices=[], value=None, interactive=False), f"**{note}**"
        choices = [(run.label, str(run.checkpoint)) for run in runs]
        return gr.update(choices=choices, value=choices[0][1], interactive=True), ""

    def check_uploaded(self, upload: str | None, role: str) -> str:
        """The note under an upload box: the reason a clip would be refused, else its name."""
        if not upload:
            return ""
        from motion_transfer.app.jobs import check_upload

        try:
            check_upload(upload, role, self.settings.max_upload_mb)
        except UserError as err:
            return f"**Error:** {err}"
        return f"{Path(upload).name}: ready."

    # the transfer -----------------------------------------------------------------------------------------
    def transfer(self, target_choice, target_upload, source_choice, source_upload, model, checkpoint, progress=None):
        """Run the demo; yields (message, generated video, side by side, downloads)."""
        nothing = (None, None, None)
        job_folder = new_job_folder(self.settings.jobs_dir)
        try:
            target = clip_path(target_choice, target_upload, "target", job_folder, self.settings.max_upload_mb)
            source = clip_path(source_choice, source_upload, "source", job_folder, self.settings.max_upload_mb)
            overrides = demo_overrides(self.settings, target, source, model, checkpoint, job_folder / "demo")
        except UserError as err:
            shutil.rmtree(job_folder, ignore_errors=True)  # refused before it ran: nothing to keep
            yield (f"**Error:** {err}", *nothing)
            return
        log_path = job_folder / "demo.log"
        yield (f"Running {model} on {describe(target and str(target))}…", *nothing)
        outcome = yield from self._follow(EntryPointJob("demo", overrides, log_path), progress, 4)
        generated, side_by_side = outcome.printed.get("generated"), outcome.printed.get("video")
        if not outcome.ok or not generated or not side_by_side:
            yield (outcome_message(outcome, "demo", log_path), *nothing)
            return
        yield (
            f"Done: `{self.shown_path(Path(side_by_side).parent)}` "
            f"({outcome.printed.get('frames', '').split(',')[0]} frames).",
            generated,
            side_by_side,
            [generated, side_by_side],
        )

    def _follow(self, job: EntryPointJob, progress, n_outputs: int, with_log: bool = False, budget_s: float = 0):
        """Yield the job's progress as page updates (a message, then the outputs untouched, or the
        log's last lines in the second when `with_log`) until it ends; return its Outcome. A job
        with a time budget (`budget_s`) shows the share of it spent. A page closed or a Stop
        pressed stops the job (SIGTERM: it keeps what it finished)."""
        import gradio as gr

        self.jobs.add(job)
        shown, started = None, time.monotonic()
        try:
            for state in job.follow(0.5):
                message, fraction = state.message, state.fraction
                if budget_s:
                    spent = time.monotonic() - started
                    fraction = min(1.0, spent / budget_s)
                    message = f"{spent / 60:.1f} of {budget_s / 60:g} minutes: {message}"
                if progress is not None:
                    progress(fraction, desc=message)
                log_text = "\n".join(job.tail) if with_log else None
                if (message, log_text) != shown:
                    shown = (message, log_text)
                    rest = [gr.skip()] * (n_outputs - 1)
                    if with_log:
                        rest[0] = log_text
                    yield (f"{message}…", *rest)
            return job.wait()
        finally:
            job.stop()
            self.jobs.remove(job)

    # training ---------------------------------------------------------------------------------------------
    def train(self, target_choice, target_upload, model, minutes, size, evaluate_after, progress=None):
        """Train `model` on the target for `minutes` of wall-clock time, then (when asked) score it on
        the held-out frames so that the run lists show its figures; yields (message, log). A model
        that trains from another run refines the newest one it can at half its size (or is refused
        with what to train first)."""
        job_folder = new_job_folder(self.settings.jobs_dir)
        try:
            check_trains(model)
            target = clip_path(target_choice, target_upload, "target", job_folder, self.settings.max_upload_mb)
            budget = time_budget(minutes)
            overrides = training_overrides(self.settings, model, target, int(size), budget)
        except UserError as err:
            shutil.rmtree(job_folder, ignore_errors=True)  # refused before it ran: nothing to keep
            yield (f"**Error:** {err}", "")
            return
        log_path = job_folder / "train.log"
        yield (f"Training {model} on {describe(target and str(target))} for {budget}…", "")
        job = EntryPointJob("train", overrides, log_path)
        outcome = yield from self._follow(job, progress, 2, with_log=True, budget_s=float(minutes) * 60)
        checkpoint = outcome.printed.get("checkpoint")
        if not outcome.ok or not checkpoint:
            yield (outcome_message(outcome, "training", log_path), "\n".join(outcome.tail))
            return
        done = f"Trained: `{self.shown_path(Path(checkpoint))}`; the Transfer tab lists the run under {model}."
        if not evaluate_after:
            yield (done, "\n".join(outcome.tail))
            return
        yield (f"{done} Scoring it on the held-out frames…", "\n".join(outcome.tail))
        evaluation = evaluation_overrides(self.settings, model, target, int(size), checkpoint)
        log_path = job_folder / "evaluate.log"
        outcome = yield from self._follow(EntryPointJob("evaluate", evaluation, log_path), progress, 2, with_log=True)
        if not outcome.ok:
            yield (f"{done} {outcome_message(outcome, 'evaluation', log_path)}", "\n".join(outcome.tail))
            return
        yield (f"{done} Its held-out figures are beside it in the list.", "\n".join(outcome.tail))

    # the report -------------------------------------------------------------------------------------------
    def report_sizes(self, target: str | None):
        """The image sizes with runs trained on the target (its newest run's first), and its newest report."""
        import gradio as gr

        key = target_key(target, self.settings.cache_dir)
        runs = sorted(
            (run for model in model_names(learns=True) for run in trained_runs(self.settings.train_dir, model, key)),
            key=lambda run: run.run_dir.stat().st_mtime,
            reverse=True,
        )
        sizes = list(dict.fromkeys(run.image_size for run in runs)) or [64]
        size = sizes[0]
        return (gr.update(choices=[str(s) for s in IMAGE_SIZES], value=str(size)), *self.shown_report(target, size))

    def shown_report(self, target: str | None, size) -> tuple:
        key = target_key(target, self.settings.cache_dir)
        report = newest_report(self.settings.report_dir, key, int(size) if size else None)
        if report is None:
            return (f"No report of {describe(target)} at {size} px yet: press the button.", "", None, None)
        return (
            f"The newest report: `{self.shown_path(report.folder)}`.",
            report.markdown,
            picture(report.grid),
            picture(report.frames),
        )

    def report(self, target_choice, size, with_pose, progress=None):
        """Run src/report.py on the target; yields (message, table, grid, frames)."""
        job_folder = new_job_folder(self.settings.jobs_dir)
        try:
            target = clip_path(target_choice, None, "target", job_folder, self.settings.max_upload_mb)
        except UserError as err:
            shutil.rmtree(job_folder, ignore_errors=True)  # refused before it ran: nothing to keep
            yield (f"**Error:** {err}", "", None, None)
            return
        data = ["data=synthetic"] if target is None else ["data=video", override("data.target_video", target)]
        overrides = [
            *self.settings.paths_overrides(),
            *data,
            f"data.image_size={int(size)}",
            f"pose.enabled={'true' if with_pose else 'false'}",
        ]
        log_path = job_folder / "report.log"
        yield (f"Scoring every model on {describe(target and str(target))}…", "", None, None)
        outcome = yield from self._follow(EntryPointJob("report", overrides, log_path), progress, 4)
        report = read_report(Path(outcome.printed["report"]).parent) if outcome.printed.get("report") else None
        if not outcome.ok or report is None:
            yield (outcome_message(outcome, "report", log_path), "", None, None)
            return
        done = f"Done: `{self.shown_path(report.folder)}`."
        yield (done, report.markdown, picture(report.grid), picture(report.frames))
