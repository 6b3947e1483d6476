import numpy as np
import pytest
import torch

from motion_transfer.data.datamodule import SkeletonImageDataModule, time_split
from motion_transfer.runtime.errors import UserError


def test_time_split_keeps_a_gap_around_validation():
    usable = np.ones(100, bool)
    usable[[3, 90]] = False
    split = time_split(usable, val_fraction=0.2, gap=10)
    assert split.val.tolist() == [i for i in range(80, 100) if i != 90]
    assert split.train.max() < 80 - 10 + 1 and 3 not in split.train
    # No training frame within the gap before the validation block (and none after it).
    assert np.min(split.val[:, None] - split.train[None, :]) > 10


@pytest.fixture(scope="module")
def datamodule(tmp_path_factory):
    dm = SkeletonImageDataModule(
        synthetic_frames=120,
        image_size=32,
        batch_size=8,
        cache_dir=str(tmp_path_factory.mktemp("cache")),
        crop={"crop_size": 64},
        progress=False,
    )
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_pairs_have_the_documented_shapes_and_ranges(datamodule):
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["vector"].shape == (8, 26)
    assert batch["stick"].shape == batch["image"].shape == (8, 3, 32, 32)
    for key in ("vector", "stick", "image"):
        assert batch[key].min() >= -1 and batch[key].max() <= 1
    assert batch["stick"].max() > 0  # the figure is drawn


def test_split_is_by_time_with_a_gap(datamodule):
    train, val = datamodule.split.train, datamodule.split.val
    gap = datamodule.split.gap
    assert gap == round(1.0 * datamodule.cache.fps)
    assert train.max() + gap < val.min()
    select, score = datamodule.split.select, datamodule.split.score
    assert select.max() < score.min() and set(select) | set(score) == set(val.tolist())
    assert set(datamodule.select_set.indices.tolist()) == set(select.tolist())
    assert set(datamodule.val_set.indices.tolist()) == set(score.tolist())


def test_fixed_validation_batch_is_the_same_every_time(datamodule):
    a, b = datamodule.fixed_val_batch(4), datamodule.fixed_val_batch(4)
    assert torch.equal(a["image"], b["image"]) and len(a["index"]) == 4


@pytest.mark.parametrize("size", [64, 128, 256])
def test_larger_image_sizes_work(tmp_path, size):
    dm = SkeletonImageDataModule(
        synthetic_frames=60,
        image_size=size,
        batch_size=4,
        cache_dir=str(tmp_path),
        progress=False,
        val_fraction=0.2,
        gap_s=0.2,
    )
    dm.setup("fit")
    assert dm.train_set[0]["image"].shape == (3, size, size)


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"image_size": 100}, "data.image_size"),
        ({"batch_size": 0}, "data.batch_size"),
        ({"kind": "webcam"}, "data.kind"),
        ({"kind": "video"}, "data.target_video"),
        ({"val_fraction": 0.0}, "data.val_fraction"),
    ],
)
def test_bad_options_name_themselves(kwargs, option):
    with pytest.raises(UserError, match=option.replace(".", r"\.")):
        SkeletonImageDataModule(**kwargs)


def test_a_clip_too_short_for_the_split_is_refused(tmp_path):
    dm = SkeletonImageDataModule(
        synthetic_frames=30, cache_dir=str(tmp_path), progress=False, gap_s=1.0, val_fraction=0.5
    )
    with pytest.raises(UserError, match="too few"):
        dm.setup("fit")


def test_jitter_moves_the_stick_figure_the_image_and_the_vector_together():
    import torch

    from motion_transfer.data.datamodule import jitter_pairs
    from motion_transfer.pose.drawing import images_to_tensor, render_stick_figures
    from motion_transfer.pose.skeleton import to_vector

    skeletons = np.random.default_rng(0).uniform(0.3, 0.7, (6, 13, 2)).astype(np.float32)
    stick = images_to_tensor(render_stick_figures(skeletons, 64))
    batch = {
        "stick": stick,
        "image": stick.clone(),
        "vector": torch.from_numpy(to_vector(skeletons)),
        "index": torch.arange(6),
    }
    out = jitter_pairs(batch, 4, torch.Generator().manual_seed(1))
    assert torch.equal(out["stick"], out["image"]) and torch.equal(out["index"], batch["index"])
    assert not torch.equal(out["stick"], stick)
    # Drawing the moved vectors gives the moved stick figures, pixel for pixel.
    moved = (out["vector"].numpy() + 1) / 2  # the vector holds crop coordinates scaled to [-1, 1]
    redrawn = images_to_tensor(render_stick_figures(moved.reshape(6, 13, 2), 64))
    assert (redrawn - out["stick"]).abs().max() < 1e-6


def test_jitter_is_refused_outside_its_range():
    from motion_transfer.data.datamodule import SkeletonImageDataModule
    from motion_transfer.runtime.errors import UserError

    with pytest.raises(UserError, match="data.jitter"):
        SkeletonImageDataModule(jitter=0.5)


def test_batches_outside_training_are_not_jittered():
    from motion_transfer.data.datamodule import SkeletonImageDataModule

    dm = SkeletonImageDataModule(jitter=0.1)
    batch = {"stick": torch.zeros(2, 3, 64, 64), "image": torch.zeros(2, 3, 64, 64), "vector": torch.zeros(2, 26)}
    assert dm.on_after_batch_transfer(batch, 0) is batch  # no trainer: evaluation, demo, validation


def test_the_configs_set_the_measured_defaults(tmp_path):
    from conftest import compose

    cfg = compose("train", ["model=vanilla_image", f"paths.output_dir={tmp_path}"])
    assert cfg.data.jitter == 0.0625 and cfg.trainer.max_time is None
    assert dict(cfg.data.crop) == {
        "crop_size": 256,
        "margin": 0.12,
        "centre_smoothing_s": 0.5,
        "size_smoothing_s": 1.0,
        "min_detection_confidence": 0.5,
        "min_tracking_confidence": 0.5,
        "person": "largest",
    }  # crop.CropParams' own defaults
    later = compose("train", ["trainer.max_time=00:00:01:00", f"paths.output_dir={tmp_path}"])
    assert later.trainer.max_time == "00:00:01:00"  # no + needed


def test_the_crop_options_can_be_set_on_the_command_line(tmp_path):
    from conftest import compose
    from motion_transfer.models.loading import prepare_datamodule

    cfg = compose("train", [f"paths.output_dir={tmp_path}", "data.crop.crop_size=64", "data.crop.margin=0.2"])
    datamodule = prepare_datamodule(cfg.data)
    assert datamodule.crop_params.crop_size == 64 and datamodule.crop_params.margin == 0.2
    assert datamodule.cache.crops.shape[1:] == (64, 64, 3)
