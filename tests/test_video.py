"""Reading frames ahead on a worker thread gives the same frames, stops cleanly, and passes errors on."""

import threading

import numpy as np
import pytest

from motion_transfer.data import video
from motion_transfer.data.video import VideoWriter, decoded_ahead, iter_frames


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


#: The MP4 track header's display matrix (a, b, u, c, d, v, x, y, w; 16.16 and 2.30 fixed point)
#: for a player to turn the stored pixels by this many degrees clockwise, as phones write it.
_DISPLAY_MATRICES = {
    90: (0, 0x00010000, 0, 0xFFFF0000, 0, 0, 0, 0, 0x40000000),
    180: (0xFFFF0000, 0, 0, 0, 0xFFFF0000, 0, 0, 0, 0x40000000),
    270: (0, 0xFFFF0000, 0, 0x00010000, 0, 0, 0, 0, 0x40000000),
}


def write_phone_clip(path, upright: np.ndarray, rotation: int, fps: float = 25.0):
    """`upright` (N, H, W, 3) frames stored turned by `rotation` degrees the other way, with the
    rotation tag in the track header that makes a player show them upright again."""
    import struct

    stored = np.ascontiguousarray(np.rot90(upright, k=rotation // 90, axes=(1, 2)))
    writer = VideoWriter(path, fps, stored.shape[2], stored.shape[1], crf=12)
    writer.write(stored)
    writer.close()
    data = bytearray(path.read_bytes())
    box = data.find(b"tkhd") - 4
    matrix_at = box + (48 if data[box + 8] == 0 else 60)  # after the version 0 or 1 header fields
    data[matrix_at : matrix_at + 36] = struct.pack(">9I", *_DISPLAY_MATRICES[rotation])
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_a_phone_clip_is_read_upright(tmp_path, rotation):
    upright = np.zeros((6, 64, 48, 3), dtype=np.uint8)  # portrait, 48 wide and 64 high
    upright[:, :16, :8] = (255, 0, 0)  # a red block at the top left
    upright[:, -8:, -16:] = (0, 0, 255)  # a blue one at the bottom right
    path = write_phone_clip(tmp_path / f"phone{rotation}.mp4", upright, rotation)
    info = video.probe_video(path)
    assert (info.width, info.height, info.rotation) == (48, 64, rotation)
    frames = np.stack(list(iter_frames(path)))
    assert frames.shape == upright.shape
    assert np.abs(frames.astype(int) - upright).mean() < 4
    assert (np.stack(list(decoded_ahead(path))) == frames).all()


def test_a_clip_without_a_tag_is_read_as_stored(clip):
    info = video.probe_video(clip)
    assert (info.width, info.height, info.rotation) == (64, 48, 0)
