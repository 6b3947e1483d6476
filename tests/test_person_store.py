"""The native-resolution person store: frames round-trip at the video's resolution, masks follow the real
outline, folders are reused, rebuilt when damaged, and building holds one frame at a time."""

import os
import pickle
import weakref

import cv2
import numpy as np
import pytest

from conftest import compose, entry_point_error
from motion_transfer.data import person_store
from motion_transfer.data.cache import SkeletonCache
from motion_transfer.data.cache_building import assemble_cache_arrays
from motion_transfer.data.datamodule import SkeletonImageDataModule
from motion_transfer.data.person_store import (
    PersonStore,
    load_or_build_person_store,
    native_mask,
    store_folder,
)
from motion_transfer.data.preprocess import run_preprocess
from motion_transfer.data.synthetic import render_clip, render_clip_with_masks
from motion_transfer.data.video import decoded_ahead
from motion_transfer.pose.crop import CropParams, crop_frame

#: The synthetic target filmed at 960x768: boxes of about 510-550 px, so the store's crops are about twice
#: the cache's 256 px, as in the 960x720 taichi2 clip.
WIDTH, HEIGHT = 960, 768
#: Frame without a person in the test clip.
MISSING = 3


@pytest.fixture(scope="module")
def clip_and_cache(tmp_path_factory):
    """(the rendered clip, a skeleton cache of it at 256 px) with frame MISSING marked as without a person."""
    n = 12
    clip = render_clip_with_masks("target", n, 0, WIDTH, HEIGHT)
    detected = np.ones(n, bool)
    detected[MISSING] = False
    arrays = assemble_cache_arrays(clip.frames, clip.landmarks, detected, 25, CropParams(), masks=clip.masks)
    empty = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    meta = {"key": "0123456789abcdef", "name": "synthetic-large", "frame_size": [WIDTH, HEIGHT], "n_frames": n}
    folder = tmp_path_factory.mktemp("cache") / "synthetic-large-0123456789abcdef"
    cache = SkeletonCache(
        path=folder, plate=empty, scene=empty, camera=np.tile(np.eye(3), (n, 1, 1)), meta=meta, **arrays
    )
    return clip, cache


def _frames_of(clip, drawn: list | None = None):
    """A frames() callable over the clip's frames (copies, as a decoder hands them over), counting those drawn."""

    def frames():
        for frame in clip.frames:
            if drawn is not None:
                drawn.append(1)
            yield frame.copy()

    return frames


def _never():
    raise AssertionError("the store was rebuilt: frames() was called")


def _iou(mask: np.ndarray, truth: np.ndarray) -> float:
    a, b = mask >= 128, truth >= 128
    return float((a & b).sum() / (a | b).sum())


@pytest.fixture(scope="module")
def store(clip_and_cache, tmp_path_factory):
    clip, cache = clip_and_cache
    return load_or_build_person_store(cache, _frames_of(clip), tmp_path_factory.mktemp("stores"), progress=False)


def test_frames_round_trip_at_native_resolution(clip_and_cache, store):
    clip, cache = clip_and_cache
    assert len(store) == cache.n_frames and store.sides.dtype == np.int32
    assert store.sides.max() > 2 * cache.crops.shape[1] * 0.95  # about twice the cache's side: native pixels
    for i in range(cache.n_frames):
        colours, mask = store.person(i)
        if i == MISSING:
            assert store.sides[i] == 0 and colours.shape == (0, 0, 3) and mask.shape == (0, 0)
            continue
        s = int(store.sides[i])
        assert colours.shape == (s, s, 3) and mask.shape == (s, s)
        assert colours.dtype == mask.dtype == np.uint8
        real = crop_frame(clip.frames[i], cache.boxes[i], s)
        assert np.abs(colours.astype(int) - real).mean() < 3  # JPEG's error only
        truth = crop_frame(clip.masks[i], cache.boxes[i], s)
        assert _iou(mask, truth) > 0.99  # measured: 0.996 or more on this clip
    np.testing.assert_array_equal(store.boxes, cache.boxes)


def test_refined_masks_are_closer_to_the_truth_than_bilinear_upsampling(clip_and_cache, store):
    """The mask refinement is kept only because it beats plain bilinear upsampling of the cache's mask."""
    clip, cache = clip_and_cache
    refined, bilinear = [], []
    for i in np.flatnonzero(store.sides):
        s = int(store.sides[i])
        truth = crop_frame(clip.masks[i], cache.boxes[i], s).astype(float)
        plain = cv2.resize(np.asarray(cache.masks[i]), (s, s), interpolation=cv2.INTER_LINEAR).astype(float)
        mask = store.person(int(i))[1].astype(float)
        refined.append((np.abs(mask - truth).mean(), _iou(mask, truth)))
        bilinear.append((np.abs(plain - truth).mean(), _iou(plain, truth)))
    (refined_mae, refined_iou), (plain_mae, plain_iou) = np.mean(refined, axis=0), np.mean(bilinear, axis=0)
    assert refined_mae < 0.75 * plain_mae and refined_iou > plain_iou  # measured: 0.41 vs 0.77 grey levels


def test_a_mask_is_not_refined_when_it_is_reduced():
    """A cache mask larger than the stored side already holds the detail: a plain reduction."""
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 20:40] = 255
    colours = np.full((32, 32, 3), 90, np.uint8)
    np.testing.assert_array_equal(native_mask(mask, colours), cv2.resize(mask, (32, 32)))
    assert not native_mask(np.zeros((16, 16), np.uint8), colours).any()


def test_sides_never_exceed_the_box_or_max_side(clip_and_cache, store, tmp_path):
    clip, cache = clip_and_cache
    found = np.asarray(cache.detected)
    np.testing.assert_array_equal(store.sides[found], np.round(cache.boxes[found, 2]))
    small = load_or_build_person_store(cache, _frames_of(clip), tmp_path, max_side=200, progress=False)
    assert (small.sides[found] == 200).all() and small.sides[MISSING] == 0
    assert small.person(0)[0].shape == (200, 200, 3)
    assert (store.sides <= np.round(cache.boxes[:, 2])).all() and store.sides.max() <= 768


def test_a_store_lives_beside_its_cache_and_is_reused(clip_and_cache, tmp_path):
    clip, cache = clip_and_cache
    first = load_or_build_person_store(cache, _frames_of(clip), tmp_path, max_side=300, progress=False)
    assert first.path.parent == tmp_path and first.path.name.startswith(f"{cache.path.name}-native300-")
    marker = first.path / "marker"
    marker.write_text("this folder as first built")
    again = load_or_build_person_store(cache, _never, tmp_path, max_side=300, progress=False)
    assert again.path == first.path and marker.is_file()
    np.testing.assert_array_equal(again.person(5)[0], first.person(5)[0])
    assert store_folder(cache, tmp_path, 400) != first.path  # another max_side, another store
    rebuilt = load_or_build_person_store(cache, _frames_of(clip), tmp_path, max_side=300, force=True, progress=False)
    assert rebuilt.path == first.path and not marker.exists()
    assert not list(tmp_path.glob(".tmp-*")) and not list(tmp_path.glob(".old-*"))


@pytest.mark.parametrize("damage", ["truncate", "delete", "meta", "version", "index"])
def test_a_damaged_store_is_rebuilt(clip_and_cache, tmp_path, damage):
    clip, cache = clip_and_cache
    store = load_or_build_person_store(cache, _frames_of(clip), tmp_path, max_side=160, progress=False)
    reference = store.person(7)
    folder = store.path
    if damage == "truncate":
        with open(folder / "person.bin", "r+b") as f:
            f.truncate((folder / "person.bin").stat().st_size // 2)
    elif damage == "delete":
        (folder / "mask_index.npy").unlink()
    elif damage == "meta":
        (folder / "meta.json").write_text("{ not json")
    elif damage == "version":
        (folder / "meta.json").write_text((folder / "meta.json").read_text().replace('"version": 1', '"version": 0'))
    else:  # an offset past the end of the data file, the file sizes intact
        index = np.load(folder / "colour_index.npy")
        index[2, 0] = 1 << 40
        np.save(folder / "colour_index.npy", index)
    with pytest.raises(AssertionError, match="rebuilt"):
        load_or_build_person_store(cache, _never, tmp_path, max_side=160, progress=False)
    drawn = []
    rebuilt = load_or_build_person_store(cache, _frames_of(clip, drawn), tmp_path, max_side=160, progress=False)
    assert len(drawn) == cache.n_frames
    for got, want in zip(rebuilt.person(7), reference):
        np.testing.assert_array_equal(got, want)


def test_building_holds_a_few_frames_at_a_time(clip_and_cache, tmp_path):
    """Memory does not grow with the clip: frames are drawn lazily, a bounded few in flight on the threads."""
    clip, cache = clip_and_cache
    alive, most = [], [0]

    def frames():
        for frame in clip.frames:
            alive[:] = [ref for ref in alive if ref() is not None]
            most[0] = max(most[0], len(alive) + 1)
            fresh = frame.copy()
            alive.append(weakref.ref(fresh))
            yield fresh
            del fresh

    load_or_build_person_store(cache, frames, tmp_path, max_side=128, progress=False)
    # The frames queued or being cut, the one just drawn, and the previous one still named by the loop.
    threads = max(1, min(person_store.ENCODE_THREADS, os.cpu_count() or 1))
    assert most[0] <= person_store.IN_FLIGHT * threads + 2 < len(clip.frames)


def test_frames_that_do_not_match_the_cache_are_refused(clip_and_cache, tmp_path):
    clip, cache = clip_and_cache
    with pytest.raises(ValueError, match="ended after 5"):
        load_or_build_person_store(cache, lambda: iter(clip.frames[:5]), tmp_path, max_side=64, progress=False)
    with pytest.raises(ValueError, match="frame 0"):
        load_or_build_person_store(cache, lambda: iter(clip.frames[:, ::2]), tmp_path, max_side=64, progress=False)
    assert not list(tmp_path.iterdir())  # nothing half-written is left


def test_a_store_pickles_without_its_data(store):
    copy = pickle.loads(pickle.dumps(store))
    assert len(pickle.dumps(store)) < (store.path / "person.bin").stat().st_size
    np.testing.assert_array_equal(copy.person(1)[1], store.person(1)[1])


def test_the_datamodule_builds_its_targets_store_once(tmp_path):
    dm = SkeletonImageDataModule(synthetic_frames=30, cache_dir=str(tmp_path), crop={"crop_size": 64}, progress=False)
    store = dm.person_store(max_side=512)
    assert dm.person_store(max_side=512) is store and isinstance(store, PersonStore)
    assert len(store) == dm.cache.n_frames == 30 and store.path.parent == tmp_path
    colours, mask = store.person(10)
    real = crop_frame(render_clip("target", 30, 0)[0][10], dm.cache.boxes[10], int(store.sides[10]))
    assert colours.shape[0] > 64 and np.abs(colours.astype(int) - real).mean() < 3


def test_a_bad_native_max_side_names_itself(tmp_path, capsys):
    overrides = [f"paths.output_dir={tmp_path}", "video=clip.mp4", "preprocess.native_max_side=-1"]
    assert "preprocess.native_max_side" in entry_point_error("preprocess", overrides, capsys)


@pytest.mark.real_data
@pytest.mark.slow
def test_preprocess_builds_a_real_clips_store_that_matches_its_frames(shared_data, tmp_path, capsys):
    """karate1.mp4 (640x360, 192 frames, 22 of them without a person) through `python src/preprocess.py`."""
    video = shared_data / "karate1.mp4"
    cache = SkeletonCache.load(
        run_preprocess(compose("preprocess", [f"paths.output_dir={tmp_path}", f"video={video}", "data.progress=false"]))
    )
    assert "person store: 170 frames" in capsys.readouterr().out
    store = load_or_build_person_store(cache, _never, tmp_path / "cache", progress=False)  # the one preprocess built
    found = np.asarray(cache.detected)
    assert (store.sides[~found] == 0).all() and (store.sides[found] > 0).all()
    assert (store.sides <= np.minimum(np.round(cache.boxes[:, 2]), 768)).all()
    picks = set(np.flatnonzero(found)[[0, found.sum() // 2, -1]].tolist())
    for i, frame in enumerate(decoded_ahead(video)):
        if i in picks:
            colours, mask = store.person(i)
            real = crop_frame(frame, cache.boxes[i], int(store.sides[i]))
            assert np.abs(colours.astype(int) - real).mean() < 3
            # The refined mask agrees with the cache's own where both are sure.
            small = cv2.resize(mask, cache.masks.shape[1:], interpolation=cv2.INTER_AREA)
            assert _iou(small, np.asarray(cache.masks[i])) > 0.95  # measured: 0.982 or more
