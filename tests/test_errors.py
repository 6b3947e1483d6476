"""Every user mistake gets one sentence that names the option or file, status 2, no traceback and
nothing half-written (run in this process as the entry points run their task; test_entry_points
runs the processes themselves)."""

import numpy as np
import pytest
import torch

from conftest import TINY_DATA, entry_point_error
from motion_transfer.cli import quote_plain_values
from motion_transfer.data.video import VideoWriter, iter_frames


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad inputs")
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.mp4").write_text("not a video\n" * 100)
    return {"missing": d / "missing.mp4", "folder": d, "empty": d / "empty.mp4", "text": d / "notes.mp4"}


def _real_bad_file(kind, shared_data, folder):
    if kind == "image":
        return shared_data / "test.jpg"
    data = (shared_data / "karate1.mp4").read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])
    return folder / "truncated.mp4"


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "folder",
        "empty",
        "text",
        pytest.param("truncated", marks=pytest.mark.real_data),
        pytest.param("image", marks=pytest.mark.real_data),
    ],
)
def test_bad_videos_through_preprocess(bad_files, kind, tmp_path, capsys, request):
    video = bad_files.get(kind) or _real_bad_file(kind, request.getfixturevalue("shared_data"), tmp_path)
    message = entry_point_error("preprocess", [f"paths.output_dir={tmp_path}", f"video={video}"], capsys)
    assert "video" in message and video.name in message
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").glob("[!.]*"))


@pytest.mark.parametrize("script", ["train", "evaluate", "demo"])
def test_bad_target_video_through_every_entry_point(bad_files, script, tmp_path, capsys):
    extra = ["source_video=x.mp4"] if script == "demo" else []
    overrides = [f"paths.output_dir={tmp_path}", "data=video", f"data.target_video={bad_files['text']}", *extra]
    message = entry_point_error(script, overrides, capsys)
    assert "data.target_video" in message and "notes.mp4" in message


def test_bad_source_video_in_the_demo(bad_files, tmp_path, capsys):
    overrides = [f"paths.output_dir={tmp_path}", *TINY_DATA, f"source_video={bad_files['folder']}"]
    message = entry_point_error("demo", overrides, capsys)
    assert "source_video" in message and "folder" in message


def test_data_video_without_a_target(tmp_path, capsys):
    assert "data.target_video" in entry_point_error("train", [f"paths.output_dir={tmp_path}", "data=video"], capsys)


@pytest.mark.real_data
def test_data_video_without_a_source(shared_data, real_outputs, capsys):
    overrides = [f"paths.output_dir={real_outputs}", "data=video", f"data.target_video={shared_data / 'karate1.mp4'}"]
    assert "source_video" in entry_point_error("demo", overrides, capsys)


def _write_video(path, frames, fps=25):
    writer = VideoWriter(path, fps, frames.shape[2], frames.shape[1])
    writer.write(frames)
    writer.close()


def test_a_video_without_any_person(tmp_path, capsys):
    from motion_transfer.data.synthetic import _draw_scene

    scene = _draw_scene("target", 320, 256)
    _write_video(tmp_path / "empty room.mp4", np.repeat(scene[None], 20, 0))
    overrides = [f"paths.output_dir={tmp_path}", f"video={tmp_path / 'empty room.mp4'}", "data.progress=false"]
    message = entry_point_error("preprocess", overrides, capsys)
    assert "no person" in message and "empty room.mp4" in message
    assert not any((tmp_path / "cache").glob("[!.]*"))


@pytest.mark.real_data
def test_a_target_too_short_for_the_split(tmp_path, shared_data, capsys):
    frames = np.stack([f for _, f in zip(range(20), iter_frames(shared_data / "karate1.mp4"))])
    _write_video(tmp_path / "short.mp4", frames)
    overrides = [f"paths.output_dir={tmp_path}", "data=video", f"data.target_video={tmp_path / 'short.mp4'}"]
    message = entry_point_error("train", [*overrides, "data.progress=false"], capsys)
    assert "too few" in message and "data.val_fraction" in message


def test_paths_with_spaces_and_non_ascii_letters_reach_hydra_as_typed():
    """The shell hands `video=my clips/danse été.mp4` over without its quotes: the entry points
    quote such values for Hydra's grammar (test_faults runs preprocess on such a path)."""
    argv = ["video=/tmp/mes vidéos/karaté 1.mp4", "model=gan", "models=[a,b]", "x='already quoted'", "name=it's"]
    assert quote_plain_values(argv) == [
        "video='/tmp/mes vidéos/karaté 1.mp4'",
        "model=gan",
        "models=[a,b]",
        "x='already quoted'",
        "name=it's",
    ]
    assert quote_plain_values(["name=l'été"]) == ["name='l\\'été'"]


@pytest.mark.parametrize(
    "script, override, words",
    [
        ("train", "model=bogus", ["model=bogus", "nearest"]),
        ("train", "data.image_size=100", ["data.image_size=100"]),
        ("train", "data.batch_size=0", ["data.batch_size"]),
        ("train", "data.bogus_key=3", ["data.bogus_key"]),
        ("train", "trainer=tpu", ["trainer=tpu", "ddp"]),
        ("train", "model.generator=transformer", ["model.generator", "resnet"]),
        ("train", "data.jitter=0.5", ["data.jitter"]),
        ("train", "model.discriminator=huge", ["model.discriminator", "patch"]),
        ("demo", "normalize=sideways", ["normalize"]),
        ("demo", "output.video_preset=instant", ["output.video_preset=", "ultrafast"]),
        ("demo", "smoothing.window=0", ["smoothing.window"]),
        ("evaluate", "models=[nearest]", ["models", "+models"]),
    ],
)
def test_bad_config_values(script, override, words, tmp_path, capsys):
    model = {"model.generator": "model=vanilla", "model.discriminator": "model=gan"}.get(override.split("=")[0])
    overrides = [f"paths.output_dir={tmp_path}", *TINY_DATA, *([model] if model else []), override]
    message = entry_point_error(script, overrides, capsys)
    assert all(word in message for word in words), message


@pytest.mark.parametrize("kind", ["missing", "folder", "truncated", "foreign", "text"])
def test_bad_checkpoints(kind, tmp_path, capsys):
    ckpt = tmp_path / f"{kind}.ckpt"
    if kind == "folder":
        ckpt.mkdir()
    elif kind == "truncated":
        torch.save({"state_dict": {"w": torch.zeros(1000)}, "motion_transfer": {"model": "gan"}}, ckpt)
        ckpt.write_bytes(ckpt.read_bytes()[:300])
    elif kind == "foreign":
        torch.save({"weights": torch.zeros(3)}, ckpt)
    elif kind == "text":
        ckpt.write_text("hello")
    for script in ("demo", "evaluate", "train", "export"):
        overrides = [f"paths.output_dir={tmp_path}", *TINY_DATA, "model=gan", f"ckpt_path={ckpt}"]
        message = entry_point_error(script, overrides, capsys)
        assert "ckpt_path" in message and ckpt.name in message, (script, message)
