import json
import time

import numpy as np
import pytest

from motion_transfer.cache import CropParams, SkeletonCache, load_or_build_synthetic_cache, load_or_build_video_cache
from motion_transfer.errors import UserError

SMALL = CropParams(crop_size=64)


def test_synthetic_cache_is_built_then_reused(tmp_path):
    first = load_or_build_synthetic_cache("target", 40, 0, tmp_path, SMALL)
    stamp = (first.path / "meta.json").stat().st_mtime_ns
    second = load_or_build_synthetic_cache("target", 40, 0, tmp_path, SMALL)
    assert second.path == first.path
    assert (second.path / "meta.json").stat().st_mtime_ns == stamp  # not rebuilt
    assert first.crops.shape == (40, 64, 64, 3) and first.skeletons.shape == (40, 13, 2)
    assert first.meta["n_detected"] == 40 and first.meta["kind"] == "synthetic"
    # Other parameters or another seed: another cache.
    assert load_or_build_synthetic_cache("target", 40, 1, tmp_path, SMALL).path != first.path
    # force=True rebuilds in place.
    time.sleep(0.01)
    rebuilt = load_or_build_synthetic_cache("target", 40, 0, tmp_path, SMALL, force=True)
    assert rebuilt.path == first.path and (rebuilt.path / "meta.json").stat().st_mtime_ns != stamp
    assert not list(tmp_path.glob(".tmp-*")) and not list(tmp_path.glob(".old-*"))


def test_skeletons_are_inside_their_crops(tmp_path):
    cache = load_or_build_synthetic_cache("target", 60, 0, tmp_path, SMALL)
    assert np.isfinite(cache.skeletons).all()
    assert cache.skeletons.min() > 0.02 and cache.skeletons.max() < 0.98


@pytest.mark.parametrize("damage", ["truncate", "delete", "meta"])
def test_a_damaged_cache_is_rebuilt(tmp_path, damage):
    cache = load_or_build_synthetic_cache("target", 30, 0, tmp_path, SMALL)
    crops = cache.path / "crops.npy"
    if damage == "truncate":
        with open(crops, "r+b") as f:
            f.truncate(crops.stat().st_size // 2)
    elif damage == "delete":
        (cache.path / "skeletons.npy").unlink()
    else:
        (cache.path / "meta.json").write_text("{not json")
    with pytest.raises(Exception):
        SkeletonCache.load(cache.path)
    again = load_or_build_synthetic_cache("target", 30, 0, tmp_path, SMALL)
    assert again.crops.shape == (30, 64, 64, 3)
    np.testing.assert_array_equal(np.asarray(again.crops), np.asarray(load_or_build_synthetic_cache("target", 30, 0, tmp_path, SMALL).crops))


def test_unfinished_temporary_folders_are_never_loaded(tmp_path):
    cache = load_or_build_synthetic_cache("target", 30, 0, tmp_path, SMALL)
    meta = json.loads((cache.path / "meta.json").read_text())
    assert set(meta["files"]) == {"crops.npy", "landmarks.npy", "skeletons.npy", "boxes.npy", "detected.npy"}


@pytest.mark.real_data
def test_real_video_cache_reuse_and_rebuild(shared_data, tmp_path):
    params = CropParams(crop_size=128)
    cache = load_or_build_video_cache(shared_data / "karate1.mp4", tmp_path, params, progress=False)
    meta = cache.meta
    assert meta["n_frames"] == 192 and meta["fps"] == pytest.approx(25.0)
    # Pose found in at least 85% of karate1.mp4 (a cross-fade near frame 150 hides the man).
    assert meta["n_detected"] / meta["n_frames"] >= 0.85
    assert meta["n_missing"] == len(meta["missing_frames"]) == int((~cache.detected).sum())
    assert np.isnan(cache.landmarks[~cache.detected]).all()
    assert meta["source"]["sha256"] and meta["params"]["crop_size"] == 128
    stamp = (cache.path / "meta.json").stat().st_mtime_ns
    assert load_or_build_video_cache(shared_data / "karate1.mp4", tmp_path, params, progress=False).path == cache.path
    assert (cache.path / "meta.json").stat().st_mtime_ns == stamp
    rebuilt = load_or_build_video_cache(shared_data / "karate1.mp4", tmp_path, params, force=True, progress=False)
    assert (rebuilt.path / "meta.json").stat().st_mtime_ns != stamp
    np.testing.assert_array_equal(rebuilt.detected, cache.detected)


@pytest.mark.real_data
def test_bad_video_paths_are_user_errors(shared_data, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    for path in (tmp_path / "missing.mp4", tmp_path, empty, text, shared_data / "test.jpg"):
        with pytest.raises(UserError) as err:
            load_or_build_video_cache(path, tmp_path / "cache", progress=False)
        assert str(path.name) in str(err.value) or str(path) in str(err.value)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
