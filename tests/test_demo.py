"""The demo end to end, as a user runs it: synthetic default, real clips, learned checkpoints."""

from pathlib import Path

import av
import pytest

from conftest import compose, last_line, run_script
from motion_transfer.training import run_training

SMALL = ["data.synthetic_frames=80", "data.image_size=32", "data.crop.crop_size=64", "synthetic_source_frames=30", "panel_size=64"]


def _video_facts(path: Path) -> tuple[int, float, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return frames, float(stream.average_rate), stream.codec_context.name


def test_demo_on_the_embedded_default(session_outputs):
    result = run_script("demo", "model=nearest", outputs=session_outputs)
    assert result.returncode == 0, result.stderr[-3000:]
    line = last_line(result.stdout)
    assert line.startswith("video: ")
    video = Path(line.split(": ", 1)[1])
    assert video.is_absolute() and video.name == "transfer.mp4"
    frames, fps, codec = _video_facts(video)
    assert (frames, fps, codec) == (200, 25.0, "h264")
    assert _video_facts(video.parent / "generated.mp4")[0] == 200
    assert not list(video.parent.glob(".*partial*"))


@pytest.mark.real_data
def test_demo_on_the_real_clips(shared_data, session_outputs):
    result = run_script("demo", "model=nearest", "data=video", f"data.target_video={shared_data / 'taichi2.mp4'}",
                        f"source_video={shared_data / 'karate1.mp4'}", outputs=session_outputs, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    video = Path(last_line(result.stdout).split(": ", 1)[1])
    frames, fps, codec = _video_facts(video)
    assert (frames, fps, codec) == (192, 25.0, "h264")
    # Frames where no person was found in the source are counted and reported.
    assert "without a person: 22" in result.stdout


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A quick checkpoint of each learned model on the small synthetic clip."""
    outputs = tmp_path_factory.mktemp("outputs")
    ckpts = {}
    for model in ("vanilla", "vanilla_image", "gan"):
        extra = ["model.d_base_filters=8"] if model == "gan" else []
        cfg = compose("train", [f"model={model}", f"paths.output_dir={outputs}", "model.base_filters=8", "trainer.max_epochs=1", "logger=none",
                                "data.progress=false", "trainer.enable_progress_bar=false", *[o for o in SMALL if o.startswith("data.")], *extra],
                      outputs / "train" / model)
        ckpts[model] = run_training(cfg)
    return outputs, ckpts


@pytest.mark.parametrize("model", ["vanilla", "vanilla_image", "gan"])
def test_demo_with_a_learned_checkpoint(trained, model):
    outputs, ckpts = trained
    result = run_script("demo", f"model={model}", f"ckpt_path={ckpts[model]}", *SMALL, outputs=outputs)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _video_facts(Path(last_line(result.stdout).split(": ", 1)[1]))[0] == 30


def test_demo_finds_the_newest_checkpoint_of_the_model(trained):
    outputs, ckpts = trained
    result = run_script("demo", "model=gan", *SMALL, outputs=outputs)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gan" in result.stderr and str(ckpts["gan"].parent.parent.name) in result.stderr


def test_demo_refuses_a_checkpoint_of_another_model_or_size(trained, tmp_path):
    outputs, ckpts = trained
    wrong_model = run_script("demo", "model=vanilla", f"ckpt_path={ckpts['gan']}", *SMALL, outputs=outputs)
    assert wrong_model.returncode == 2 and "'gan' model" in wrong_model.stderr and "Traceback" not in wrong_model.stderr
    wrong_size = run_script("demo", "model=gan", f"ckpt_path={ckpts['gan']}", *SMALL, "data.image_size=64", outputs=outputs)
    assert wrong_size.returncode == 2 and "32 px" in wrong_size.stderr


def test_demo_says_how_to_train_when_no_checkpoint_exists(tmp_path):
    result = run_script("demo", "model=vanilla_image", *SMALL, outputs=tmp_path)
    assert result.returncode == 2
    assert "python src/train.py model=vanilla_image" in result.stderr and "Traceback" not in result.stderr
