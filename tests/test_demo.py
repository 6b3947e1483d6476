"""The demo end to end, as a user runs it: synthetic default, real clips, learned checkpoints."""

import logging
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import ROOT, STDERR_NOISE, TINY_DATA, compose, last_line, user_error
from motion_transfer.demo import run_demo


def _video_facts(path: Path) -> tuple[int, float, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return frames, float(stream.average_rate), stream.codec_context.name


@pytest.mark.slow
def test_demo_on_the_embedded_default_beside_another_run(small):
    """`python src/demo.py model=nearest` as a user runs it, while a second demo runs at the same
    time into the same outputs/: each gets its own run folder and leaves the other's files alone.
    Its stderr (a pipe here) carries no progress-bar frames."""
    demo = [sys.executable, str(ROOT / "src" / "demo.py"), f"paths.output_dir={small.outputs}"]
    default = subprocess.Popen(
        [*demo, "model=nearest"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    other = subprocess.Popen(
        [*demo, *TINY_DATA, "synthetic_source_frames=30", "output.panel_size=64"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = default.communicate(timeout=600)
    other_out, other_err = other.communicate(timeout=600)
    assert default.returncode == 0, err[-3000:]
    assert other.returncode == 0, other_err[-3000:]
    line = last_line(out)
    assert line.startswith("video: ")
    video = Path(line.split(": ", 1)[1])
    assert video.is_absolute() and video.name == "transfer.mp4" and video.parent.parent == small.outputs / "demo"
    assert _video_facts(video) == (200, 25.0, "h264")
    assert _video_facts(video.parent / "generated.mp4")[0] == 200
    assert not list(video.parent.glob(".*partial*"))
    assert not [noise for noise in STDERR_NOISE if noise in err], err[-3000:]

    other_video = Path(last_line(other_out).split(": ", 1)[1])
    assert other_video.parent != video.parent and other_video.parent.parent == video.parent.parent
    assert _video_facts(other_video)[0] == 30


@pytest.mark.real_data
def test_demo_on_the_real_clips(shared_data, real_outputs, capsys):
    cfg = compose(
        "demo",
        [
            "model=nearest",
            f"paths.output_dir={real_outputs}",
            "data=video",
            f"data.target_video={shared_data / 'taichi2.mp4'}",
            f"source_video={shared_data / 'karate1.mp4'}",
            "data.progress=false",
        ],
    )
    video = run_demo(cfg)
    assert _video_facts(video) == (192, 25.0, "h264")
    # Frames where no person was found in the source are counted and reported.
    assert "without a person: 22" in capsys.readouterr().out


@pytest.mark.parametrize("model", ["vanilla", "vanilla_image", "gan"])
def test_demo_with_a_learned_checkpoint(trained, model):
    video = run_demo(trained.small.compose("demo", f"ckpt_path={trained.ckpts[model]}", model=model))
    assert _video_facts(video)[0] == 30
    assert _video_facts(video.parent / "generated.mp4")[0] == 30


def test_demo_finds_the_newest_checkpoint_of_the_model(trained, caplog):
    with caplog.at_level(logging.INFO, logger="motion_transfer"):
        video = run_demo(trained.small.compose("demo", model="gan"))
    assert _video_facts(video)[0] == 30
    # The GAN's run: its last checkpoint (adversarial runs prefer it to the best val/l1).
    assert f"using the newest checkpoint of gan on this target: {trained.last('gan')}" in caplog.text


def test_demo_refuses_a_checkpoint_of_another_model_or_size(trained):
    gan = trained.ckpts["gan"]
    wrong_model = user_error(run_demo, trained.small.compose("demo", f"ckpt_path={gan}", model="vanilla"))
    assert "'gan' model" in wrong_model and "model=gan" in wrong_model
    wrong_size = user_error(
        run_demo, trained.small.compose("demo", f"ckpt_path={gan}", "data.image_size=64", model="gan")
    )
    assert "32 px" in wrong_size and "data.image_size=32" in wrong_size


def test_demo_says_how_to_train_when_no_checkpoint_exists(small):
    message = user_error(run_demo, small.compose("demo", model="vanilla_image"))
    assert "python src/train.py model=vanilla_image" in message and "data.image_size=32" in message


def test_the_encoder_thread_runs_jobs_in_order_and_hands_failures_back():
    from motion_transfer.data.video import BackgroundWorker

    done = []
    worker = BackgroundWorker(max_pending=1)
    for i in range(5):
        worker.submit(lambda i=i: done.append(i))
    worker.finish()
    assert done == [0, 1, 2, 3, 4]

    def fail():
        raise OSError("disk full")

    worker = BackgroundWorker()
    worker.submit(fail)
    worker.submit(lambda: done.append("after the failure"))
    with pytest.raises(OSError, match="disk full"):
        worker.finish()
    assert "after the failure" not in done


class _StubGenerator:
    """Grey images with a bright square; fails on the call numbered `fail_on` (from 0)."""

    def __init__(self, size=16, fail_on=None):
        self.size, self.fail_on, self.calls = size, fail_on, 0

    def generate_from_skeletons(self, skeletons, batch_size, plates=None):
        if self.calls == self.fail_on:
            raise RuntimeError("generator failed")
        self.calls += 1
        import torch

        images = torch.full((len(skeletons), 3, self.size, self.size), -0.5)
        images[:, :, 4:12, 4:12] = 0.8
        return images


def test_panels_are_upscaled_like_a_per_frame_bilinear_resize():
    import cv2
    import numpy as np

    from motion_transfer.demo import generate_panel_images
    from motion_transfer.pose.drawing import tensor_to_images

    model = _StubGenerator()
    skeletons = np.full((3, 13, 2), 0.5, dtype=np.float32)
    ours = generate_panel_images(model, skeletons, 2, 64)
    small = tensor_to_images(model.generate_from_skeletons(skeletons, 2))
    reference = np.stack([cv2.resize(g, (64, 64), interpolation=cv2.INTER_LINEAR) for g in small])
    assert ours.shape == (3, 64, 64, 3)
    assert np.abs(ours.astype(int) - reference.astype(int)).max() <= 2


def test_a_generator_failure_mid_video_keeps_the_frames_already_written(tmp_path):
    import numpy as np

    from motion_transfer.demo import write_transfer_videos

    n = 10
    crops = np.zeros((n, 32, 32, 3), dtype=np.uint8)
    poses = np.random.default_rng(0).uniform(0.3, 0.7, (n, 13, 2)).astype(np.float32)
    with pytest.raises(RuntimeError, match="generator failed"):
        write_transfer_videos(
            _StubGenerator(fail_on=2), crops, poses, poses, 25.0, tmp_path, batch=4, size=32, progress=False
        )
    assert _video_facts(tmp_path / "transfer.mp4")[0] == 8
    assert _video_facts(tmp_path / "generated.mp4")[0] == 8
    assert not list(tmp_path.glob(".*partial*"))


def test_colours_survive_the_h264_round_trip(tmp_path):
    """The writer converts RGB to YUV itself: a player must decode the colours that went in."""
    import numpy as np

    from motion_transfer.data.video import VideoWriter

    colours = [
        (255, 0, 0),
        (0, 255, 0),
        (0, 0, 255),
        (255, 255, 255),
        (0, 0, 0),
        (128, 128, 128),
        (200, 180, 40),
        (30, 90, 160),
    ]
    frame = np.zeros((64, 128, 3), np.uint8)
    for i, colour in enumerate(colours):
        frame[(i // 4) * 32 : (i // 4 + 1) * 32, (i % 4) * 32 : (i % 4 + 1) * 32] = colour
    writer = VideoWriter(tmp_path / "colours.mp4", 25, 128, 64)
    writer.write(np.repeat(frame[None], 3, axis=0))
    writer.close()
    with av.open(str(tmp_path / "colours.mp4")) as container:
        decoded = next(container.decode(video=0)).to_ndarray(format="rgb24")
    centres = decoded[16::32, 16::32].reshape(-1, 3).astype(int)
    assert np.abs(centres - np.array(colours)).max() <= 6


class _BrightnessGenerator:
    """Each image is a flat grey whose level is the pose's mean x: frames tell their order."""

    def generate_from_skeletons(self, skeletons, batch_size, plates=None):
        import torch

        level = torch.as_tensor(skeletons, dtype=torch.float32).mean(dim=(1, 2)) * 2 - 1
        return level[:, None, None, None].expand(-1, 3, 16, 16).clone()


@pytest.mark.parametrize("show", [False, True])
def test_panels_drawn_on_the_worker_keep_the_frames_in_order(tmp_path, show, monkeypatch):
    import numpy as np

    from motion_transfer import demo
    from motion_transfer.demo import write_transfer_videos

    shown = []
    monkeypatch.setattr(demo, "show_frames", lambda panels: shown.extend(panels[:, 0, -1, 0]))  # no window in tests

    n = 10
    levels = np.linspace(0.1, 0.9, n, dtype=np.float32)
    poses = np.repeat(levels[:, None, None], 13, axis=1).repeat(2, axis=2)
    crops = np.zeros((n, 32, 32, 3), dtype=np.uint8)
    write_transfer_videos(
        _BrightnessGenerator(), crops, poses, poses, 25.0, tmp_path, batch=3, size=32, progress=False, show=show
    )
    with av.open(str(tmp_path / "generated.mp4")) as container:
        decoded = np.array([f.to_ndarray(format="rgb24").mean() for f in container.decode(video=0)])
    assert len(decoded) == n
    assert np.abs(decoded - levels * 255).max() < 6
    if show:  # the window got the same frames, in order
        assert np.abs(np.array(shown, dtype=float) - levels * 255).max() < 2


def test_show_without_a_display_writes_the_videos_and_says_so(small, monkeypatch, caplog):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    with caplog.at_level(logging.WARNING, logger="motion_transfer"):
        video = run_demo(small.compose("demo", "show=true", model="nearest"))
    assert "no display" in caplog.text
    assert _video_facts(video)[0] == 30


def _timing(path: Path) -> tuple[float, list[float]]:
    """The duration a player shows (the container's, in seconds) and the frames' start times."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = sorted(float(frame.pts * stream.time_base) for frame in container.decode(stream))
        return container.duration / 1e6, times


@pytest.mark.real_data
def test_a_source_with_a_variable_frame_rate_keeps_its_duration(shared_data, small, tmp_path):
    """50 frames of karate1 filmed as a phone does when the light drops: 25 at 25 fps, then 25 at
    about 8 fps. Both videos last as long as players show the source (frames evenly spread over it)."""
    from fractions import Fraction
    from itertools import islice

    from motion_transfer.data.video import iter_frames

    source = tmp_path / "vfr.mp4"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 480, 360, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for i, frame in enumerate(islice(iter_frames(shared_data / "karate1.mp4"), 50)):
            picture = av.VideoFrame.from_ndarray(frame[::2, ::2].copy(), format="rgb24")
            picture.pts, picture.time_base = pts, Fraction(1, 1000)
            pts += 40 if i < 25 else 120
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    source_seconds, times = _timing(source)
    steps = np.diff(times)
    assert steps.max() > 2.5 * steps.min() and source_seconds > 3.5  # really a variable rate
    run_demo(small.compose("demo", f"source_video={source}", model="nearest"))
    (run,) = small.outputs.glob("demo/*")
    for name in ("generated.mp4", "transfer.mp4"):
        assert _video_facts(run / name)[0] == 50
        assert abs(_timing(run / name)[0] - source_seconds) < 0.05, name
