"""The time-to-quality race: every entry trained for the same budget, all scored in one table."""

import json

import pytest

from motion_transfer.evaluation.race import run_race


@pytest.mark.slow
def test_a_race_trains_each_entry_for_the_budget_and_scores_them_together(small):
    unet = '["model=vanilla_image","model.base_filters=8","logger=none"]'
    flow = '["model=vanilla_image","model.flow=true","model.base_filters=8","logger=none"]'
    cfg = small.compose(
        "race",
        "race.budget=00:00:00:06",
        "race.run=[nearest,unet,unet_flow]",
        f"race.entries.unet={unet}",
        f"race.entries.unet_flow={flow}",
        "pose.enabled=false",
    )
    report = run_race(cfg)
    text = report.read_text()
    assert "| nearest |" in text and "| unet |" in text and "00:00:00:06 of training each" in text
    assert "| unet | " in text.split("Steadiness over consecutive held-out frames")[1]
    native = text.split("At the video's own resolution")[1].split("Steadiness")[0]
    assert "| nearest | " in native and "| unet | " in native
    metrics = json.loads((report.parent / "metrics.json").read_text())
    assert set(metrics["models"]) == {"nearest", "unet", "unet_flow"}
    # The flow entry is scored at the video's resolution from the target's pixels (its store attached).
    assert "| unet_flow | " in native and metrics["models"]["unet_flow"]["native"]["detail_ratio"] > 0
    unet = metrics["models"]["unet"]
    assert unet["model"] == "vanilla_image" and 0 < unet["metrics"]["ssim"] <= 1
    assert 0 < unet["native"]["box_ssim"] <= 1 and unet["native"]["detail_ratio"] > 0
    assert unet["race"]["overrides"][0] == "model=vanilla_image"
    # Its own training folder, under the race's run: nothing leaks into outputs/train.
    assert list((report.parent / "unet" / "train").glob("*/checkpoints/*.ckpt"))
    assert not (small.outputs / "train").exists()
    # Every entry scored on the same frames: the second half of the held-out block.
    assert unet["split"] == metrics["models"]["nearest"]["split"]
    assert unet["split"]["select_frames"] >= 1


def test_a_race_entry_that_does_not_exist_is_named(small):
    from motion_transfer.runtime.errors import UserError

    with pytest.raises(UserError, match=r"race.run: \['unet2'\] not in race.entries"):
        run_race(small.compose("race", "race.run=[nearest,unet2]"))
