"""Shared fixtures: the project's real Hydra configs composed small, tiny trained checkpoints, the real clips.

Most end-to-end tests compose a real config with Hydra's compose API (`Small.compose`) and call
the package function of the entry point in this process. Subprocesses (`Small.run`, `run_script`)
are kept for what only a process shows: exit statuses, `error:` lines, signals, DDP, the last
stdout line and what reaches stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Lightning gives its loggers a handler on the stderr of the moment it is first imported: here,
# the session's, not the capture of one test (closed after it, then written to by later tests).
import lightning.pytorch  # noqa: F401
import pytest

import motion_transfer.cli  # noqa: F401 - registers data.crop's structured config before any compose
from motion_transfer.models.kinds import model_kinds, model_names

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CONFIG_DIR = ROOT / "configs"
os.environ["MOTION_TRANSFER_ROOT"] = str(ROOT)

#: Every model of configs/model/, and those that learn (models/kinds.py).
MODELS = model_names()
LEARNED = model_names(learns=True)
#: The models a run trains from nothing: one with `trains_from` needs a trained run named first.
TRAINED_ALONE = tuple(name for name in MODELS if not model_kinds()[name].trains_from)
#: The tiny synthetic clip: 80 frames (43 to train, 12 to validate) at 32 px.
TINY_DATA = ("data.synthetic_frames=80", "data.image_size=32", "data.batch_size=8", "data.progress=false")
#: What each config gets besides the data, to stay small and quiet.
TASK_OVERRIDES = {
    "train": (
        "logger=none",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "trainer.log_every_n_steps=1",
    ),
    "demo": ("synthetic_source_frames=30", "output.panel_size=64"),
}
#: Lines on stderr that a run must not show: native notices of MediaPipe, Lightning's chatter,
#: and the carriage returns of progress bars drawn into a pipe.
STDERR_NOISE = ("TensorFlow Lite", "W0000", "inference_feedback_manager", "GPU available", "LeafSpec", "\r")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real clips. Missing data fails the test (it must not pass silently in CI)."""
    if not (SHARED_DATA / "taichi2.mp4").is_file() or not (SHARED_DATA / "karate1.mp4").is_file():
        pytest.fail(f"the real clips are missing: expected taichi2.mp4 and karate1.mp4 in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_outputs(shared_data, tmp_path_factory) -> Path:
    """An outputs/ folder whose cache/ holds karate1 and taichi2 at the default crop: MediaPipe
    runs over each real clip once a session, for every test that points paths.output_dir here."""
    from motion_transfer.data.cache import load_or_build_video_cache
    from motion_transfer.pose.crop import CropParams

    outputs = tmp_path_factory.mktemp("real")
    for name in ("karate1", "taichi2"):
        load_or_build_video_cache(shared_data / f"{name}.mp4", outputs / "cache", CropParams(), progress=False)
    return outputs


def run_script(
    script: str, *overrides: str, outputs: Path, timeout: float = 600, env: dict | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    """Run an entry point (src/<script>.py) as a user would, with outputs in `outputs`."""
    cmd = [sys.executable, str(ROOT / "src" / f"{script}.py"), f"paths.output_dir={outputs}", *overrides]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env)


def write_video(path: Path, frames, fps: float = 25.0) -> Path:
    """Write (N, H, W, 3) uint8 RGB frames as a video file at `path` (H.264), and return the path."""
    from motion_transfer.data.video import VideoWriter

    writer = VideoWriter(path, fps, frames.shape[2], frames.shape[1])
    writer.write(frames)
    return writer.close()


def video_size_and_count(path: Path) -> tuple[tuple[int, int], int]:
    """A video file's (width, height) and how many frames it decodes to."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return (stream.width, stream.height), sum(1 for _ in container.decode(video=0))


def start_script(script: str, *overrides: str, outputs: Path) -> subprocess.Popen:
    """Start an entry point (src/<script>.py) in the background, stdout and stderr piped, for a test
    that signals it."""
    cmd = [sys.executable, str(ROOT / "src" / f"{script}.py"), f"paths.output_dir={outputs}", *overrides]
    # A test run started in the background (`make test &`, nohup) ignores SIGINT, and so would
    # its children, where Python then installs no Ctrl-C handler: give them the default back.
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def terminate(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM a started entry point and wait for it (killed if it has not ended within `timeout` s)."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def printed_path(result: subprocess.CompletedProcess, label: str) -> Path:
    """The path an entry point printed as its last stdout line, `<label>: <path>`."""
    line = last_line(result.stdout)
    assert line.startswith(f"{label}: "), (line, result.stderr[-3000:])
    return Path(line.split(": ", 1)[1])


def compose(config_name: str, overrides: list[str], output_dir: Path | None = None):
    """Compose a real config from configs/ as Hydra would for a run writing into output_dir
    (default: the new run folder Hydra would make, hydra.run.dir).

    HydraConfig is set, so `runtime.config.run_dir()` and `${hydra:runtime.output_dir}` point at the run
    folder: run the task before composing another config.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    assert output_dir or any(o.startswith("paths.output_dir=") for o in overrides), "write under tmp_path, not outputs/"
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    output_dir = Path(output_dir or cfg.hydra.run.dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def model_overrides(model: str | None) -> list[str]:
    """model=NAME, with narrow networks for the learned ones."""
    if model is None:
        return []
    from motion_transfer.models.loading import model_config

    out = [f"model={model}"]
    if model_kinds()[model].learns:
        options = model_config(model)
        out += [f"model.{key}=8" for key in ("base_filters", "d_base_filters") if key in options]
    return out


class Small:
    """The project's configs composed small (the tiny synthetic clip, narrow networks, no logger,
    no progress bars), writing under `outputs` (paths.output_dir)."""

    def __init__(self, outputs: Path):
        self.outputs = Path(outputs)

    def overrides(self, config_name: str, *extra: str, model: str | None = None) -> list[str]:
        return [
            f"paths.output_dir={self.outputs}",
            *TINY_DATA,
            *TASK_OVERRIDES.get(config_name, ()),
            *model_overrides(model),
            *extra,
        ]

    def compose(self, config_name: str, *extra: str, model: str | None = None):
        """The composed config, its run folder made as Hydra makes it (outputs/<task>/<time>)."""
        return compose(config_name, self.overrides(config_name, *extra, model=model))

    def datamodule(self):
        """The tiny clip's datamodule, prepared (its cache under outputs/cache)."""
        from motion_transfer.models.loading import prepare_datamodule

        return prepare_datamodule(self.compose("evaluate").data)

    def run(self, script: str, *extra: str, model: str | None = None, **kwargs) -> subprocess.CompletedProcess:
        """The entry point src/<script>.py in a new process, with the same small overrides."""
        return run_script(script, *self.overrides(script, *extra, model=model), outputs=self.outputs, **kwargs)


@pytest.fixture
def small(tmp_path) -> Small:
    """Small configs writing into this test's own folder."""
    return Small(tmp_path)


class Trained:
    """Tiny checkpoints trained once per session, 3 batches each, in runs under `small.outputs`/train:

    vanilla; vanilla_image (its defaults: placement and weight average); gan started from that
    U-Net (init_from; upsample=transpose to share its shape). Tests may read them and write runs
    of other tasks beside them, but must not train into this folder (the newest checkpoint of a
    model must stay the one here).
    """

    def __init__(self, small: Small):
        from motion_transfer.training import run_training

        self.small = small
        self.ckpts: dict[str, Path] = {}

        def train(model: str, *extra: str) -> None:
            cfg = small.compose("train", "+trainer.limit_train_batches=3", *extra, model=model)
            self.ckpts[model] = run_training(cfg)

        train("vanilla")
        train("vanilla_image")
        train("gan", "model.upsample=transpose", f"init_from={self.ckpts['vanilla_image']}")

    @property
    def outputs(self) -> Path:
        return self.small.outputs

    def last(self, model: str) -> Path:
        return self.ckpts[model].parent / "last.ckpt"


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Trained:
    return Trained(Small(tmp_path_factory.mktemp("trained")))


def user_error(fn: Callable, *args) -> str:
    """The one-sentence message of the user's mistake that fn(*args) raises (as the entry points
    would print it after `error: `), failing if it raises a crash or nothing."""
    from motion_transfer.runtime.errors import user_message

    try:
        fn(*args)
    except Exception as err:  # noqa: BLE001 - classified as report_user_errors does
        message = user_message(err)
        assert message is not None, f"a crash, not a user's mistake: {err!r}"
        return message
    pytest.fail(f"{getattr(fn, '__name__', fn)} raised no error")


#: The package function each entry point runs (src/<name>.py), by config name.
TASKS = {
    "train": "motion_transfer.training:run_training",
    "demo": "motion_transfer.demo:run_demo",
    "evaluate": "motion_transfer.evaluation.evaluate:run_evaluation",
    "report": "motion_transfer.evaluation.report:run_report",
    "export": "motion_transfer.models.export:run_export",
    "interpolate": "motion_transfer.models.blending:run_interpolation",
    "preprocess": "motion_transfer.data.preprocess:run_preprocess",
    "bench": "motion_transfer.bench.suite:run_bench",
    "live": "motion_transfer.live.run:run_live",
}


def entry_point_error(config_name: str, overrides: list[str], capsys) -> str:
    """The `error:` line of `python src/<config_name>.py <overrides>`, run in this process as
    cli.run_task runs it (the command line checked, then the task under report_user_errors);
    fails unless it ends with status 2 after that one line and no traceback."""
    import importlib

    from motion_transfer.cli import check_overrides
    from motion_transfer.runtime.errors import USER_ERROR_EXIT, report_user_errors

    module, function = TASKS[config_name].split(":")
    task = getattr(importlib.import_module(module), function)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        check_overrides(config_name, overrides)
        report_user_errors(task)(compose(config_name, overrides))
    err = capsys.readouterr().err
    assert exit_info.value.code == USER_ERROR_EXIT, err[-2000:]
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err[-2000:]
    return lines[0]


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` seconds have passed (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
