"""The output kinds (render/output.py): one set of option checks, one interface for demo and live."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import compose
from motion_transfer.render.output import CropOutput, OutputOptions, SceneOutput
from motion_transfer.runtime.errors import UserError

DEFAULTS = {
    "mode": "full",
    "max_side": 1920,
    "panel_height": 360,
    "feather": 0.06,
    "panel_size": 256,
    "video_preset": "ultrafast",
}


def test_demo_and_live_compose_the_same_output_options(tmp_path):
    demo = compose("demo", [f"paths.output_dir={tmp_path}"]).output
    live = compose("live", [f"paths.output_dir={tmp_path}"]).output
    assert dict(demo) == dict(live) == DEFAULTS
    crop = compose("live", [f"paths.output_dir={tmp_path}", "output=crop"]).output
    assert dict(crop) == {**DEFAULTS, "mode": "crop"}


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("mode", "tiles", "output.mode='tiles'"),
        ("max_side", 10, "output.max_side=10"),
        ("panel_height", 0, "output.panel_height=0"),
        ("panel_size", 32, "output.panel_size=32"),
        ("feather", 0.9, "output.feather=0.9"),
        ("video_preset", "instant", "output.video_preset='instant'"),
    ],
)
def test_a_bad_output_option_is_named(option, value, named):
    with pytest.raises(UserError, match=named.replace("(", r"\(").replace(".", r"\.")):
        OutputOptions.from_config({**DEFAULTS, option: value})


def test_the_scene_output_pastes_the_person_at_the_box_at_the_scaled_size():
    plate = np.full((720, 960, 3), 40, np.uint8)
    output = SceneOutput(plate, max_side=480, feather=0.0)
    assert output.size == (480, 360)
    person = np.full((64, 64, 3), 200, np.uint8)
    alpha = np.ones((64, 64), np.float32)
    frame = output.frame(person, alpha, np.array([480.0, 360.0, 200.0]))  # a 200-px box at the centre
    assert frame.shape == (360, 480, 3)
    assert frame[180, 240].tolist() == [200, 200, 200]  # inside the box, at half scale
    assert frame[10, 10].tolist() == [40, 40, 40] and frame[180, 240 + 60].tolist() == [40, 40, 40]
    batch = output.frames(person[None].repeat(2, 0), alpha[None].repeat(2, 0), np.array([[480.0, 360, 200]] * 2))
    assert np.abs(batch[0].astype(int) - frame).max() <= 1
    assert output.empty().tolist() == np.full((360, 480, 3), 40, np.uint8).tolist()


def test_the_crop_output_blends_over_its_background_by_alpha():
    background = np.full((128, 128, 3), 10, np.uint8)
    output = CropOutput(128, background)
    person = np.full((32, 32, 3), 250, np.uint8)
    alpha = np.zeros((32, 32), np.float32)
    alpha[:, 16:] = 1.0
    frame = output.frame(person, alpha, np.zeros(3))
    assert frame.shape == (128, 128, 3) and output.size == (128, 128)
    assert frame[64, 5].tolist() == [10, 10, 10] and frame[64, 120].tolist() == [250, 250, 250]
    assert CropOutput(64).frame(person, alpha, np.zeros(3)).shape == (64, 64, 3)
