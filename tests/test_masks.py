"""Person masks and the background plate through the pose extractor, the cache and the datamodule."""

import json
import logging

import cv2
import numpy as np
import pytest
import torch

from motion_transfer.data.cache import CropParams, load_or_build_synthetic_cache, load_or_build_video_cache
from motion_transfer.data.cache_building import MaskStore, PlateSampler, assemble_cache_arrays
from motion_transfer.data.datamodule import SkeletonImageDataModule, jitter_pairs
from motion_transfer.data.plate import MAX_PLATE_FRAMES
from motion_transfer.data.synthetic import render_clip, render_clip_with_masks
from motion_transfer.runtime.errors import UserError

SMALL = CropParams(crop_size=64)


# -- the synthetic renderer ---------------------------------------------------------------------


def test_synthetic_masks_are_exact_and_render_clip_is_unchanged():
    clip = render_clip_with_masks("target", 12, 0, width=160, height=128)
    frames, landmarks = render_clip("target", 12, 0, width=160, height=128)
    np.testing.assert_array_equal(clip.frames, frames)
    np.testing.assert_array_equal(clip.landmarks, landmarks)
    assert clip.masks.shape == (12, 128, 160) and clip.masks.dtype == np.uint8
    assert clip.background.shape == (128, 160, 3)
    # Where the mask is empty the frame is the background, but for the floor shadow (darker).
    empty = clip.masks == 0
    diff = frames.astype(int) - clip.background.astype(int)
    assert np.all(diff[empty] <= 0)
    assert (np.abs(diff).sum(-1)[empty] > 0).mean() < 0.02
    # Where it is full the person is drawn: the frame is no longer the background there.
    full = clip.masks == 255
    assert full.any() and (np.abs(diff).sum(-1)[full] > 0).mean() > 0.95
    # The torso is inside the mask.
    torso = landmarks[:, [11, 12, 23, 24], :2].mean(axis=1).round().astype(int)
    assert np.all(clip.masks[np.arange(12), torso[:, 1], torso[:, 0]] == 255)


# -- the cache ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return load_or_build_synthetic_cache("target", 60, 0, tmp_path_factory.mktemp("cache"), SMALL)


def test_cached_masks_have_the_crops_shape_and_cover_the_person(cache):
    assert cache.masks.shape == cache.crops.shape[:3] == (60, 64, 64) and cache.masks.dtype == np.uint8
    # Non-zero on the torso (skeleton points are in crop coordinates [0, 1]).
    torso = (cache.skeletons[:, [1, 2, 7, 8]].mean(axis=1) * 64).astype(int)  # shoulders and hips
    assert np.all(cache.masks[np.arange(60), torso[:, 1], torso[:, 0]] > 200)
    # Mostly empty: the person is a part of the crop.
    assert 0.05 < (np.asarray(cache.masks) > 127).mean() < 0.6
    assert cache.plate.shape == (256, 320, 3) and cache.plate.dtype == np.uint8
    plate = cache.meta["plate"]
    assert set(plate) == {
        "static_camera", "residual", "inpainted_fraction", "frames_used", "camera", "fits", "picture",
        "reference_frame",
    }  # fmt: skip
    assert plate["static_camera"] is True and plate["frames_used"] == min(60, MAX_PLATE_FRAMES)
    assert plate["camera"] == "static" and plate["fits"] is True and plate["picture"] == [0, 0, 320, 256]
    assert {"masks.npy", "plate.npy", "scene.npy", "camera.npy"} <= set(cache.meta["files"])
    assert np.array_equal(cache.scene, cache.plate) and np.array_equal(cache.camera, np.tile(np.eye(3), (60, 1, 1)))


def test_masks_are_cropped_exactly_like_the_frames():
    frames, landmarks = render_clip("target", 30, 1, width=160, height=128)
    arrays = assemble_cache_arrays(
        frames, landmarks, np.ones(30, bool), 25.0, CropParams(crop_size=48), masks=frames[..., 1]
    )
    np.testing.assert_array_equal(arrays["masks"], arrays["crops"][..., 1])
    # Float masks in [0, 1] are scaled to 0..255; frames without a person get an empty mask.
    detected = np.ones(30, bool)
    detected[5] = False
    floats = [f[..., 1].astype(np.float32) / 255.0 for f in frames]
    arrays = assemble_cache_arrays(frames, landmarks, detected, 25.0, CropParams(crop_size=48), masks=floats)
    assert np.abs(arrays["masks"][detected].astype(int) - arrays["crops"][detected][..., 1]).max() <= 1
    assert not arrays["masks"][5].any()


def test_a_damaged_plate_is_rebuilt(tmp_path):
    first = load_or_build_synthetic_cache("target", 30, 0, tmp_path, SMALL)
    (first.path / "plate.npy").unlink()
    again = load_or_build_synthetic_cache("target", 30, 0, tmp_path, SMALL)
    assert again.plate.shape == (256, 320, 3)


def test_the_mask_store_gives_back_what_it_was_given():
    rng = np.random.default_rng(0)
    store = MaskStore(40, 50)
    mask = np.zeros((40, 50), np.uint8)
    mask[10:30, 5:20] = rng.integers(0, 256, (20, 15))
    for m in (mask, None, np.zeros((40, 50), np.uint8), np.full((40, 50), 255, np.uint8)):
        store.append(m)
    out = list(store)
    assert len(store) == 4
    np.testing.assert_array_equal(out[0], mask)
    assert out[1] is None and out[2] is None
    assert (out[3] == 255).all()


@pytest.mark.parametrize("expected", [0, 1000])
def test_the_plate_keeps_a_bounded_sample_spread_over_the_clip(expected):
    """With or without the frame count up front, memory holds at most twice the quota."""
    sampler = PlateSampler(expected)
    frame, held = np.zeros((4, 4, 3), np.uint8), 0
    for i in range(1000):
        sampler.offer(i, frame, None)
        held = max(held, len(sampler.items))
    assert held <= 2 * MAX_PLATE_FRAMES
    kept = [i for i, _, _ in sampler.items]
    assert kept[0] == 0 and kept[-1] >= 1000 - 1000 // MAX_PLATE_FRAMES - 32
    picks, frames, masks = sampler.samples()
    assert len(picks) == len(frames) == len(masks) == MAX_PLATE_FRAMES and np.all(np.diff(picks) > 0)


# -- the datamodule -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def datamodule(tmp_path_factory):
    dm = SkeletonImageDataModule(
        synthetic_frames=60,
        image_size=32,
        batch_size=8,
        cache_dir=str(tmp_path_factory.mktemp("dm")),
        crop={"crop_size": 64},
        progress=False,
        val_fraction=0.2,
        gap_s=0.2,
    )
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_batches_carry_mask_and_plate(datamodule):
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["mask"].shape == (8, 1, 32, 32) and batch["mask"].dtype == torch.float32
    assert batch["plate"].shape == (8, 3, 32, 32) and batch["plate"].dtype == torch.float32
    assert 0 <= batch["mask"].min() and batch["mask"].max() <= 1 and batch["mask"].max() > 0.99
    assert -1 <= batch["plate"].min() and batch["plate"].max() <= 1
    assert {"vector", "stick", "image", "placement", "index"} <= set(batch)
    fixed = datamodule.fixed_val_batch(4)
    assert fixed["mask"].shape == (4, 1, 32, 32) and fixed["plate"].shape == (4, 3, 32, 32)
    assert datamodule.plate.shape == (256, 320, 3) and datamodule.plate.dtype == np.uint8
    assert datamodule.has_plate is True


def test_plate_crops_line_up_with_the_images(datamodule):
    """Away from the person (and its shadow) a synthetic image is its background: the plate
    crop at the frame's box must be the same picture."""
    item = datamodule.train_set[3]
    away = item["mask"][0] < 0.01
    away[24:] = False  # the floor shadow near the feet is in the image, not in the plate
    diff = (item["image"] - item["plate"]).abs().mean(dim=0)[away]
    assert diff.mean() < 0.02  # ~2.5 grey levels
    assert (item["image"] - item["plate"]).abs().mean(dim=0)[item["mask"][0] > 0.99].mean() > 0.1


def test_jitter_moves_mask_and_plate_with_the_image():
    n, s = 4, 32
    image = torch.rand(n, 3, s, s) * 2 - 1
    batch = {
        "stick": image.clone(),
        "image": image,
        "mask": (image[:, :1] + 1) / 2,
        "plate": image.flip(1),
        "vector": torch.zeros(n, 26),
        "index": torch.arange(n),
    }
    out = jitter_pairs(batch, 3, torch.Generator().manual_seed(0))
    assert not torch.equal(out["image"], image)
    assert torch.equal(out["stick"], out["image"])
    assert torch.allclose(out["mask"], (out["image"][:, :1] + 1) / 2)
    assert torch.equal(out["plate"], out["image"].flip(1))
    assert out["mask"].shape == (n, 1, s, s)


def _dm(tmp_path, **kwargs):
    return SkeletonImageDataModule(
        synthetic_frames=40,
        image_size=32,
        batch_size=4,
        cache_dir=str(tmp_path / "cache"),
        crop={"crop_size": 32},
        progress=False,
        val_fraction=0.2,
        gap_s=0.2,
        **kwargs,
    )


def test_a_background_of_the_wrong_size_is_refused(tmp_path):
    image = tmp_path / "room.png"
    cv2.imwrite(str(image), np.zeros((100, 100, 3), np.uint8))
    dm = _dm(tmp_path, background=str(image))
    with pytest.raises(UserError, match=r"data\.background") as err:
        dm.setup("fit")
    assert "room.png" in str(err.value) and "100x100" in str(err.value) and "320x256" in str(err.value)
    with pytest.raises(UserError, match=r"data\.background"):
        _dm(tmp_path, background=str(tmp_path / "missing.png"))


def test_a_background_of_the_same_aspect_ratio_is_resized_and_used(tmp_path):
    image = tmp_path / "room.jpg"
    colour = (40, 90, 200)  # RGB
    cv2.imwrite(str(image), np.full((128, 160, 3), colour[::-1], np.uint8))
    dm = _dm(tmp_path, background=str(image))
    dm.setup("fit")
    assert dm.plate.shape == (256, 320, 3) and dm.has_plate is True
    assert np.abs(dm.plate.astype(int) - colour).max() <= 3
    plate = dm.train_set[0]["plate"]
    assert torch.allclose(plate.mean(dim=(1, 2)), torch.tensor(colour) / 127.5 - 1, atol=0.03)


def test_a_moving_camera_is_warned_about_once(tmp_path, caplog):
    cache = load_or_build_synthetic_cache("target", 40, 0, tmp_path / "cache", CropParams(crop_size=32))
    meta = json.loads((cache.path / "meta.json").read_text())
    meta["plate"].update(static_camera=False, residual=14.0, camera="moving", fits=False)
    (cache.path / "meta.json").write_text(json.dumps(meta))
    dm = _dm(tmp_path)
    with caplog.at_level(logging.WARNING, logger="motion_transfer.data.datamodule"):
        dm.setup("fit")
        dm.setup("validate")
    warnings = [r for r in caplog.records if "could not be registered" in r.getMessage()]
    assert len(warnings) == 1 and "14.0" in warnings[0].getMessage() and "crop output" in warnings[0].getMessage()
    assert dm.has_plate is False


# -- real clips -------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_pose_extractor_gives_a_frame_sized_mask(shared_data):
    from motion_transfer.data.video import iter_frames
    from motion_transfer.pose.detector import PoseExtractor

    frames = iter_frames(shared_data / "karate1.mp4")
    first = [next(frames) for _ in range(5)]
    with PoseExtractor() as extract:
        results = [extract.extract(f) for f in first]
        landmarks = extract(first[0])
    lm, mask = results[-1]
    assert lm is not None and lm.shape == (33, 4) and landmarks.shape == (33, 4)
    assert mask.shape == (360, 640) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    hips = lm[[23, 24], :2].mean(axis=0).round().astype(int)
    assert mask[hips[1], hips[0]] > 0.5
    assert 0.01 < (mask > 0.5).mean() < 0.5
    with PoseExtractor(segmentation=False) as extract:
        lm, mask = extract.extract(first[0])
    assert lm is not None and mask is None


@pytest.mark.real_data
@pytest.mark.slow
def test_video_cache_has_masks_and_a_plate(shared_data, tmp_path):
    cache = load_or_build_video_cache(shared_data / "karate1.mp4", tmp_path, CropParams(crop_size=64), progress=False)
    assert cache.masks.shape == (192, 64, 64)
    detected = np.asarray(cache.detected)
    masks = np.asarray(cache.masks)
    assert not masks[~detected].any()
    assert (masks[detected].reshape(detected.sum(), -1).max(axis=1) > 200).all()
    assert cache.plate.shape == (360, 640, 3)
    info = cache.meta["plate"]
    assert info["frames_used"] == MAX_PLATE_FRAMES and np.isfinite(info["residual"])
