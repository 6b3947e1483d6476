"""The entry points as processes: exit statuses, the `error:` line, the debug switch, the result
printed last, a stderr free of other libraries' chatter, and the Makefile passing the status on."""

import logging
import runpy
import subprocess
import sys

import pytest

from conftest import ROOT, STDERR_NOISE, TASKS, last_line, printed_path
from motion_transfer.runtime.errors import INTERRUPTED_EXIT, USER_ERROR_EXIT, report_user_errors


def assert_one_error_line(result, *words):
    assert result.returncode == USER_ERROR_EXIT, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(message) == 1, result.stderr[-2000:]
    for word in words:
        assert word in message[0], message[0]


@pytest.mark.slow
def test_a_mistake_on_the_command_line_exits_with_status_2_and_one_sentence(small):
    """Caught before Hydra runs (cli.check_overrides): Hydra alone would exit 1 with several lines."""
    assert_one_error_line(small.run("train", "model=bogus"), "model=bogus", "nearest")


@pytest.mark.slow
def test_a_mistake_found_by_the_task_exits_with_status_2_and_one_sentence(small):
    ckpt = small.outputs / "notes.ckpt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    ckpt.write_text("hello")
    assert_one_error_line(small.run("demo", f"ckpt_path={ckpt}", model="gan"), "ckpt_path", "notes.ckpt")


@pytest.mark.slow
def test_the_debug_switch_shows_the_traceback(small):
    result = small.run("train", "data.batch_size=0", env={"MOTION_TRANSFER_DEBUG": "1"})
    assert result.returncode not in (0, USER_ERROR_EXIT) and "Traceback" in result.stderr
    assert "data.batch_size=0" in result.stderr


def test_user_errors_and_interruptions_become_statuses(capsys, monkeypatch):
    """report_user_errors, which every task runs under: a user's mistake is one line and status 2,
    Ctrl-C status 130, a crash is raised as it is."""
    from motion_transfer.runtime.errors import DEBUG_ENV, UserError

    def fails(error):
        def task():
            raise error

        return report_user_errors(task)

    monkeypatch.delenv(DEBUG_ENV, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        fails(UserError("data.image_size=100 is not supported"))()
    assert exit_info.value.code == USER_ERROR_EXIT
    assert capsys.readouterr().err == "error: data.image_size=100 is not supported\n"
    with pytest.raises(SystemExit) as exit_info:
        fails(KeyboardInterrupt())()
    assert exit_info.value.code == INTERRUPTED_EXIT and capsys.readouterr().err == "interrupted.\n"
    with pytest.raises(ZeroDivisionError):
        fails(ZeroDivisionError("a bug"))()
    assert capsys.readouterr().err == ""
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(UserError):
        fails(UserError("shown with its traceback"))()


@pytest.mark.slow
def test_runs_keep_stderr_free_of_native_notices_and_progress_frames(small):
    """Training (Lightning) and evaluation (MediaPipe on the generated frames), with progress bars
    on as by default: stderr is a pipe here, as in a log file or CI."""
    train = small.run("train", "data.progress=true", "trainer.enable_progress_bar=true", model="vanilla")
    assert train.returncode == 0, train.stderr[-3000:]
    assert printed_path(train, "checkpoint").is_file()
    evaluate = small.run("evaluate", "data.progress=true", model="nearest")
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    assert printed_path(evaluate, "metrics").is_file()
    for result in (train, evaluate):
        assert not [noise for noise in STDERR_NOISE if noise in result.stderr], result.stderr[-3000:]
        assert "[INFO]" in result.stderr  # the run's own log still reaches stderr


@pytest.fixture
def restored_logging():
    """Hydra configures logging for its run (handlers on the root logger, writing to this test's
    captured stderr): put back what was there."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    loggers = {
        name: (lg.level, lg.handlers[:], lg.propagate, lg.disabled)
        for name, lg in logging.Logger.manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    yield
    root.handlers[:], root.level = handlers, level
    for name, (lvl, hdl, propagate, disabled) in loggers.items():
        lg = logging.getLogger(name)
        lg.level, lg.handlers[:], lg.propagate, lg.disabled = lvl, hdl, propagate, disabled


@pytest.mark.parametrize(
    "script, label",
    [
        ("train", "checkpoint"),
        ("demo", "video"),
        ("evaluate", "metrics"),
        ("report", "report"),
        ("export", "onnx"),
        ("interpolate", "checkpoint"),
        ("preprocess", "cache"),
        ("bench", "bench"),
    ],
)
def test_each_entry_point_prints_its_result_last(script, label, tmp_path, monkeypatch, capsys, restored_logging):
    """src/<script>.py runs its package function on its config and prints `<label>: <result>`
    last (the task itself is replaced: the other tests run the real ones)."""
    seen = []

    def task(cfg):
        seen.append(cfg)
        return tmp_path / "result"

    module, function = TASKS[script].split(":")
    monkeypatch.setattr(f"{module}.{function}", task)
    monkeypatch.setattr(sys, "argv", [f"src/{script}.py", f"paths.output_dir={tmp_path}", "data.image_size=32"])
    runpy.run_path(str(ROOT / "src" / f"{script}.py"), run_name="__main__")
    assert last_line(capsys.readouterr().out) == f"{label}: {tmp_path / 'result'}"
    assert seen[0].task_name == ("train" if script == "interpolate" else script) and seen[0].data.image_size == 32
    assert list((tmp_path / seen[0].task_name).iterdir())  # Hydra made the run folder there


def test_a_run_starts_with_its_resolved_config_and_its_seed(small):
    import torch
    from omegaconf import OmegaConf

    from motion_transfer.runtime.config import run_dir, start_run

    cfg = small.compose("train", "seed=5")
    folder = start_run(cfg)
    assert folder == run_dir() and folder.parent == small.outputs / "train"
    saved = OmegaConf.load(folder / "config_resolved.yaml")
    assert "${" not in (folder / "config_resolved.yaml").read_text()  # resolved: paths, run folder
    assert saved.seed == 5 and saved.paths.output_dir == str(small.outputs)
    assert torch.initial_seed() == 5


@pytest.mark.slow
def test_makefile_targets_pass_the_exit_status_on():
    # -o: take the installed environment as up to date (no reinstall if pyproject.toml changed).
    result = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "demo", "ARGS=model=bogus"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "error: model=bogus" in result.stderr
