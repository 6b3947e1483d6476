"""Several people in view: the clip's crops follow the person asked for, through the whole clip."""

import numpy as np
import pytest

from motion_transfer.data.cache import load_or_build_video_cache
from motion_transfer.data.synthetic import render_clip, render_clip_with_masks
from motion_transfer.data.video import VideoWriter
from motion_transfer.pose.crop import CropParams
from motion_transfer.pose.people import PersonFollower, choose, search_windows


def _write(path, frames, fps=25):
    writer = VideoWriter(path, fps, frames.shape[2], frames.shape[1])
    writer.write(frames)
    writer.close()
    return path


def _landmarks(cache) -> tuple[np.ndarray, np.ndarray]:
    detected = np.asarray(cache.detected)
    return np.asarray(cache.landmarks)[detected][..., :2], detected


def _error(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean distance (pixels) between found landmarks and the ones the figure was drawn from."""
    return float(np.nanmean(np.linalg.norm(found - truth, axis=-1)))


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory):
    """Two synthetic people side by side (the left one smaller), 40 frames: the clip and each one's truth."""
    left, left_truth = render_clip("target", 40, 1)
    right, right_truth = render_clip("source", 40, 2)
    right_truth = right_truth.copy()
    right_truth[..., 0] += left.shape[2]
    path = _write(tmp_path_factory.mktemp("two") / "two.mp4", np.concatenate([left, right], axis=2))
    return path, left_truth[..., :2], right_truth[..., :2]


@pytest.mark.slow
@pytest.mark.parametrize("person, whom", [("left", 1), ("right", 2), ("largest", 2)])
def test_the_crops_follow_the_person_asked_for(side_by_side, tmp_path, person, whom):
    path, *truths = side_by_side
    cache = load_or_build_video_cache(path, tmp_path, CropParams(person=person), progress=False)
    found, detected = _landmarks(cache)
    assert detected.mean() >= 0.95
    assert _error(found, truths[whom - 1][detected]) < 5.0
    assert cache.meta["people"] == {"person": person, "people_at_start": 2, "several": True, "doubtful_frames": 0}
    # The boxes, and so the crops and skeletons the generators learn from, hold that person only.
    boxes = np.asarray(cache.boxes)
    middle = 320.0
    assert ((boxes[:, 0] < middle) if whom == 1 else (boxes[:, 0] > middle)).all()


@pytest.mark.slow
def test_someone_walking_in_does_not_take_the_track(tmp_path):
    """One person, then a second appears beside her at frame 20: the crops stay on the first one."""
    first, first_truth = render_clip("target", 90, 1)
    other = render_clip_with_masks("source", 90, 2)
    right = other.frames.copy()
    right[:20] = other.background  # nobody on the right yet
    path = _write(tmp_path / "walk_in.mp4", np.concatenate([first, right], axis=2))
    cache = load_or_build_video_cache(path, tmp_path / "cache", CropParams(), progress=False)
    found, detected = _landmarks(cache)
    assert detected.mean() >= 0.95
    assert _error(found, first_truth[..., :2][detected]) < 5.0
    people = cache.meta["people"]
    assert people["people_at_start"] == 1 and people["several"]


def test_who_is_chosen():
    def person_at(x, height):
        landmarks = np.zeros((33, 4), np.float32)
        landmarks[:, 0] = x + np.linspace(-0.1, 0.1, 33) * height
        landmarks[:, 1] = np.linspace(0.2, 1.0, 33) * height
        return landmarks

    people = [person_at(500, 100), person_at(100, 200), person_at(900, 150)]
    size = (1000, 600)
    assert choose(people, "largest", size) == 1
    assert choose(people, "left", size) == 1
    assert choose(people, "right", size) == 2
    assert choose(people, "center", size) == 0


def test_wide_frames_are_searched_in_squares_too():
    assert search_windows(640, 640) == [(0, 0, 640, 640)]
    windows = search_windows(960, 360)
    assert windows[0] == (0, 0, 960, 360)
    squares = windows[1:]
    assert all(x1 - x0 == 360 and y1 - y0 == 360 for x0, y0, x1, y1 in squares)
    assert squares[0][0] == 0 and squares[-1][2] == 960
    # Neighbouring squares overlap by at least half a side: a person is whole in one of them.
    assert all(b[0] - a[0] <= 180 for a, b in zip(squares, squares[1:]))


def test_a_jump_is_doubtful_and_dropped_while_several_are_in_view():
    follower = PersonFollower("largest", 25.0)
    try:
        _, truth = render_clip("source", 3, 2)
        assert follower.accept(truth[0]) is not None
        jumped = truth[1].copy()
        jumped[:, 0] += 300.0  # somebody else, far away
        assert follower.accept(jumped) is not None  # one person known: counted, kept
        assert follower.doubtful == 1
        follower.several = True
        follower.box = None
        assert follower.accept(truth[1]) is not None
        assert follower.accept(jumped) is None  # several known: dropped, the track goes on
        assert follower.doubtful == 2 and follower.lost == 1
    finally:
        follower.close()


def test_an_unknown_person_choice_is_one_line(small, capsys):
    from conftest import entry_point_error

    line = entry_point_error("preprocess", small.overrides("preprocess", "data.crop.person=tallest"), capsys)
    assert "data.crop.person='tallest' is not known; use one of largest, left, right, center" in line
