"""The web page's behaviour without a browser: upload checks, job folders, the lists of runs, the
messages of failed jobs and the command line (test_app_browser drives the page itself)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import compose, run_script
from motion_transfer.app.actions import PageActions, model_summary
from motion_transfer.app.commands import demo_overrides, time_budget, training_overrides
from motion_transfer.app.jobs import check_upload, new_job_folder, read_progress_line, safe_file_name, store_upload
from motion_transfer.app.layout import model_choices
from motion_transfer.app.page import run_app
from motion_transfer.app.runs import (
    EMBEDDED,
    clip_choices,
    newest_report,
    refinable_model_names,
    synthetic_target_identity,
    target_key,
    trained_runs,
)
from motion_transfer.app.settings import AppSettings, check_listening
from motion_transfer.models.identity import IDENTITY_KEY, make_identity
from motion_transfer.models.kinds import model_kinds, model_names
from motion_transfer.runtime.errors import UserError

#: The models built when used (nothing to train), and those that train from another run.
UNTRAINED = model_names(learns=False)
TRAINS_FROM_A_RUN = tuple(name for name, kind in model_kinds().items() if kind.trains_from)


def write_clip(path: Path, role: str = "target", n_frames: int = 60, seed: int = 0) -> Path:
    from motion_transfer.data.synthetic import render_clip
    from motion_transfer.data.video import VideoWriter

    frames, _ = render_clip(role, n_frames, seed, width=160, height=128)
    writer = VideoWriter(path, 25.0, frames.shape[2], frames.shape[1])
    writer.write(frames)
    return writer.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "dancer.mp4")


def settings_for(outputs: Path, *extra: str) -> AppSettings:
    return AppSettings.from_config(compose("app", [f"paths.output_dir={outputs}", "clip_folders=[]", *extra]))


# -- uploads ----------------------------------------------------------------------------------------------------


def test_a_video_upload_is_accepted_and_copied_into_the_jobs_own_folder(clip, tmp_path):
    job = new_job_folder(tmp_path / "jobs")
    stored = store_upload(clip, "target", job, max_upload_mb=5)
    assert stored == job / "target" / "dancer.mp4"
    assert stored.read_bytes() == clip.read_bytes()


@pytest.mark.parametrize(
    "name, content, limit_mb, words",
    [
        ("notes.txt", b"not a video\n", 5, ["'notes.txt' is not a video file", ".mp4"]),
        ("notes.mp4", b"not a video\n" * 100, 5, ["'notes.mp4' cannot be read as a video"]),
        ("empty.mov", b"", 5, ["'empty.mov' cannot be read as a video"]),
        ("dancer.mp4", None, 0.005, ["'dancer.mp4' is", "more than the 0.005 MB allowed", "max_upload_mb"]),
    ],
)
def test_a_bad_upload_is_refused_in_one_sentence(clip, tmp_path, name, content, limit_mb, words):
    path = tmp_path / name
    path.write_bytes(clip.read_bytes() if content is None else content)
    job = new_job_folder(tmp_path / "jobs")
    with pytest.raises(UserError) as refused:
        store_upload(path, "source", job, max_upload_mb=limit_mb)
    message = str(refused.value)
    assert message.startswith("The source clip") and message.count(". ") == 0 and "\n" not in message
    for word in words:
        assert word in message
    assert not (job / "source").exists()


def test_uploaded_names_lose_path_parts_and_special_characters():
    assert safe_file_name("../../etc/passwd.mp4") == "passwd.mp4"
    assert safe_file_name("my clip [1], take=2'.MOV") == "my_clip_1_take_2.mov"
    assert safe_file_name("été à la plage.mp4") == "été_à_la_plage.mp4"


def test_jobs_started_at_once_get_distinct_folders(tmp_path):
    folders, lock = [], threading.Lock()

    def make() -> None:
        for _ in range(20):
            folder = new_job_folder(tmp_path / "jobs")
            with lock:
                folders.append(folder)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(folders)) == 80 and all(folder.is_dir() for folder in folders)


# -- progress -------------------------------------------------------------------------------------------------


def test_progress_bars_and_log_lines_become_progress():
    bar = read_progress_line("demo:  40%|████      | 12/30 [00:01<00:02,  9.10frame/s]")
    assert bar.message == "demo: 12/30" and bar.fraction == pytest.approx(0.4)
    count = read_progress_line("poses clip.mp4: 120frame [00:03, 35.20frame/s]")
    assert count.message == "poses clip.mp4: 120 frames" and count.fraction is None
    logged = read_progress_line("[2026-12-03 09:18:52,243][motion_transfer.data.cache][INFO] building the cache")
    assert logged.message == "building the cache"
    assert read_progress_line("frames: 30") is None


# -- runs of a target ---------------------------------------------------------------------------------------


def fake_checkpoint(
    path: Path, model: str, key: str, size: int = 64, name: str = "dancer", options: dict | None = None
) -> Path:
    """A checkpoint file with only the records the lists read: its identity and (given) its model options."""
    path.parent.mkdir(parents=True, exist_ok=True)
    identity = make_identity(model, model_kinds()[model].cls.__name__, size, key, name)
    torch.save({IDENTITY_KEY: identity, "hyper_parameters": options or {}, "state_dict": {}}, path)
    return path


@pytest.mark.slow
def test_runs_trained_on_a_target_are_listed_newest_first_with_their_scores(clip, tmp_path):
    from motion_transfer.data.cache import load_or_build_video_cache

    settings = settings_for(tmp_path)
    assert target_key(clip, settings.cache_dir) is None  # not cached: nothing can have been trained on it
    key = load_or_build_video_cache(clip, settings.cache_dir, progress=False).key
    assert target_key(clip, settings.cache_dir) == key
    train = settings.train_dir
    older = fake_checkpoint(train / "2026-01-01_00-00-00-000001" / "checkpoints" / "last.ckpt", "gan", key)
    os.utime(older.parent.parent, (time.time() - 60, time.time() - 60))
    newer = train / "2026-01-02_00-00-00-000001" / "checkpoints"
    fake_checkpoint(newer / "best-epoch003.ckpt", "gan", key, size=128)
    newer_last = fake_checkpoint(newer / "last.ckpt", "gan", key, size=128)  # what a GAN prefers
    fake_checkpoint(train / "other-model" / "checkpoints" / "last.ckpt", "vanilla", key)
    fake_checkpoint(train / "other-target" / "checkpoints" / "last.ckpt", "gan", "0123456789abcdef")
    (train / "broken" / "checkpoints").mkdir(parents=True)
    (train / "broken" / "checkpoints" / "last.ckpt").write_bytes(b"truncated")
    evaluation = settings.evaluate_dir / "2026-01-03_00-00-00-000001"
    evaluation.mkdir(parents=True)
    scores = {"ssim": 0.8017, "psnr": 23.62, "l1": 0.0289}
    (evaluation / "metrics.json").write_text(json.dumps({"checkpoint": str(older), "metrics": scores}))

    runs = trained_runs(settings.train_dir, "gan", key, settings.evaluate_dir)
    assert [run.checkpoint for run in runs] == [newer_last.resolve(), older.resolve()]
    assert [run.image_size for run in runs] == [128, 64]
    assert runs[0].label.endswith("128 px · last.ckpt · not evaluated")
    assert runs[1].label.endswith("64 px · last.ckpt · SSIM 0.802, PSNR 23.6, L1 0.029")
    assert trained_runs(settings.train_dir, "vanilla_image", key) == []

    page = PageActions(settings)
    update, note = page.run_choices(str(clip), None, "gan")
    assert update["value"] == str(newer_last.resolve()) and note == ""
    update, note = page.run_choices(str(clip), None, "vanilla_image")
    assert update["choices"] == [] and "No vanilla_image run is trained on 'dancer.mp4'" in note
    assert "python src/train.py model=vanilla_image data=video" in note


def test_the_clip_lists_offer_the_embedded_example_the_folders_and_trained_targets(clip, tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(b"x")
    (folder / "notes.txt").write_text("x")
    run = tmp_path / "train" / "run"
    run.mkdir(parents=True)
    (run / "config_resolved.yaml").write_text(f"data:\n  kind: video\n  target_video: {clip}\n")
    values = [value for _, value in clip_choices([folder, tmp_path / "missing"], tmp_path / "train")]
    assert values == [EMBEDDED, str((folder / "a.mp4").resolve()), str(clip.resolve())]


def test_the_newest_report_of_a_target_is_found(tmp_path):
    for name, key, size in (("old", "k1", 64), ("new", "k1", 64), ("other", "k2", 64), ("big", "k1", 128)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "metrics.json").write_text(
            json.dumps({"models": {"nearest": {"target": {"key": key}, "image_size": size}}})
        )
        (folder / "report.md").write_text(f"| {name} |")
        time.sleep(0.01)
    os.utime(tmp_path / "old" / "metrics.json", (time.time() - 60, time.time() - 60))
    assert newest_report(tmp_path, "k1", 64).markdown == "| new |"
    assert newest_report(tmp_path, "k1", 128).folder == tmp_path / "big"
    assert newest_report(tmp_path, "k3") is None


# -- models ---------------------------------------------------------------------------------------------------


def test_the_page_offers_every_model_described_by_its_config(tmp_path):
    assert [value for _, value in model_choices()] == list(model_names()) and TRAINS_FROM_A_RUN
    assert {"enhancer", "warp", "nearest", "gan"} <= set(model_names())
    for label, name in model_choices():  # each says what it is in words, not only its name
        words = label.removeprefix(f"{name}: ")
        assert words != label and len(words) > 3 and words.lower() != name.lower(), label
        assert words.endswith("(no training)") == (name in UNTRAINED)
    assert [value for _, value in model_choices(learns=True)] == list(model_names(learns=True))
    for name, kind in model_kinds().items():
        assert kind.summary and model_summary(name).startswith(f"**{name}**: {kind.summary}.")
    for name in TRAINS_FROM_A_RUN:
        assert all(refined in model_summary(name) for refined in refinable_model_names())
        assert "half its size" in model_summary(name)
    settings = settings_for(tmp_path)  # configs/app.yaml's picks: one of each list
    assert settings.transfer_model in model_names() and settings.train_model in model_names(learns=True)


def cache_embedded_target(cache_dir: Path, key: str = "embedded0123456") -> str:
    """A skeleton cache record of the embedded target (only what target_key reads)."""
    from dataclasses import asdict

    from motion_transfer.pose.crop import CropParams

    folder = cache_dir / key
    folder.mkdir(parents=True)
    meta = {"key": key, "source": synthetic_target_identity(), "params": asdict(CropParams())}
    (folder / "meta.json").write_text(json.dumps(meta))
    return key


def options_of(model: str, **changed) -> dict:
    """The model options a checkpoint of `model` records, as its config sets them (with `changed`)."""
    from omegaconf import OmegaConf

    from motion_transfer.models.loading import model_config

    return {**OmegaConf.to_container(model_config(model), resolve=True), **changed}


@pytest.mark.parametrize("model", TRAINS_FROM_A_RUN)
def test_a_model_that_trains_from_another_run_refines_the_newest_one_at_half_its_size(model, tmp_path):
    settings = settings_for(tmp_path)
    options = model_kinds()[model].trains_from
    refinable = refinable_model_names()
    assert refinable and not set(refinable) & set(TRAINS_FROM_A_RUN)
    not_refinable = [name for name in model_names(learns=True) if name not in (*refinable, *TRAINS_FROM_A_RUN)]

    def refused(size: int) -> str:
        with pytest.raises(UserError) as error:
            training_overrides(settings, model, None, size, "00:00:05:00")
        assert "\n" not in str(error.value)
        return str(error.value)

    assert "pick 64 px or more" in refused(32)
    key = cache_embedded_target(settings.cache_dir)

    def run(folder: str, name: str, size: int = 32, **changed) -> Path:
        path = settings.train_dir / folder / "checkpoints" / "last.ckpt"
        return fake_checkpoint(path, name, key, size, options=options_of(name, **changed))

    run("vector", not_refinable[0])  # reads the skeleton vector, not the stick figure
    run("full-size", refinable[0], size=64)
    run("temporal", refinable[0], temporal=True)  # draws each frame from the one before too
    message = refused(64)
    assert message.startswith(f"{model} refines a run trained on the embedded example at 32 px")
    assert message.endswith(f"train {' or '.join(refinable)} on the embedded example at 32 px first.")

    older = run("older", refinable[0])
    os.utime(older.parent.parent, (time.time() - 60, time.time() - 60))
    newer = run("newer", refinable[-1])
    overrides = training_overrides(settings, model, None, 64, "00:00:05:00")
    refined = [f"model.{option}='{newer.resolve()}'" for option in options]
    assert [o for o in overrides if o.startswith("model.")] == refined
    assert {f"model={model}", "data.image_size=64", "trainer.max_time=00:00:05:00"} <= set(overrides)

    # The Train tab: the refusal is the page's one message, before anything runs.
    shutil.rmtree(settings.train_dir / "newer")
    shutil.rmtree(settings.train_dir / "older")
    (message, _), *rest = list(PageActions(settings).train(EMBEDDED, None, model, 5, "64", True))
    assert not rest and message == f"**Error:** {refused(64)}"
    assert not any(settings.jobs_dir.iterdir())


# -- jobs -------------------------------------------------------------------------------------------------------


def test_a_learned_model_without_a_run_is_explained_before_anything_runs(tmp_path):
    page = PageActions(settings_for(tmp_path))
    messages = [update[0] for update in page.transfer(EMBEDDED, None, EMBEDDED, None, "gan", None)]
    assert len(messages) == 1
    assert messages[0].startswith("**Error:** No gan run is trained on the embedded example yet")
    assert "python src/train.py model=gan data=synthetic" in messages[0]
    assert not (tmp_path / "demo").exists()
    assert not any((tmp_path / "app" / "jobs").iterdir())  # a job refused before it ran leaves no folder


def test_demo_command_lines(clip, tmp_path):
    settings = settings_for(tmp_path, "demo_overrides=['output.max_side=720']")
    embedded = demo_overrides(settings, None, None, UNTRAINED[0], None)
    assert "data=synthetic" in embedded and f"model={UNTRAINED[0]}" in embedded
    assert embedded[-1] == "output.max_side=720"
    assert not any(o.startswith("source_video") for o in embedded)
    ckpt = fake_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt", "vanilla_image", "k", size=128)
    uploaded = demo_overrides(settings, clip, clip, "vanilla_image", str(ckpt))
    assert f"data.target_video='{clip}'" in uploaded and f"source_video='{clip}'" in uploaded
    assert f"ckpt_path='{ckpt}'" in uploaded and "data.image_size=128" in uploaded
    # A real target copying the embedded source: the source rendered once into a video file.
    (source,) = [o for o in demo_overrides(settings, clip, None, UNTRAINED[0], None) if o.startswith("source_video=")]
    rendered = Path(source.split("=", 1)[1].strip("'"))
    assert rendered.parent == settings.app_dir / "examples"
    check_upload(rendered, "source", max_upload_mb=50)


@pytest.mark.slow
def test_a_demo_error_line_is_the_pages_message(tmp_path):
    """A clip where nobody is found passes the upload checks; the demo's `error:` line is shown."""
    from motion_transfer.data.synthetic import _draw_scene
    from motion_transfer.data.video import VideoWriter

    room = tmp_path / "empty room.mp4"
    writer = VideoWriter(room, 25.0, 160, 128)
    writer.write(np.repeat(_draw_scene("target", 160, 128)[None], 20, 0))
    writer.close()
    page = PageActions(settings_for(tmp_path / "outputs"))
    updates = list(page.transfer(EMBEDDED, str(room), EMBEDDED, None, UNTRAINED[0], ""))
    message, generated, side_by_side, downloads = updates[-1]
    assert message.startswith("**Error:** data.target_video: no person was found"), message
    assert "empty_room.mp4" in message and generated is None and downloads is None
    assert not page.jobs._jobs  # the finished job is no longer tracked


# -- the command line -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, words",
    [
        ("server_port=abc", ["server_port=abc", "between 1 and 65535"]),
        ("server_port=70000", ["server_port=70000"]),
        ("max_upload_mb=0", ["max_upload_mb=0", "at least"]),
        ("max_jobs=1.5", ["max_jobs=1.5"]),
        ("server_name=''", ["server_name is empty"]),
        ("transfer_model=unet", ["transfer_model=unet is not a model", *model_names()]),
        (f"train_model={UNTRAINED[0]}", [f"train_model={UNTRAINED[0]} is not a model that trains", *model_names(True)]),
    ],
)
def test_a_bad_option_is_one_error_line(tmp_path, capsys, option, words):
    from motion_transfer.cli import check_overrides
    from motion_transfer.runtime.errors import USER_ERROR_EXIT, report_user_errors

    overrides = [f"paths.output_dir={tmp_path}", option]
    check_overrides("app", overrides)
    with pytest.raises(SystemExit) as exit_info:
        report_user_errors(run_app)(compose("app", overrides))
    err = capsys.readouterr().err
    assert exit_info.value.code == USER_ERROR_EXIT and "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]
    for word in words:
        assert word in line
    assert not (tmp_path / "app" / "gradio").exists()  # refused before anything was served or written


def test_a_port_in_use_is_refused_in_one_sentence():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}.*server_port="):
            check_listening("127.0.0.1", port)


@pytest.mark.slow
def test_the_entry_point_exits_with_status_2_and_one_line(tmp_path):
    result = run_script("app", "server_port=abc", outputs=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith("error: server_port=abc")
    assert "Traceback" not in result.stderr and result.stdout == ""
    unknown = run_script("app", "server_prot=80", outputs=tmp_path, timeout=120)
    assert unknown.returncode == 2 and "'server_prot' is not an option" in unknown.stderr


def test_training_budgets_and_refusals(tmp_path):
    assert time_budget(5) == "00:00:05:00" and time_budget(90) == "00:01:30:00" and time_budget(1500) == "01:01:00:00"
    with pytest.raises(UserError, match="at least 1 minute"):
        time_budget(0.5)
    page = PageActions(settings_for(tmp_path))
    (message, _), *rest = list(page.train(EMBEDDED, None, UNTRAINED[0], 5, "64", True))
    assert not rest and message.startswith(f"**Error:** '{UNTRAINED[0]}' is not a model that trains")
    (message, *_), *rest = list(page.report(str(tmp_path / "gone.mp4"), "64", False))
    assert not rest and "no longer exists" in message
