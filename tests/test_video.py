"""Reading frames ahead on a worker thread gives the same frames, stops cleanly, and passes errors on."""

import threading

import numpy as np
import pytest

from motion_transfer import video
from motion_transfer.video import VideoWriter, decoded_ahead, iter_frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 30-frame clip whose frames differ (a bar moving across)."""
    path = tmp_path_factory.mktemp("clip") / "bar.mp4"
    frames = np.zeros((30, 48, 64, 3), dtype=np.uint8)
    for i in range(30):
        frames[i, :, 2 * i : 2 * i + 4] = 255
    writer = VideoWriter(path, 25.0, 64, 48)
    writer.write(frames)
    writer.close()
    return path


def _decoder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "video-decoder"]


def test_frames_read_ahead_are_the_frames_read_in_order(clip):
    expected = list(iter_frames(clip))
    got = list(decoded_ahead(clip, depth=3))
    assert len(got) == len(expected) == 30
    assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    assert not _decoder_threads()


def test_stopping_early_stops_the_decoder(clip):
    frames = decoded_ahead(clip, depth=2)
    first = [next(frames) for _ in range(3)]
    assert len(first) == 3 and _decoder_threads()
    frames.close()
    assert not _decoder_threads()


def test_a_decoding_error_reaches_the_caller(clip, monkeypatch):
    def broken(path):
        yield np.zeros((4, 4, 3), dtype=np.uint8)
        raise OSError("read error")

    monkeypatch.setattr(video, "iter_frames", broken)
    frames = decoded_ahead(clip)
    assert next(frames).shape == (4, 4, 3)
    with pytest.raises(OSError, match="read error"):
        next(frames)
    assert not _decoder_threads()
