"""Live mode: every frame of a file goes through, causally, in ONNX Runtime as in PyTorch, and a
stop by Ctrl-C or SIGTERM keeps a playable video."""

import json
import signal
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import TINY_DATA, compose, last_line, run_script, start_script, wait_for
from motion_transfer.data.synthetic import render_clip
from motion_transfer.data.video import VideoWriter
from motion_transfer.live.generator import LiveGenerator
from motion_transfer.live.mapping import LivePoseMapper
from motion_transfer.live.run import run_live
from motion_transfer.render.paste import Floor

ONE_EURO = {"method": "one_euro", "min_cutoff": 4.0, "beta": 5.0}


def _frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _standing_floor() -> Floor:
    """The synthetic target's floor in a 320x256 frame, from its own rendered landmarks."""
    from motion_transfer.pose.crop import CropParams, crop_boxes
    from motion_transfer.pose.skeleton import reduce_landmarks

    _, landmarks = render_clip("target", 60, 1)
    boxes = crop_boxes(landmarks, np.ones(len(landmarks), bool), 25.0, CropParams())
    return Floor.of_target(reduce_landmarks(landmarks)[..., :2], boxes, (320, 256))


def test_pose_mapper_is_causal_holds_the_last_pose_and_stays_in_the_frame():
    floor = _standing_floor()
    _, source = render_clip("source", 40, 2)
    other = source.copy()
    other[20:, :, :2] += 40.0  # the future differs from frame 20 on

    def mapped(landmarks):
        mapper = LivePoseMapper(floor, 25.0, ONE_EURO)
        assert mapper(None, 256) is None  # no person yet: nothing to draw
        return [mapper(lm, 256) for lm in landmarks] + [mapper(None, 256)]

    first, second = mapped(source), mapped(other)
    for a, b in zip(first[:20], second[:20]):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(first[30][1], second[30][1])
    # A frame without a person holds the last pose and box.
    np.testing.assert_array_equal(first[-1][0], first[-2][0])
    for skeleton, box in first:
        assert np.isfinite(skeleton).all() and 0.0 <= skeleton.min() and skeleton.max() <= 1.0
        assert box[2] > 0 and box[2] / 2 <= box[0] <= 320 - box[2] / 2 and box[2] / 2 <= box[1] <= 256 - box[2] / 2


def test_pose_mapper_refuses_a_smoothing_that_looks_ahead():
    from motion_transfer.runtime.errors import UserError

    with pytest.raises(UserError, match="smoothing=one_euro"):
        LivePoseMapper(_standing_floor(), 25.0, {"method": "median", "window": 5})


def test_onnx_runtime_draws_what_pytorch_draws(trained, tmp_path):
    from motion_transfer.models.checkpoints import load_generator

    model = load_generator(trained.ckpts["vanilla_image"], "vanilla_image", 32)[0]
    skeleton = np.asarray(render_clip("source", 1, 3)[1][0, :, :2], np.float32)
    from motion_transfer.pose.skeleton import reduce_landmarks

    skeleton = reduce_landmarks(skeleton[None])[0] / 256.0 * np.array([0.8, 1.0], np.float32)
    placement = np.array([0.1, -0.2, 0.5], np.float32)
    onnx_person, onnx_alpha = LiveGenerator(model, "onnx", tmp_path)(skeleton, placement)
    torch_person, torch_alpha = LiveGenerator(model, "torch", tmp_path)(skeleton, placement)
    assert (tmp_path / "generator.onnx").is_file()
    assert onnx_person.shape == torch_person.shape == (32, 32, 3) and onnx_alpha.shape == (32, 32)
    assert np.abs(onnx_person.astype(int) - torch_person.astype(int)).max() <= 2
    assert np.abs(onnx_alpha - torch_alpha).max() < 0.01


@pytest.mark.slow
def test_a_file_source_goes_through_whole_at_its_own_rate(trained, tmp_path):
    """A video file as the camera: every frame comes out, full frame at the target's size, and the
    rate never beats the file's own (it is read as a camera would deliver it)."""
    frames, _ = render_clip("source", 30, 5)
    source = tmp_path / "source.mp4"
    writer = VideoWriter(source, 25, frames.shape[2], frames.shape[1])
    writer.write(frames)
    writer.close()
    cfg = compose(
        "live",
        [
            f"paths.output_dir={trained.outputs}",
            *TINY_DATA,
            "model=vanilla_image",
            f"source={source}",
            "show=false",
        ],
        output_dir=tmp_path / "run",
    )
    video = run_live(cfg)
    assert video == tmp_path / "run" / "live.mp4"
    assert _frames(video) == 30
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (320, 256)
    summary = json.loads((tmp_path / "run" / "live.json").read_text())
    assert summary["frames"] == 30 and summary["dropped"] == 0
    # Read at 25 fps as a camera delivers it: the last frame came 29 / 25 s after the first, and the
    # output keeps the camera's pace (not the pipeline's ceiling; the margin is the first frame's start-up).
    assert summary["seconds"] >= 29 / 25 and 25 / 1.25 <= summary["fps"] <= 25 * 1.25
    assert 0 < summary["latency_ms_median"] <= summary["latency_ms_p95"]


@pytest.mark.slow
def test_live_entry_point_prints_fps_then_video(tmp_path):
    result = run_script(
        "live", *TINY_DATA, "synthetic_source_frames=20", "pace=false", "show=false", outputs=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[-2].startswith("fps: ")
    video = last_line(result.stdout)
    assert video.startswith("video: ")
    path = Path(video.split(": ", 1)[1])
    assert _frames(path) == 20
    summary = json.loads((path.parent / "live.json").read_text())  # the printed rate is the measured one
    assert summary["frames"] == 20 and float(lines[-2].split()[1]) == pytest.approx(summary["fps"], abs=0.051)


@pytest.mark.slow
@pytest.mark.parametrize(
    "override, said",
    [
        ("source=/nonexistent/clip.mp4", "source: '/nonexistent/clip.mp4' does not exist"),
        ("source=9", "no camera could be opened at index 9"),
        ("smoothing=median", "live mode cannot look ahead"),
        ("runtime=tpu", "runtime='tpu' is not known"),
        ("max_frames=-1", "max_frames=-1 must be 0"),
    ],
)
def test_bad_live_options_get_one_line(tmp_path, override, said):
    result = run_script("live", *TINY_DATA, override, outputs=tmp_path, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and said in errors[0], result.stderr[-2000:]
    assert not list(tmp_path.glob("live/*/live.mp4")) and not list(tmp_path.glob("live/*/.*partial*"))


@pytest.mark.slow
@pytest.mark.parametrize("stop, status", [(signal.SIGINT, 0), (signal.SIGTERM, 143)])
def test_stopping_live_mode_keeps_a_playable_video(tmp_path, stop, status):
    """Ctrl-C is how a camera session ends: the video of the frames so far, then `fps:` and
    `video:`; SIGTERM keeps the video too and ends the run as terminated (143)."""
    proc = start_script("live", *TINY_DATA, "synthetic_source_frames=2000", "show=false", outputs=tmp_path)
    partial = lambda: list(tmp_path.glob("live/*/.live.partial.mp4"))  # noqa: E731
    assert wait_for(lambda: bool(partial()) and partial()[0].stat().st_size > 2000, 300), "live never wrote"
    proc.send_signal(stop)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err[-2000:]
    assert "Traceback" not in err
    (run,) = tmp_path.glob("live/*")
    assert not list(run.glob(".*partial*"))
    assert 0 < _frames(run / "live.mp4") < 2000
    if status == 0:
        assert last_line(out) == f"video: {run / 'live.mp4'}"
