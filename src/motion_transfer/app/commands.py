"""What the page's jobs run: the clips a job uses, the command lines of src/demo.py and src/train.py
it builds from the page's choices, and the page's messages for a job refused or failed."""

from __future__ import annotations

import threading
from pathlib import Path

from motion_transfer.app.jobs import Outcome, override, store_upload
from motion_transfer.app.runs import EMBEDDED, checkpoint_record, refinable_model_names, refinable_runs, target_key
from motion_transfer.app.settings import AppSettings
from motion_transfer.models.kinds import model_kinds, model_names
from motion_transfer.runtime.errors import UserError

#: The image sizes (px) the Train and Report tabs offer.
IMAGE_SIZES = (32, 64, 128, 256)
#: Frames of the embedded source clip when a real target copies it (the demo's synthetic_source_frames).
EMBEDDED_SOURCE_FRAMES = 200


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
    needs = "".join(f" model.{option}=<a run at half its size>" for option in model_kinds()[model].trains_from)
    untrained = ", ".join(model_names(learns=False))
    return (
        f"No {model} run is trained on {describe(target)} yet; train one with "
        f"`python src/train.py model={model} {data}{needs}` (or in the Train tab), then reload the page "
        f"(or pick {untrained}, which needs none)."
    )


def demo_overrides(
    settings: AppSettings,
    target: Path | None,
    source: Path | None,
    model: str,
    checkpoint: str | None,
    run_dir: Path | None = None,
) -> list[str]:
    """src/demo.py's command line for one job; its run folder is `run_dir` when given (the job's own
    folder: the page serves nothing else)."""
    kind = model_kinds().get(model)
    if kind is None:
        raise UserError(f"'{model}' is not a model; pick one of {', '.join(model_names())}.")
    checkpoint_options = []
    if kind.learns:  # checked first: a refused job renders no source clip
        if not checkpoint:
            raise UserError(no_run_message(model, None if target is None else str(target)))
        record = checkpoint_record(Path(checkpoint)) if Path(checkpoint).is_file() else {}
        if not record:
            raise UserError(f"The run's checkpoint '{checkpoint}' can no longer be read; pick another run.")
        checkpoint_options = [override("ckpt_path", checkpoint), f"data.image_size={int(record['image_size'])}"]
    overrides = [*settings.paths_overrides(), f"model={model}"]
    if target is None:
        overrides.append("data=synthetic")  # the demo renders the embedded source unless one is given
        if source is not None:
            overrides.append(override("source_video", source))
    else:
        source = source or embedded_source_video(settings.app_dir)
        overrides += ["data=video", override("data.target_video", target), override("source_video", source)]
    if run_dir is not None:
        overrides.append(override("hydra.run.dir", run_dir))
    return [*overrides, *checkpoint_options, *settings.demo_overrides]


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


def refined_run_overrides(settings: AppSettings, model: str, target: Path | None, size: int) -> list[str]:
    """The options (`model.X`, its `trains_from`) naming the run a model refines: the newest run on
    the target at half the model's size of a model it can refine; a one-sentence refusal saying what
    to train first when there is none."""
    options = model_kinds()[model].trains_from
    if not options:
        return []
    half = size // 2
    where = f"on {describe(target and str(target))} at {half} px"
    if half not in IMAGE_SIZES:
        raise UserError(
            f"{model} refines a run at half its size ({half} px), a size this page does not train; "
            f"pick {2 * min(IMAGE_SIZES)} px or more."
        )
    key = target_key(target, settings.cache_dir)
    runs = refinable_runs(settings.train_dir, key, half)
    if not runs:
        raise UserError(
            f"{model} refines a run trained {where} (half of {size} px) and there is none yet; "
            f"train {' or '.join(refinable_model_names())} {where} first."
        )
    return [override(f"model.{option}", runs[0].checkpoint) for option in options]


def check_trains(model: str) -> None:
    """Refuse, in one sentence, a model that is not trained (it is built when used) or does not exist."""
    kind = model_kinds().get(model)
    if kind is None or not kind.learns:
        raise UserError(f"'{model}' is not a model that trains; pick one of {', '.join(model_names(learns=True))}.")


def _model_on_target(settings: AppSettings, model: str, target: Path | None, size: int) -> list[str]:
    data = ["data=synthetic"] if target is None else ["data=video", override("data.target_video", target)]
    return [*settings.paths_overrides(), f"model={model}", *data, f"data.image_size={int(size)}"]


def training_overrides(settings: AppSettings, model: str, target: Path | None, size: int, budget: str) -> list[str]:
    """src/train.py's command line to train `model` on the target for the time budget (DD:HH:MM:SS)."""
    check_trains(model)
    refined = refined_run_overrides(settings, model, target, int(size))
    # The time budget ends the run: the epoch limit is set out of its way, as the race does.
    limits = [f"trainer.max_time={budget}", "trainer.max_epochs=100000"]
    return [*_model_on_target(settings, model, target, size), *refined, *limits]


def evaluation_overrides(
    settings: AppSettings, model: str, target: Path | None, size: int, checkpoint: str
) -> list[str]:
    """src/evaluate.py's command line to score a run just trained on the target's held-out frames."""
    return [*_model_on_target(settings, model, target, size), override("ckpt_path", checkpoint), "pose.enabled=false"]


def outcome_message(outcome: Outcome, what: str, log_path: Path) -> str:
    """The page's message for a job that did not succeed."""
    if outcome.error:
        return f"**Error:** {outcome.error}"
    if outcome.returncode in (130, 143, -15, -9):
        return f"The {what} was stopped."
    tail = "\n".join(outcome.tail[-8:])
    return f"**The {what} failed** (exit status {outcome.returncode}); its log: `{log_path}`\n\n```\n{tail}\n```"
