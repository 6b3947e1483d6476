"""Every user mistake gets one sentence on stderr, exit status 2, no traceback, nothing half-written."""

import shutil
import subprocess

import numpy as np
import pytest
import torch

from conftest import ROOT, last_line, run_script
from motion_transfer.errors import USER_ERROR_EXIT
from motion_transfer.video import VideoWriter, iter_frames


def assert_user_error(result, *words):
    assert result.returncode == USER_ERROR_EXIT, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(message) == 1, result.stderr[-2000:]
    for word in words:
        assert word in message[0], message[0]
    return message[0]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, shared_data):
    d = tmp_path_factory.mktemp("bad inputs")
    files = {"missing": d / "missing.mp4", "folder": d}
    (d / "empty.mp4").write_bytes(b"")
    files["empty"] = d / "empty.mp4"
    (d / "notes.mp4").write_text("not a video\n" * 100)
    files["text"] = d / "notes.mp4"
    data = (shared_data / "karate1.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    files["truncated"] = d / "truncated.mp4"
    files["image"] = shared_data / "test.jpg"
    return files


@pytest.mark.real_data
@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "text", "truncated", "image"])
def test_bad_videos_through_preprocess(bad_files, kind, tmp_path):
    result = run_script("preprocess", f"video={bad_files[kind]}", outputs=tmp_path)
    assert_user_error(result, "video")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").glob("[!.]*"))


@pytest.mark.real_data
@pytest.mark.parametrize("script, option", [("train", "data.target_video"), ("evaluate", "data.target_video"), ("demo", "data.target_video")])
def test_bad_target_video_through_every_entry_point(bad_files, script, option, tmp_path):
    extra = ["source_video=x.mp4"] if script == "demo" else []
    result = run_script(script, "data=video", f"{option}={bad_files['text']}", *extra, outputs=tmp_path)
    assert_user_error(result, option, "notes.mp4")


@pytest.mark.real_data
def test_bad_source_video_in_the_demo(bad_files, tmp_path):
    result = run_script("demo", f"source_video={bad_files['folder']}", *["data.synthetic_frames=80", "data.image_size=32"], outputs=tmp_path)
    assert_user_error(result, "source_video", "folder")


@pytest.mark.real_data
def test_data_video_without_target_or_source(tmp_path, shared_data):
    assert_user_error(run_script("train", "data=video", outputs=tmp_path), "data.target_video")
    result = run_script("demo", "data=video", f"data.target_video={shared_data / 'karate1.mp4'}", outputs=tmp_path)
    assert_user_error(result, "source_video")


def _write_video(path, frames, fps=25):
    writer = VideoWriter(path, fps, frames.shape[2], frames.shape[1])
    writer.write(frames)
    writer.close()


@pytest.mark.real_data
def test_a_video_without_any_person(tmp_path):
    from motion_transfer.synthetic import _draw_scene

    scene = _draw_scene("target", 320, 256)
    _write_video(tmp_path / "empty room.mp4", np.repeat(scene[None], 20, 0))
    result = run_script("preprocess", f"video={tmp_path / 'empty room.mp4'}", outputs=tmp_path)
    assert_user_error(result, "no person", "empty room.mp4")
    assert not any((tmp_path / "cache").glob("[!.]*"))


@pytest.mark.real_data
def test_a_target_too_short_for_the_split(tmp_path, shared_data):
    frames = np.stack([f for _, f in zip(range(20), iter_frames(shared_data / "karate1.mp4"))])
    _write_video(tmp_path / "short.mp4", frames)
    result = run_script("train", "data=video", f"data.target_video={tmp_path / 'short.mp4'}", outputs=tmp_path)
    assert_user_error(result, "too few", "data.val_fraction")


@pytest.mark.real_data
def test_paths_with_spaces_and_non_ascii_simply_work(tmp_path, shared_data):
    folder = tmp_path / "mes vidéos de danse"
    folder.mkdir()
    video = folder / "karaté 1.mp4"
    shutil.copy(shared_data / "karate1.mp4", video)
    result = run_script("preprocess", f"video={video}", outputs=tmp_path / "sortie é", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert last_line(result.stdout).startswith("cache: ")


@pytest.mark.parametrize("override, words", [
    ("model=bogus", ["model=bogus", "nearest"]),
    ("data.image_size=100", ["data.image_size=100"]),
    ("data.batch_size=0", ["data.batch_size"]),
    ("data.bogus_key=3", ["data.bogus_key"]),
    ("trainer=tpu", ["trainer=tpu", "ddp"]),
    ("model.generator=resnet", ["model.generator", "mlp"]),
    ("normalize=sideways", ["normalize"]),
    ("video_preset=instant", ["video_preset=", "ultrafast"]),
])
def test_bad_config_values(override, words, tmp_path):
    script = "demo" if override.startswith(("normalize", "video_preset")) else "train"
    model = [] if override.startswith("model") else ["model=nearest"]
    if override.startswith("model.generator"):
        model = ["model=vanilla"]
    result = run_script(script, *model, override, "data.synthetic_frames=80", outputs=tmp_path)
    assert_user_error(result, *words)


def test_the_debug_switch_shows_the_traceback(tmp_path):
    result = run_script("train", "data.batch_size=0", outputs=tmp_path, env={"MOTION_TRANSFER_DEBUG": "1"})
    assert result.returncode != 0 and "Traceback" in result.stderr


@pytest.mark.parametrize("kind", ["missing", "truncated", "foreign", "text"])
def test_bad_checkpoints(kind, tmp_path):
    ckpt = tmp_path / f"{kind}.ckpt"
    if kind == "truncated":
        torch.save({"state_dict": {"w": torch.zeros(1000)}, "motion_transfer": {"model": "gan"}}, ckpt)
        ckpt.write_bytes(ckpt.read_bytes()[:300])
    elif kind == "foreign":
        torch.save({"weights": torch.zeros(3)}, ckpt)
    elif kind == "text":
        ckpt.write_text("hello")
    for script in ("demo", "evaluate", "train"):
        result = run_script(script, "model=gan", f"ckpt_path={ckpt}", "data.synthetic_frames=80", "data.image_size=32", outputs=tmp_path)
        assert_user_error(result, "ckpt_path", ckpt.name)


def test_makefile_targets_pass_the_exit_status_on(tmp_path):
    result = subprocess.run(["make", "-s", "demo", "ARGS=model=bogus"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and "error: model=bogus" in result.stderr
