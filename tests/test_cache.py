"""The skeleton cache: built once and reused, rebuilt when damaged or forced, never trusted half-written."""

import numpy as np
import pytest

from motion_transfer.data.cache import (
    CACHE_VERSION,
    CacheDamaged,
    CropParams,
    SkeletonCache,
    load_or_build_synthetic_cache,
    load_or_build_video_cache,
)

SMALL = CropParams(crop_size=64)


def _mark(cache):
    """A file the builder does not write: gone once the folder is rebuilt."""
    marker = cache.path / "marker"
    marker.write_text("this folder as first built")
    return marker


def test_synthetic_cache_is_built_then_reused(tmp_path):
    first = load_or_build_synthetic_cache("target", 40, 0, tmp_path, SMALL)
    marker = _mark(first)
    second = load_or_build_synthetic_cache("target", 40, 0, tmp_path, SMALL)
    assert second.path == first.path and marker.is_file()  # not rebuilt
    assert first.crops.shape == (40, 64, 64, 3) and first.skeletons.shape == (40, 13, 2)
    assert first.meta["n_detected"] == 40 and first.meta["kind"] == "synthetic"
    # Other parameters or another seed: another cache.
    assert load_or_build_synthetic_cache("target", 40, 1, tmp_path, SMALL).path != first.path
    assert (
        load_or_build_synthetic_cache("target", 40, 0, tmp_path, CropParams(crop_size=64, margin=0.2)).path
        != first.path
    )
    # force=True rebuilds in place.
    rebuilt = load_or_build_synthetic_cache("target", 40, 0, tmp_path, SMALL, force=True)
    assert rebuilt.path == first.path and not marker.exists()
    np.testing.assert_array_equal(np.asarray(rebuilt.crops), np.asarray(first.crops))
    assert not list(tmp_path.glob(".tmp-*")) and not list(tmp_path.glob(".old-*"))


def test_skeletons_are_inside_their_crops(tmp_path):
    cache = load_or_build_synthetic_cache("target", 60, 0, tmp_path, SMALL)
    assert np.isfinite(cache.skeletons).all()
    assert cache.skeletons.min() > 0.02 and cache.skeletons.max() < 0.98


@pytest.mark.parametrize("damage", ["truncate", "delete", "meta", "version"])
def test_a_damaged_cache_is_rebuilt(tmp_path, damage):
    cache = load_or_build_synthetic_cache("target", 30, 0, tmp_path, SMALL)
    reference = np.array(cache.crops)
    crops = cache.path / "crops.npy"
    if damage == "truncate":
        with open(crops, "r+b") as f:
            f.truncate(crops.stat().st_size // 2)
    elif damage == "delete":
        (cache.path / "skeletons.npy").unlink()
    elif damage == "meta":
        (cache.path / "meta.json").write_text("{not json")
    else:
        (cache.path / "meta.json").write_text(
            (cache.path / "meta.json").read_text().replace(f'"version": {CACHE_VERSION}', '"version": 1')
        )
    with pytest.raises(CacheDamaged):
        SkeletonCache.load(cache.path)
    again = load_or_build_synthetic_cache("target", 30, 0, tmp_path, SMALL)
    assert again.path == cache.path
    np.testing.assert_array_equal(np.asarray(again.crops), reference)
    SkeletonCache.load(cache.path)


def test_unfinished_temporary_folders_are_never_loaded(tmp_path):
    """A build killed while writing leaves `.tmp-<name>-*` with some of the arrays (and no
    meta.json, written last): the cache is built again under its final name, not taken from it."""
    complete = load_or_build_synthetic_cache("target", 30, 0, tmp_path / "complete", SMALL)
    final_name = complete.path.name
    unfinished = tmp_path / "cache" / f".tmp-{final_name}-killed"
    unfinished.mkdir(parents=True)
    (unfinished / ".owner").write_text("999999999")
    np.save(unfinished / "crops.npy", np.zeros((30, 64, 64, 3), np.uint8))  # the wrong pixels, half the files
    cache = load_or_build_synthetic_cache("target", 30, 0, tmp_path / "cache", SMALL)
    assert cache.path == tmp_path / "cache" / final_name
    np.testing.assert_array_equal(np.asarray(cache.crops), np.asarray(complete.crops))
    assert np.asarray(cache.crops).any()
    assert set(cache.meta["files"]) == {
        "crops.npy",
        "landmarks.npy",
        "skeletons.npy",
        "boxes.npy",
        "detected.npy",
        "masks.npy",
        "plate.npy",
        "scene.npy",
        "camera.npy",
    }
    with pytest.raises(CacheDamaged, match="meta.json"):
        SkeletonCache.load(unfinished)


@pytest.mark.real_data
def test_real_video_cache_reuse_and_rebuild(shared_data, real_outputs):
    params = CropParams()
    cache = load_or_build_video_cache(shared_data / "karate1.mp4", real_outputs / "cache", params, progress=False)
    meta = cache.meta
    assert meta["n_frames"] == 192 and meta["fps"] == pytest.approx(25.0)
    # Pose found in at least 85% of karate1.mp4 (a cross-fade near frame 150 hides the man).
    assert meta["n_detected"] / meta["n_frames"] >= 0.85
    assert meta["n_missing"] == len(meta["missing_frames"]) == int((~cache.detected).sum())
    assert np.isnan(cache.landmarks[~cache.detected]).all()
    assert meta["source"]["sha256"] and meta["params"]["crop_size"] == 256
    marker = _mark(cache)
    again = load_or_build_video_cache(shared_data / "karate1.mp4", real_outputs / "cache", params, progress=False)
    assert again.path == cache.path and marker.is_file()
    rebuilt = load_or_build_video_cache(
        shared_data / "karate1.mp4", real_outputs / "cache", params, force=True, progress=False
    )
    assert rebuilt.path == cache.path and not marker.exists()
    np.testing.assert_array_equal(rebuilt.detected, cache.detected)  # MediaPipe finds the same frames again


@pytest.mark.real_data
def test_a_phone_clip_is_cached_upright(shared_data, tmp_path):
    """The first 40 frames of taichi2, stored sideways with a 90-degree tag: MediaPipe finds her
    standing, where she stands in the upright clip."""
    from itertools import islice

    from motion_transfer.data.video import VideoWriter, iter_frames
    from test_video import write_phone_clip

    upright = np.stack(list(islice(iter_frames(shared_data / "taichi2.mp4"), 40)))[:, ::2, ::2]  # 480x360
    plain = tmp_path / "upright.mp4"
    writer = VideoWriter(plain, 25.0, upright.shape[2], upright.shape[1], crf=12)
    writer.write(upright)
    writer.close()
    phone = write_phone_clip(tmp_path / "phone.mp4", upright, 90)
    reference = load_or_build_video_cache(plain, tmp_path / "cache", progress=False)
    turned = load_or_build_video_cache(phone, tmp_path / "cache", progress=False)
    assert turned.meta["frame_size"] == [480, 360] and turned.meta["rotation"] == 90
    both = np.asarray(turned.detected) & np.asarray(reference.detected)
    assert both.mean() > 0.9
    box_difference = np.abs(np.asarray(turned.boxes)[both] - np.asarray(reference.boxes)[both])
    assert np.median(box_difference) < 4  # pixels: the same person box, upright
