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
    def broken(path, start=0):
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


# -- damaged files ----------------------------------------------------------------------------------------------


def write_mp4v(path, frames: np.ndarray, fps: float = 25.0):
    """`frames` (N, H, W, 3) RGB as MPEG-4 part 2 with OpenCV's writer: a keyframe every 12 frames, so
    the frames after a damaged stretch decode exactly once the next keyframe comes."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frames.shape[2], frames.shape[1]))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def damage(path, out, start: float, length: int | None, spots: int = 1):
    """A copy of `path` with `length` bytes of its media data (mdat) overwritten by random ones at
    `spots` places 300 bytes apart from `start` (a share of the media data) on; all of it when `length`
    is None."""
    data = bytearray(path.read_bytes())
    at = data.find(b"mdat") + 4
    size = int.from_bytes(data[at - 8 : at - 4], "big") - 8
    rng = np.random.default_rng(0)
    for spot in range(spots):
        first = at + int(start * size) + 300 * spot
        last = at + size if length is None else first + length
        data[first:last] = rng.integers(0, 256, last - first, dtype=np.uint8).tobytes()
    out.write_bytes(bytes(data))
    return out


@pytest.fixture(scope="module")
def moving_bar(tmp_path_factory):
    """60 frames of 64x48 that each differ (a bar moving across), in MPEG-4 part 2."""
    frames = np.zeros((60, 48, 64, 3), dtype=np.uint8)
    for i in range(60):
        frames[i, :, i : i + 4] = 255
    return write_mp4v(tmp_path_factory.mktemp("bar") / "bar.mp4", frames)


def test_a_clip_damaged_in_the_middle_is_read_past_the_damage_and_counted(moving_bar, tmp_path, caplog):
    clean = list(iter_frames(moving_bar))
    damaged = damage(moving_bar, tmp_path / "damaged.mp4", start=0.5, length=200)
    with caplog.at_level("WARNING", logger="motion_transfer.data.video"):
        frames = list(iter_frames(damaged))
        again = list(decoded_ahead(damaged))  # a second pass: the same frames, said once
    lost = len(clean) - len(frames)
    assert len(clean) == 60 and 0 < lost <= 12 and len(again) == len(frames)
    assert all(np.array_equal(a, b) for a, b in zip(frames[-12:], clean[-12:]))  # the end is the clip's
    said = [r.getMessage() for r in caplog.records if "could not be decoded" in r.getMessage()]
    assert said == [
        f"'damaged.mp4': {lost} frames could not be decoded (damaged packets) and are left out; "
        "the rest of the clip is used."
    ]
    assert video.probe_video(damaged).frame_count == 60


def test_a_clip_with_nothing_decodable_is_one_error(moving_bar, tmp_path):
    from motion_transfer.runtime.errors import UserError

    ruined = damage(moving_bar, tmp_path / "ruined.mp4", start=0.0, length=None)
    with pytest.raises(UserError) as refused:
        video.probe_video(ruined, "source_video")
    assert str(refused.value) == (
        f"source_video: '{ruined}' contains no decodable frame; the file may be truncated or not a video."
    )
    assert list(iter_frames(ruined)) == []


@pytest.mark.slow
def test_preprocessing_a_damaged_clip_uses_the_rest_and_a_ruined_one_is_one_line(tmp_path):
    """As a user sees it (src/preprocess.py): a clip damaged in the middle is cached with one warning
    line counting the frames left out; a clip with nothing decodable is one error line, exit 2; no
    line of FFmpeg's own either way."""
    import json
    from pathlib import Path

    from conftest import last_line, run_script
    from motion_transfer.data.synthetic import render_clip

    frames, _ = render_clip("source", 75, 1, width=160, height=128)
    writer = VideoWriter(tmp_path / "dancer.mp4", 25.0, 160, 128)  # H.264, as phones and cameras write
    writer.write(frames)
    clip = writer.close()
    damaged = damage(clip, tmp_path / "damaged.mp4", start=0.3, length=120, spots=10)
    ruined = damage(clip, tmp_path / "ruined.mp4", start=0.0, length=None)
    decoded = len(list(iter_frames(damaged)))
    assert 68 <= decoded < 75  # fewer than 10% lost: cache_building takes more for a truncated file

    used = run_script("preprocess", f"video={damaged}", outputs=tmp_path / "outputs", timeout=300)
    assert used.returncode == 0, used.stderr[-3000:]
    said = [line for line in used.stderr.splitlines() if "could not be decoded" in line]
    assert len(said) == 1 and f"'damaged.mp4': {75 - decoded} frames could not be decoded" in said[0], said
    meta = json.loads((Path(last_line(used.stdout).split(": ", 1)[1]) / "meta.json").read_text())
    assert (meta["n_frames"], meta["frame_count_header"]) == (decoded, 75)  # the cache holds the frames that decoded

    refused = run_script("preprocess", f"video={ruined}", outputs=tmp_path / "outputs", timeout=300)
    assert refused.returncode == 2
    errors = [line for line in refused.stderr.splitlines() if line.strip()]
    said = f"error: video: '{ruined}' contains no decodable frame; the file may be truncated or not a video."
    assert errors == [said]
    for result in (used, refused):
        assert "[mpeg4 @" not in result.stderr and "[h264 @" not in result.stderr and "Traceback" not in result.stderr
