"""The web page (`make app`): pick or upload a target and a source clip, a model and a trained
run, and watch the transfer; compare the runs of a target in its report; train a model for a
time budget.

Every job runs an entry point (src/demo.py, report.py, train.py, evaluate.py) in a process of its own
(app_jobs.EntryPointJob), so a failing job shows its `error:` line in the page and never stops
the server. Everything the page writes stays under paths.output_dir: uploads in a folder per job
(`app/jobs/<job>/`), Gradio's temporary files in `app/gradio/`; nothing is fetched from the
internet and no share link is made.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from motion_transfer.app.jobs import EntryPointJob, Outcome, RunningJobs, new_job_folder, override, store_upload
from motion_transfer.app.runs import (
    EMBEDDED,
    checkpoint_record,
    clip_choices,
    newest_report,
    read_report,
    target_key,
    trained_runs,
)
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)

MODELS = ("nearest", "vanilla", "vanilla_image", "gan", "gan_lab")
LEARNED = MODELS[1:]
IMAGE_SIZES = (32, 64, 128, 256)
#: Frames of the embedded source clip when a real target copies it (the demo's synthetic_source_frames).
EMBEDDED_SOURCE_FRAMES = 200


@dataclass(frozen=True)
class AppSettings:
    """configs/app.yaml, checked."""

    server_name: str
    server_port: int
    max_upload_mb: float
    max_jobs: int
    clip_folders: tuple[Path, ...]
    app_dir: Path
    output_dir: Path
    cache_dir: Path
    train_dir: Path
    demo_overrides: tuple[str, ...]

    @classmethod
    def from_config(cls, cfg: DictConfig) -> AppSettings:
        def number(key: str, kind: type, low: float, high: float | None = None):
            value = cfg.get(key)
            try:
                number = kind(value)
                if kind is int and number != float(value):
                    raise ValueError
            except (TypeError, ValueError):
                number = None
            if number is None or number < low or (high is not None and number > high):
                limit = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise UserError(f"{key}={value} must be a number {limit}.")
            return number

        host = str(cfg.get("server_name") or "").strip()
        if not host:
            raise UserError("server_name is empty; use 127.0.0.1 (this machine only) or 0.0.0.0 (the network).")
        extra = cfg.get("demo_overrides") or []
        if not OmegaConf.is_list(extra) and not isinstance(extra, list | tuple):
            raise UserError(
                "demo_overrides must be a list of key=value overrides, e.g. \"demo_overrides=['output.max_side=720']\"."
            )
        return cls(
            server_name=host,
            server_port=number("server_port", int, 1, 65535),
            max_upload_mb=number("max_upload_mb", float, 0.001),
            max_jobs=number("max_jobs", int, 1),
            clip_folders=tuple(Path(str(p)).expanduser() for p in cfg.get("clip_folders") or []),
            app_dir=Path(str(cfg.app_dir)).expanduser().resolve(),
            output_dir=Path(str(cfg.paths.output_dir)).expanduser().resolve(),
            cache_dir=Path(str(cfg.paths.cache_dir)).expanduser().resolve(),
            train_dir=Path(str(cfg.paths.train_dir)).expanduser().resolve(),
            demo_overrides=tuple(str(o) for o in extra),
        )

    @property
    def jobs_dir(self) -> Path:
        return self.app_dir / "jobs"

    @property
    def evaluate_dir(self) -> Path:
        return self.output_dir / "evaluate"

    @property
    def report_dir(self) -> Path:
        return self.output_dir / "report"

    def paths_overrides(self) -> list[str]:
        """The page's paths for every job it runs: its results land where the page looks for them."""
        return [
            override("paths.output_dir", self.output_dir),
            override("paths.cache_dir", self.cache_dir),
            override("paths.train_dir", self.train_dir),
        ]


def check_listening(host: str, port: int) -> None:
    """Refuse, with one sentence, an address the server could not listen on (Gradio would print a traceback)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as err:
        reason = err.strerror or str(err)
        raise UserError(
            f"cannot listen on {host}:{port} ({reason.lower()}); pass another server_port= (or server_name=)."
        ) from err


# -- what a job runs ------------------------------------------------------------------------------------------


def describe(target: str | None) -> str:
    return "the embedded example" if target in (None, "", EMBEDDED) else f"'{Path(target).name}'"


def clip_path(choice: str | None, upload: str | None, role: str, job_folder: Path, max_upload_mb: float) -> Path | None:
    """The clip a job uses: its upload (checked, copied into the job's folder), else the clip
    picked in the list; None for the embedded example."""
    if upload:
        return store_upload(upload, role, job_folder, max_upload_mb)
    if choice in (None, "", EMBEDDED):
        return None
    path = Path(choice)
    if not path.is_file():
        raise UserError(f"The {role} clip '{path}' no longer exists; pick another one or upload it.")
    return path


_embedded_source_lock = threading.Lock()


def embedded_source_video(app_dir: Path) -> Path:
    """The embedded source clip as a video file, for a real target to copy (rendered once)."""
    from motion_transfer.data.synthetic import SYNTHETIC_FPS, render_clip
    from motion_transfer.data.video import VideoWriter

    path = app_dir / "examples" / f"embedded-source-{EMBEDDED_SOURCE_FRAMES}.mp4"
    with _embedded_source_lock:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            frames, _ = render_clip("source", EMBEDDED_SOURCE_FRAMES, 1)
            writer = VideoWriter(path, SYNTHETIC_FPS, frames.shape[2], frames.shape[1])
            writer.write(frames)
            writer.close()  # written under a temporary name, then renamed: never half a clip
    return path


def no_run_message(model: str, target: str | None) -> str:
    """What to do when a learned model has no run on the target (a path, or None: the embedded one)."""
    data = "data=synthetic" if target in (None, "", EMBEDDED) else f"data=video data.target_video={target}"
    return (
        f"No {model} run is trained on {describe(target)} yet; train one with "
        f"`python src/train.py model={model} {data}`, then reload the page (or pick nearest, which needs none)."
    )


def demo_overrides(
    settings: AppSettings, target: Path | None, source: Path | None, model: str, checkpoint: str | None
) -> list[str]:
    """src/demo.py's command line for one job."""
    if model not in MODELS:
        raise UserError(f"'{model}' is not a model; pick one of {', '.join(MODELS)}.")
    overrides = [*settings.paths_overrides(), f"model={model}"]
    if target is None:
        overrides.append("data=synthetic")  # the demo renders the embedded source unless one is given
        if source is not None:
            overrides.append(override("source_video", source))
    else:
        source = source or embedded_source_video(settings.app_dir)
        overrides += ["data=video", override("data.target_video", target), override("source_video", source)]
    if model in LEARNED:
        if not checkpoint:
            raise UserError(no_run_message(model, None if target is None else str(target)))
        record = checkpoint_record(Path(checkpoint)) if Path(checkpoint).is_file() else {}
        if not record:
            raise UserError(f"The run's checkpoint '{checkpoint}' can no longer be read; pick another run.")
        overrides += [override("ckpt_path", checkpoint), f"data.image_size={int(record['image_size'])}"]
    return [*overrides, *settings.demo_overrides]


def time_budget(minutes) -> str:
    """trainer.max_time (DD:HH:MM:SS) for a budget in minutes."""
    try:
        seconds = int(round(float(minutes) * 60))
    except (TypeError, ValueError):
        seconds = 0
    if seconds < 60:
        raise UserError(f"The time budget ({minutes} minutes) must be at least 1 minute.")
    days, rest = divmod(seconds, 86400)
    return f"{days:02d}:{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"


def outcome_message(outcome: Outcome, what: str, log_path: Path) -> str:
    """The page's message for a job that did not succeed."""
    if outcome.error:
        return f"**Error:** {outcome.error}"
    if outcome.returncode in (130, 143, -15, -9):
        return f"The {what} was stopped."
    tail = "\n".join(outcome.tail[-8:])
    return f"**The {what} failed** (exit status {outcome.returncode}); its log: `{log_path}`\n\n```\n{tail}\n```"


# -- the page -------------------------------------------------------------------------------------------------


class Page:
    """The page's handlers; `build` lays the page out."""

    def __init__(self, settings: AppSettings):
        self.settings = settings
        self.jobs = RunningJobs()

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

        if model not in LEARNED:
            label = "no training needed: an index of the target's frames, built for the job"
            return gr.update(choices=[(label, "")], value="", interactive=False), ""
        target = target_upload or target_choice
        runs = self.runs_for(target, model)
        if not runs:
            note = no_run_message(model, target_choice)
            if target_upload:  # its copy for a run exists only once a job has stored it
                note = (
                    f"No {model} run is trained on '{Path(target_upload).name}' yet; train one in the Train tab "
                    "(upload it there), or pick nearest, which needs none."
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
            if model in LEARNED and not checkpoint:
                raise UserError(no_run_message(model, None if target is None else str(target)))
            overrides = demo_overrides(self.settings, target, source, model, checkpoint)
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
        the held-out frames so that the run lists show its figures; yields (message, log)."""
        job_folder = new_job_folder(self.settings.jobs_dir)
        try:
            if model not in LEARNED:
                raise UserError(f"'{model}' is not a model that trains; pick one of {', '.join(LEARNED)}.")
            target = clip_path(target_choice, target_upload, "target", job_folder, self.settings.max_upload_mb)
            budget = time_budget(minutes)
        except UserError as err:
            shutil.rmtree(job_folder, ignore_errors=True)  # refused before it ran: nothing to keep
            yield (f"**Error:** {err}", "")
            return
        data = ["data=synthetic"] if target is None else ["data=video", override("data.target_video", target)]
        common = [*self.settings.paths_overrides(), f"model={model}", *data, f"data.image_size={int(size)}"]
        # The time budget ends the run: the epoch limit is set out of its way, as the race does.
        overrides = [*common, f"trainer.max_time={budget}", "trainer.max_epochs=100000"]
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
        evaluation = [*common, override("ckpt_path", checkpoint), "pose.enabled=false"]
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
            (run for model in LEARNED for run in trained_runs(self.settings.train_dir, model, key)),
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
        return (f"The newest report: `{self.shown_path(report.folder)}`.", report.markdown, report.grid, report.frames)

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
        yield (f"Done: `{self.shown_path(report.folder)}`.", report.markdown, report.grid, report.frames)

    # layout -----------------------------------------------------------------------------------------------
    def build(self):
        import gradio as gr

        settings = self.settings
        jobs = {"concurrency_limit": settings.max_jobs, "concurrency_id": "jobs"}
        clips = self.clip_choices()
        with gr.Blocks(title="Motion transfer", analytics_enabled=False) as page:
            gr.Markdown(
                "# Motion transfer\nThe **target** person performs the **source** person's moves, in the target's "
                "own scene. Pick clips from the lists or upload your own (the embedded example needs neither)."
            )
            with gr.Tab("Transfer"):
                with gr.Row():
                    with gr.Column():
                        target_choice = gr.Dropdown(
                            clips, label="Target (who is shown)", value=EMBEDDED, elem_id="target"
                        )
                        target_upload = gr.File(label="or upload a target clip", elem_id="target-upload")
                        target_note = gr.Markdown(elem_id="target-note")
                    with gr.Column():
                        source_choice = gr.Dropdown(
                            clips, label="Source (whose moves)", value=EMBEDDED, elem_id="source"
                        )
                        source_upload = gr.File(label="or upload a source clip", elem_id="source-upload")
                        source_note = gr.Markdown(elem_id="source-note")
                with gr.Row():
                    model = gr.Radio(list(MODELS), value="nearest", label="Model", elem_id="model")
                    run = gr.Dropdown(label="Trained run", elem_id="run", scale=2)
                run_note = gr.Markdown(elem_id="run-note")
                with gr.Row():
                    start = gr.Button("Transfer the moves", variant="primary", elem_id="start", scale=3)
                    stop = gr.Button("Stop", elem_id="stop")
                status = gr.Markdown(elem_id="status")
                with gr.Row():
                    generated = gr.Video(label="Result (generated.mp4)", elem_id="generated", buttons=["download"])
                    side_by_side = gr.Video(
                        label="Source | result (transfer.mp4)", elem_id="side-by-side", buttons=["download"]
                    )
                downloads = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="downloads")

            with gr.Tab("Report"):
                gr.Markdown(
                    "Every model trained on a target, scored on its held-out frames (`src/report.py`): one table "
                    "and one grid (stick figure | real | each model)."
                )
                with gr.Row():
                    report_target = gr.Dropdown(clips, label="Target", value=EMBEDDED, elem_id="report-target", scale=3)
                    report_size = gr.Dropdown(label="Image size (px)", elem_id="report-size")
                    with_pose = gr.Checkbox(value=True, label="Pose consistency (MediaPipe; slower)")
                make_report = gr.Button("Make a new report", variant="primary", elem_id="make-report")
                report_status = gr.Markdown(elem_id="report-status")
                report_table = gr.Markdown(elem_id="report-table")
                with gr.Row():
                    report_grid = gr.Image(label="report.png", type="filepath", interactive=False, height=480)
                    report_frames = gr.Image(
                        label="report_frames.png (full frame)", type="filepath", interactive=False, height=480
                    )

            with gr.Tab("Train"):
                gr.Markdown(
                    "Train a learned model on a target for a wall-clock budget (`src/train.py`, "
                    "`trainer.max_time`); the run then appears in the Transfer tab. The recipes of docs/results.md "
                    "train for 6 to 16 minutes on 2 CPU cores."
                )
                with gr.Row():
                    with gr.Column():
                        train_target = gr.Dropdown(clips, label="Target", value=EMBEDDED, elem_id="train-target")
                        train_upload = gr.File(label="or upload a target clip", elem_id="train-upload")
                        train_note = gr.Markdown(elem_id="train-note")
                    with gr.Column():
                        train_model = gr.Radio(list(LEARNED), value="vanilla_image", label="Model")
                        minutes = gr.Slider(1, 120, value=5, step=1, label="Time budget (minutes)")
                        train_size = gr.Dropdown([str(s) for s in IMAGE_SIZES], value="64", label="Image size (px)")
                        evaluate_after = gr.Checkbox(value=True, label="Score it on the held-out frames afterwards")
                with gr.Row():
                    start_training = gr.Button("Train", variant="primary", elem_id="train")
                    stop_training = gr.Button("Stop (keeps the last checkpoint)", elem_id="stop-training")
                train_status = gr.Markdown(elem_id="train-status")
                train_log = gr.Textbox(label="Log (last lines)", lines=10, max_lines=10, interactive=False)

            def refresh_lists(target, source, report_target_value, model_name):
                choices = self.clip_choices()
                values = {value for _, value in choices}
                keep = lambda v: v if v in values else EMBEDDED  # noqa: E731 - a picked clip that vanished
                runs, note = self.run_choices(keep(target), None, model_name)
                return (
                    gr.update(choices=choices, value=keep(target)),
                    gr.update(choices=choices, value=keep(source)),
                    gr.update(choices=choices, value=keep(report_target_value)),
                    gr.update(choices=choices),
                    runs,
                    note,
                )

            lists = [target_choice, source_choice, report_target, train_target, run, run_note]
            report_outputs = [report_status, report_table, report_grid, report_frames]
            page.load(refresh_lists, [target_choice, source_choice, report_target, model], lists).then(
                self.report_sizes, report_target, [report_size, *report_outputs]
            )
            runs_inputs = [target_choice, target_upload, model]
            for trigger in (target_choice.change, model.change, target_upload.change):
                trigger(self.run_choices, runs_inputs, [run, run_note])
            target_upload.upload(lambda f: self.check_uploaded(f, "target"), target_upload, target_note)
            source_upload.upload(lambda f: self.check_uploaded(f, "source"), source_upload, source_note)
            train_upload.upload(lambda f: self.check_uploaded(f, "target"), train_upload, train_note)
            train_upload.clear(lambda: "", None, train_note)
            target_upload.clear(lambda: "", None, target_note)
            source_upload.clear(lambda: "", None, source_note)

            def transfer(t, tu, s, su, m, r, progress=gr.Progress()):
                yield from self.transfer(t, tu, s, su, m, r, progress)

            transfer_event = start.click(
                transfer,
                [target_choice, target_upload, source_choice, source_upload, model, run],
                [status, generated, side_by_side, downloads],
                **jobs,
            )
            stop.click(lambda: "Stopped.", None, status, cancels=[transfer_event])
            report_target.change(self.report_sizes, report_target, [report_size, *report_outputs])
            report_size.input(self.shown_report, [report_target, report_size], report_outputs)

            def report(t, size, pose, progress=gr.Progress()):
                yield from self.report(t, size, pose, progress)

            make_report.click(report, [report_target, report_size, with_pose], report_outputs, **jobs)

            def train(t, tu, m, minutes_value, size, evaluate, progress=gr.Progress()):
                yield from self.train(t, tu, m, minutes_value, size, evaluate, progress)

            training = start_training.click(
                train,
                [train_target, train_upload, train_model, minutes, train_size, evaluate_after],
                [train_status, train_log],
                **jobs,
            )
            training.then(refresh_lists, [target_choice, source_choice, report_target, model], lists)
            stop_training.click(
                lambda: "Stopped: the run keeps its last checkpoint.", None, train_status, cancels=[training]
            )
        return page


def prepare_gradio_environment(app_dir: Path) -> None:
    """Before gradio is imported: its temporary files under outputs/, no analytics or version check."""
    temp = app_dir / "gradio"
    temp.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(temp)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def run_app(cfg: DictConfig) -> str:
    """Serve the page until Ctrl-C or SIGTERM; prints `url: <address>` once it listens."""
    settings = AppSettings.from_config(cfg)
    check_listening(settings.server_name, settings.server_port)
    prepare_gradio_environment(settings.app_dir)
    import gradio as gr

    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's requests to itself, one line each

    page = Page(settings)
    blocks = page.build()
    blocks.queue(default_concurrency_limit=settings.max_jobs)
    # System fonts only: the default theme would ask Google Fonts for its typeface.
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )
    blocks.launch(
        server_name=settings.server_name,
        server_port=settings.server_port,
        share=False,
        prevent_thread_lock=True,
        quiet=True,
        allowed_paths=[str(settings.output_dir)],
        max_file_size=int(settings.max_upload_mb * 1e6),
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        enable_monitoring=False,
        run_history=False,  # its page offers to save runs to a Hugging Face bucket
        footer_links=["api", "settings"],
        theme=theme,
    )
    shown = "127.0.0.1" if settings.server_name in ("0.0.0.0", "::") else settings.server_name
    url = f"http://{shown}:{settings.server_port}"
    if settings.server_name in ("0.0.0.0", "::"):
        log.warning(
            "listening on every network interface: anyone who can reach port %d can run jobs", settings.server_port
        )
    print(f"url: {url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:  # Ctrl-C or SIGTERM: the jobs in progress stop too (they keep what they finished)
        page.jobs.stop_all()
        blocks.close()
    return url
