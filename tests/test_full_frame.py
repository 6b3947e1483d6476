"""Full-frame demo output: the target pasted into her own scene, or crop output when no plate fits it."""

import logging

import av
import cv2
import numpy as np
import pytest

from conftest import compose
from motion_transfer.demo import run_demo


def _size_and_count(path) -> tuple[tuple[int, int], int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return (stream.codec_context.width, stream.codec_context.height), sum(1 for _ in container.decode(stream))


def _demo(outputs, *overrides):
    return run_demo(
        compose("demo", ["model=nearest", f"paths.output_dir={outputs}", "data.progress=false", *overrides])
    )


def test_the_embedded_default_gives_full_frames_of_the_targets_scene(small):
    video = run_demo(small.compose("demo", "synthetic_source_frames=24", model="nearest"))
    (width, height), frames = _size_and_count(video.parent / "generated.mp4")
    cache_size = tuple(small.datamodule().cache.meta["frame_size"])
    assert (width, height) == cache_size and frames == 24
    # transfer.mp4: the source's frame and the result side by side at the result's height.
    (t_width, t_height), t_frames = _size_and_count(video)
    assert t_height == height and t_width > width and t_frames == 24


def test_output_max_side_caps_the_full_frame_size(small):
    video = run_demo(small.compose("demo", "synthetic_source_frames=8", "output.max_side=160", model="nearest"))
    (width, height), _ = _size_and_count(video.parent / "generated.mp4")
    assert max(width, height) <= 160 and width % 2 == 0 and height % 2 == 0


@pytest.mark.real_data
def test_a_target_filmed_by_a_moving_camera_is_drawn_into_its_registered_scene(shared_data, real_outputs, caplog):
    """taichi2's camera pans and zooms after a few seconds: its frames are registered onto one
    scene, and the demo writes full frames of it, without a warning."""
    caplog.set_level(logging.WARNING)
    video = _demo(
        real_outputs,
        "data=video",
        f"data.target_video={shared_data / 'taichi2.mp4'}",
        f"source_video={shared_data / 'karate1.mp4'}",
    )
    assert not [r.getMessage() for r in caplog.records if "camera" in r.getMessage()]
    assert _size_and_count(video.parent / "generated.mp4") == ((960, 720), 192)


def test_a_camera_that_cannot_be_registered_gets_one_warning_and_crop_output(small, caplog):
    """When neither one plate nor a registered scene fits the target's frames, the demo says so
    once and writes the square crops side by side."""
    import json

    datamodule = small.datamodule()
    meta_file = datamodule.cache.path / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta["plate"].update(static_camera=False, camera="moving", fits=False, residual=14.0)
    meta_file.write_text(json.dumps(meta))
    caplog.set_level(logging.WARNING)
    video = run_demo(small.compose("demo", "synthetic_source_frames=8", model="nearest"))
    warnings = [r.getMessage() for r in caplog.records if "camera" in r.getMessage()]
    assert len(warnings) == 1 and "crop output" in warnings[0]
    assert _size_and_count(video)[0] == (3 * 64, 64)  # the crop panels at panel_size
    assert not (video.parent / "generated.mp4").exists() or _size_and_count(video.parent / "generated.mp4")[0] == (
        64,
        64,
    )


@pytest.mark.real_data
def test_a_users_plate_gives_full_frames_at_the_targets_resolution(shared_data, real_outputs, tmp_path):
    """data.background: the user's own plate (here taichi2's estimated one) turns full-frame output on."""
    from motion_transfer.data.cache import load_or_build_video_cache
    from motion_transfer.pose.crop import CropParams

    cache = load_or_build_video_cache(shared_data / "taichi2.mp4", real_outputs / "cache", CropParams(), progress=False)
    plate = tmp_path / "plate.png"
    cv2.imwrite(str(plate), cv2.cvtColor(np.asarray(cache.plate), cv2.COLOR_RGB2BGR))
    video = _demo(
        real_outputs,
        "data=video",
        f"data.target_video={shared_data / 'taichi2.mp4'}",
        f"source_video={shared_data / 'karate1.mp4'}",
        f"data.background={plate}",
    )
    assert _size_and_count(video.parent / "generated.mp4") == ((960, 720), 192)
    # transfer.mp4, output.panel_height=360 high: karate1 (640x360) beside the result at half size
    assert _size_and_count(video) == ((640 + 480, 360), 192)


def test_evaluation_scores_full_frames_boxes_and_masks(small):
    """Each held-out frame pasted at its own box: figures for the frame, the box (beside the crop
    output in the same region), the person's mask; nearest's retrieved masks overlap the real ones."""
    from motion_transfer.evaluation.evaluate import evaluate_generator
    from motion_transfer.models import NearestNeighbourGenerator

    datamodule = small.datamodule()
    result, _ = evaluate_generator(
        NearestNeighbourGenerator.indexed_on(datamodule), datamodule, {"enabled": False}, with_floors=False
    )
    figures = result["full_frame"]
    assert set(figures) == {"full_frame", "box", "box_crop_output", "person_mask"}
    for region in ("full_frame", "box", "box_crop_output"):
        assert 0 < figures[region]["ssim"] <= 1 and figures[region]["psnr"] > 10
    # The room around the person is the plate itself: the whole frame scores above its box.
    assert figures["full_frame"]["ssim"] > figures["box"]["ssim"]
    assert 0.3 < figures["person_mask"]["mask_iou"] <= 1
