"""The training-free warp generator (model=warp): real pixels of the target moved to the asked pose at the
output's own resolution, wherever a generator is used."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import TINY_DATA, compose, video_size_and_count, write_video
from motion_transfer.data.synthetic import render_clip


def test_the_warp_bends_stored_frames_at_the_size_asked(small):
    from motion_transfer.models.loading import prepare_data_and_model

    cfg = small.compose("demo", "model=warp")
    datamodule, model = prepare_data_and_model(cfg)
    assert model.draws_native and not model.learns and model.store is not None
    val = datamodule.val_set
    skeletons = np.asarray(datamodule.cache.skeletons)[val.indices.numpy()[:3]]
    layers = model.native_layers(skeletons, [97, 160, 45])
    assert [p.shape for p, _ in layers] == [(97, 97, 3), (160, 160, 3), (45, 45, 3)]
    assert all(a.shape == p.shape[:2] and a.dtype == np.float32 and 0 <= a.min() <= a.max() <= 1 for p, a in layers)
    assert all(a.mean() > 0.05 for _, a in layers)  # a person is drawn, not an empty square


def test_a_pose_far_outside_the_clip_gives_a_whole_unstretched_person(small):
    from motion_transfer.models.loading import prepare_data_and_model

    datamodule, model = prepare_data_and_model(small.compose("demo", "model=warp"))
    usual = np.asarray(datamodule.cache.skeletons)[datamodule.val_set.indices.numpy()[:1]]
    spread = usual.copy()
    centre = spread[0].mean(axis=0)
    spread[0, 3:7] = centre + (spread[0, 3:7] - centre) * 2.5  # elbows and wrists flung far out
    (person, alpha), (_, usual_alpha) = model.native_layers(np.concatenate([spread, usual]), [128, 128])
    assert np.isfinite(alpha).all() and person.dtype == np.uint8
    # Whole: about as much person as a usual pose; unstretched: not a smear over the square.
    assert 0.5 * usual_alpha.sum() < alpha.sum() < 2.0 * usual_alpha.sum()


def test_the_warp_demo_writes_the_full_frame_at_the_clips_size(small):
    from motion_transfer.demo import run_demo

    video = run_demo(small.compose("demo", "synthetic_source_frames=12", "model=warp"))
    assert video_size_and_count(video.parent / "generated.mp4") == ((320, 256), 12)


@pytest.mark.slow
def test_a_1080p_target_gives_1080p_output(tmp_path):
    from motion_transfer.demo import run_demo

    target = write_video(tmp_path / "wide.mp4", render_clip("target", 60, 0, width=1920, height=1080)[0])
    source = write_video(tmp_path / "source.mp4", render_clip("source", 10, 1)[0])
    cfg = compose(
        "demo",
        [
            f"paths.output_dir={tmp_path / 'out'}",
            "model=warp",
            "data=video",
            f"data.target_video={target}",
            f"source_video={source}",
            "data.progress=false",
            "data.gap_s=0.2",
        ],
    )
    video = run_demo(cfg)
    assert video_size_and_count(video.parent / "generated.mp4") == ((1920, 1080), 10)


@pytest.mark.slow
def test_live_mode_with_the_warp_writes_every_frame_of_a_file(tmp_path):
    from motion_transfer.live.run import run_live

    source = write_video(tmp_path / "source.mp4", render_clip("source", 20, 5)[0])
    cfg = compose(
        "live",
        [f"paths.output_dir={tmp_path}", *TINY_DATA, "model=warp", f"source={source}", "show=false", "pace=false"],
        output_dir=tmp_path / "run",
    )
    video = run_live(cfg)
    assert video_size_and_count(video) == ((320, 256), 20)
    assert json.loads((tmp_path / "run" / "live.json").read_text())["frames"] == 20


def test_frames_turned_the_other_way_are_not_retrieved(small):
    """A back view and a front view can share a 2-D skeleton: with the asked body's facing known, the
    frames turned away from it are left out of the search, however near their skeletons."""
    from motion_transfer.models.loading import prepare_data_and_model

    datamodule, model = prepare_data_and_model(small.compose("demo", "model=warp"))
    frame = int(datamodule.val_set.indices[0])
    asked = np.asarray(datamodule.cache.skeletons)[[frame]]
    rows, _ = model.choose_rows(asked)
    best = int(model.index_frames[rows[0]])
    turned = np.zeros(len(model.frame_skeletons))
    turned[best] = np.pi  # the nearest frame shows her back
    model.frame_facings = turned
    model.reset_sequence()
    rows, _ = model.choose_rows(asked, np.array([0.1]))
    assert int(model.index_frames[rows[0]]) != best
    model.reset_sequence()
    rows, _ = model.choose_rows(asked, np.array([np.pi - 0.1]))  # asked from behind: only that frame is near
    assert int(model.index_frames[rows[0]]) == best
    model.reset_sequence()
    rows, _ = model.choose_rows(asked, np.array([np.nan]))  # facing unknown: the skeleton decides alone
    assert int(model.index_frames[rows[0]]) == best


def test_with_mirror_a_frame_flipped_left_to_right_is_a_candidate_too(small):
    """model.mirror: rows M..2M-1 are the index's frames flipped, their skeletons mirrored (left and right
    joints swapped) and facings turned the other way; a pose asked as a frame's mirror image retrieves it."""
    from motion_transfer.models.loading import prepare_data_and_model
    from motion_transfer.models.nearest import mirrored

    datamodule, model = prepare_data_and_model(small.compose("demo", "model=warp", "model.mirror=true"))
    assert model.mirror
    count = len(model.index_frames)
    assert len(model.row_frames()) == 2 * count
    image, mask, joints = model.person_of_row(3)
    flipped, flipped_mask, flipped_joints = model.person_of_row(count + 3)
    assert np.array_equal(flipped, image[:, ::-1]) and np.array_equal(flipped_mask, mask[:, ::-1])
    side = image.shape[0]
    # In the mirror the right shoulder stands where the left one was, at the other side of the picture.
    np.testing.assert_allclose(flipped_joints[1], [side - joints[2, 0], joints[2, 1]], atol=1e-9)
    np.testing.assert_allclose(flipped_joints[0], [side - joints[0, 0], joints[0, 1]], atol=1e-9)  # the nose
    np.testing.assert_allclose(mirrored(mirrored(joints / side)), joints / side, atol=1e-12)
    asked = mirrored(model.skeletons_of_rows(np.array([3])))
    model.reset_sequence()
    rows, _ = model.choose_rows(asked)
    assert rows[0] == count + 3
