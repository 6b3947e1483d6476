"""The native-resolution person store: each frame's person at the resolution it has in the video.

The skeleton cache (cache.py) holds the person at its working resolution (256 px), so a generator
that draws there is upscaled to the person's box in the output (boxes of 357-523 px in the 960x720
taichi2 clip, about 1,000 px in a phone clip) and looks soft beside the pixel-sharp scene. Real
pixels of the person at full resolution exist in the clip itself; this store keeps them, for
generators that move real pixels (retrieval and warping) instead of drawing them.

Frame i's stored square is the cache's crop box `cache.boxes[i]`, cut by crop.crop_frame (so edge
pixels repeat outside the frame, as in the cache's crops) at side `sides[i] = min(round(box side),
max_side)`: never upscaled past the box's own pixel size, and capped because a box of a phone clip
can be 1,000 px or more. `cache.skeletons[i] * sides[i]` are then the joints in stored pixels.
Frames without a person (`cache.detected` False) store nothing and have side 0.

Colours are JPEG and masks PNG, one image per frame, appended to one data file (`person.bin`): a
raw array of 901 frames at 768x768x3 is 1.6 GB, too much to hold, and one file of compressed
frames keeps the folder small and its reads to one seek. `colour_index.npy` and `mask_index.npy`
(N, 2) int64 give each frame's (offset, length) in it (length 0 for a frame without a person);
`sides.npy` (N,) int32 and `boxes.npy` (N, 3) are the sides and the cache's boxes; `meta.json`
is written last and records every file's size, so a folder is trusted only when complete.

The cache holds masks at its working resolution only. A stored mask larger than that is the cache's
mask upsampled (bicubic), its edges moved onto the outline of the native colours by a guided filter
(guide: the native crop), then steepened around 0.5 (MASK_GAIN), since a real outline is one or two
pixels wide while an upsampled edge spreads over the scale factor; a smaller one is the cache's mask
reduced. The exact native mask is known only for the synthetic clips: `native_mask` says what was
measured there.

A store folder sits beside its cache under the cache root, named after the cache's folder, `native`
and max_side, and a key of (the cache's key, max_side, STORE_VERSION, the encoding settings); it is
written into a temporary folder and renamed (runtime.atomic.atomic_folder), reused while intact,
rebuilt when damaged or forced. Building streams the clip once: frames are decoded in order, cut, refined and
encoded on a few threads (a handful of frames in flight) and appended in order, so memory does not grow with
the clip's length.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from motion_transfer.data.cache import SkeletonCache
from motion_transfer.pose.crop import crop_frame
from motion_transfer.runtime.atomic import atomic_folder, remove_abandoned_folders
from motion_transfer.runtime.progress import progress_bar

log = logging.getLogger(__name__)

STORE_VERSION = 1
#: JPEG quality of the colours. On taichi2's crops (61 frames, 4:2:0 chroma), 95 takes 32 kB a frame with a
#: mean error of 0.67 grey levels, 90 takes 22 kB with 0.81: the 10 MB more a 901-frame clip costs buys detail.
JPEG_QUALITY = 95
#: zlib level of the mask PNGs: on taichi2, level 1 gives 9.8 kB a frame in 4 ms, level 9 7.6 kB in 26 ms.
PNG_COMPRESSION = 1
#: The guided filter's radius as a share of the upsampling factor (stored side / cache side), at least 1 px,
#: and its regularisation in squared grey levels of the guide (0..255).
MASK_RADIUS_SHARE = 0.5
MASK_EPS = 5.0
#: The refined mask is steepened around 0.5 by this factor (then clipped to 0..1).
MASK_GAIN = 2.0
#: Everything a stored frame depends on besides the cache and max_side: a change rebuilds the store.
ENCODING = {
    "colours": {"format": "jpeg", "quality": JPEG_QUALITY},
    "masks": {"format": "png", "compression": PNG_COMPRESSION},
    "mask_refinement": {
        "upsampling": "bicubic",
        "guided_filter": {"radius_share": MASK_RADIUS_SHARE, "eps": MASK_EPS},
        "gain": MASK_GAIN,
    },
}
#: Frames between two releases of the cache's mask pages read so far (_release_pages).
RELEASE_EVERY = 64
#: Threads that cut, refine and encode frames while the next ones decode (OpenCV releases the GIL): at most
#: the CPU's cores. Frames in flight are bounded by IN_FLIGHT per thread, so memory does not grow with the clip.
ENCODE_THREADS = 4
IN_FLIGHT = 2
DATA_FILE = "person.bin"
ARRAY_FILES = ("colour_index.npy", "mask_index.npy", "sides.npy", "boxes.npy")


class StoreDamaged(Exception):
    """A person store folder is incomplete or inconsistent with its meta.json."""


@dataclass
class PersonStore:
    """Each frame's person crop at the video's own resolution: frame i's square is the cache's crop box
    at side `sides[i]` (at most the box's own side and max_side), decoded on demand by `person(i)`.

    path: the store's folder; sides (N,) int32 (0 where the frame has no person); boxes (N, 3) float64
    the crop boxes (cx, cy, side) in frame pixels (the cache's boxes); meta: meta.json's content
    (frame_size, max_side, the cache's key and name, the encoding). colour_index and mask_index (N, 2)
    int64 are each frame's (offset, length) in the data file.
    """

    path: Path
    sides: np.ndarray
    boxes: np.ndarray
    meta: dict
    colour_index: np.ndarray = field(repr=False)
    mask_index: np.ndarray = field(repr=False)
    # The data file, mapped on first use (and again in each process a store is pickled to).
    _data: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.sides)

    @property
    def max_side(self) -> int:
        return int(self.meta["max_side"])

    def person(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(s, s, 3) uint8 RGB colours and (s, s) uint8 mask 0..255 of frame i, s = sides[i], decoded
        now (cv2.imdecode); (0, 0, 3) and (0, 0) for a frame without a person."""
        s = int(self.sides[i])
        if s == 0:
            return np.zeros((0, 0, 3), np.uint8), np.zeros((0, 0), np.uint8)
        bgr = cv2.imdecode(self._bytes(self.colour_index[i]), cv2.IMREAD_COLOR)
        mask = cv2.imdecode(self._bytes(self.mask_index[i]), cv2.IMREAD_GRAYSCALE)
        if bgr is None or mask is None or bgr.shape[:2] != (s, s) or mask.shape != (s, s):
            raise StoreDamaged(f"{self.path}: frame {i} does not decode to {s}x{s} pixels")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), mask

    def _bytes(self, row: np.ndarray) -> np.ndarray:
        if self._data is None:
            self._data = np.memmap(self.path / DATA_FILE, dtype=np.uint8, mode="r")
        offset, length = int(row[0]), int(row[1])
        return self._data[offset : offset + length]

    def __getstate__(self) -> dict:
        # A memmap pickles as a copy of the whole file: workers map it again instead.
        return {**self.__dict__, "_data": None}

    @classmethod
    def load(cls, path: Path) -> PersonStore:
        """Open a store folder, checking it against its meta.json; raises StoreDamaged."""
        path = Path(path)
        try:
            meta = json.loads((path / "meta.json").read_text())
        except (OSError, ValueError) as err:
            raise StoreDamaged(f"{path}: meta.json unreadable ({err})") from err
        if meta.get("version") != STORE_VERSION:
            raise StoreDamaged(f"{path}: store version {meta.get('version')} != {STORE_VERSION}")
        files = meta.get("files", {})
        for name in (DATA_FILE, *ARRAY_FILES):
            file = path / name
            if not file.is_file() or files.get(name) != file.stat().st_size:
                raise StoreDamaged(f"{path}: {name} missing or of the wrong size")
        try:
            arrays = {name[: -len(".npy")]: np.load(path / name) for name in ARRAY_FILES}
        except (OSError, ValueError) as err:
            raise StoreDamaged(f"{path}: an index is unreadable ({err})") from err
        n = meta.get("n_frames")
        shapes = {"colour_index": (n, 2), "mask_index": (n, 2), "sides": (n,), "boxes": (n, 3)}
        if any(arrays[name].shape != shape for name, shape in shapes.items()):
            raise StoreDamaged(f"{path}: the index arrays do not match {n} frames")
        size = files[DATA_FILE]
        for name in ("colour_index", "mask_index"):
            index = arrays[name]
            stored = index[:, 1] > 0
            if (index < 0).any() or (index.sum(axis=1) > size).any() or (stored != (arrays["sides"] > 0)).any():
                raise StoreDamaged(f"{path}: {name} points outside the data file")
        return cls(path=path, meta=meta, **arrays)


def store_key(cache_key: str, max_side: int) -> str:
    """The key of a store: its cache's key, max_side, STORE_VERSION and the encoding settings."""
    blob = json.dumps(
        {"cache": cache_key, "max_side": int(max_side), "version": STORE_VERSION, "encoding": ENCODING}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def store_folder(cache: SkeletonCache, cache_root: Path, max_side: int) -> Path:
    """Where the store of `cache` at `max_side` lives: beside the cache, under `cache_root`."""
    return Path(cache_root) / f"{cache.path.name}-native{int(max_side)}-{store_key(cache.key, max_side)}"


def stored_sides(boxes: np.ndarray, detected: np.ndarray, max_side: int) -> np.ndarray:
    """(N,) int32 the stored side of each frame: the box's side in pixels, at most max_side, at least
    1; 0 where no person was found."""
    sides = np.clip(np.round(np.asarray(boxes, dtype=np.float64)[:, 2]), 1, int(max_side)).astype(np.int32)
    return np.where(np.asarray(detected, dtype=bool), sides, 0).astype(np.int32)


def upsampled_mask(mask: np.ndarray, side: int) -> np.ndarray:
    """A cache mask (R, R) uint8 enlarged to (side, side) float32 in [0, 1], bicubic (closer to the
    synthetic clip's exact masks than bilinear)."""
    resized = cv2.resize(np.ascontiguousarray(mask), (side, side), interpolation=cv2.INTER_CUBIC)
    return np.clip(resized.astype(np.float32) / 255.0, 0.0, 1.0)


def native_mask(mask: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """A cache mask (R, R) uint8 0..255 brought to the native crop `colours` (s, s, 3) uint8: upsampled,
    its edges moved onto the colours' outline by a guided filter (guide: the colours), then steepened
    around 0.5 by MASK_GAIN. Returns (s, s) uint8 0..255.

    Against the exact native mask of the synthetic target rendered at 960x768 (20 frames, stored sides of
    514-548 px from a 256-px cache), bilinear upsampling is off by 1.08 grey levels on average with an IoU
    of 0.9950, this by 0.34 with 0.9976; from a 128-px cache, 2.36 and 0.9825 against 0.39 and 0.9930.
    When the stored side is not larger than the cache's, refining (1.24 grey levels) or an area reduction
    (0.63) was farther from the exact mask than a bilinear reduction (0.44, the 320x256 clip): that is kept."""
    side = colours.shape[0]
    if side <= mask.shape[0]:
        # The cache's mask already holds the detail (measured above).
        return cv2.resize(np.ascontiguousarray(mask), (side, side), interpolation=cv2.INTER_LINEAR)
    soft = upsampled_mask(mask, side)
    rows, cols = np.flatnonzero(soft.max(axis=1) > 0), np.flatnonzero(soft.max(axis=0) > 0)
    if len(rows) == 0:
        return np.zeros((side, side), np.uint8)
    radius = max(1, int(round(MASK_RADIUS_SHARE * side / mask.shape[0])))
    # Filtered around the mask's support only: farther than 2 radii from it every window is all zero, and so
    # is the filter's output (the same result as over the whole square, in about half the time).
    pad = 2 * radius + 2
    y0, y1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, side)
    x0, x1 = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, side)
    refined = soft
    guide = np.ascontiguousarray(colours[y0:y1, x0:x1])
    refined[y0:y1, x0:x1] = cv2.ximgproc.guidedFilter(guide, np.ascontiguousarray(soft[y0:y1, x0:x1]), radius, MASK_EPS)
    refined = (refined - 0.5) * MASK_GAIN + 0.5
    return np.round(np.clip(refined, 0.0, 1.0) * 255.0).astype(np.uint8)


def encode_person(colours: np.ndarray, mask: np.ndarray) -> tuple[bytes, bytes]:
    """One frame's colours (s, s, 3) uint8 RGB and mask (s, s) uint8 as JPEG and PNG bytes."""
    bgr = cv2.cvtColor(colours, cv2.COLOR_RGB2BGR)
    ok_colours, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    ok_mask, png = cv2.imencode(".png", mask, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not (ok_colours and ok_mask):
        raise RuntimeError("could not encode a person crop")
    return jpeg.tobytes(), png.tobytes()


def _encoded(frame: np.ndarray, box: np.ndarray, side: int, cache_mask: np.ndarray) -> tuple[bytes, bytes]:
    """One frame's person cut at `side`, its mask refined, both encoded (data/person_store's file format)."""
    colours = crop_frame(frame, box, side)
    return encode_person(colours, native_mask(cache_mask, colours))


def load_or_build_person_store(
    cache: SkeletonCache,
    frames: Callable[[], Iterator[np.ndarray]],
    cache_root: Path,
    max_side: int = 768,
    force: bool = False,
    progress: bool = True,
) -> PersonStore:
    """The person store of `cache` at `max_side`: reused when present and intact, built otherwise.

    frames: called only when building; yields the clip's full (H, W, 3) uint8 RGB frames in order,
    the frames the cache was built from (e.g. `lambda: video.decoded_ahead(path)`, or the synthetic
    renderer's frames).
    """
    max_side = int(max_side)
    if max_side < 1:
        raise ValueError(f"max_side must be a positive number of pixels, got {max_side}")
    folder = store_folder(cache, cache_root, max_side)
    if not force:
        stored = _try_load(folder, store_key(cache.key, max_side))
        if stored is not None:
            return stored
    if folder.parent.is_dir():
        remove_abandoned_folders(folder.parent)
    log.info("building the native-resolution person store of %s into %s", cache.name, folder)
    started = time.perf_counter()
    with atomic_folder(folder) as tmp:
        meta = _write_store(tmp, cache, frames, max_side, progress)
        meta["build_seconds"] = round(time.perf_counter() - started, 2)
        # meta.json last: a folder without it is never trusted.
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    return PersonStore.load(folder)


def _write_store(
    tmp: Path, cache: SkeletonCache, frames: Callable[[], Iterator[np.ndarray]], max_side: int, progress: bool
) -> dict:
    """Cut, refine, encode and append every frame into `tmp`; the index files written; returns the meta
    (without build_seconds)."""
    n = cache.n_frames
    boxes = np.asarray(cache.boxes, dtype=np.float64)
    sides = stored_sides(boxes, cache.detected, max_side)
    width, height = (int(v) for v in cache.meta["frame_size"])
    colour_index = np.zeros((n, 2), np.int64)
    mask_index = np.zeros((n, 2), np.int64)
    bar = progress_bar(n, f"native crops {cache.name}", enabled=progress, leave=False)
    source = frames()
    count = 0
    threads = max(1, min(ENCODE_THREADS, os.cpu_count() or 1))
    pending: deque[tuple[int, Future | None]] = deque()
    try:
        with open(tmp / DATA_FILE, "wb") as data, ThreadPoolExecutor(threads) as pool:

            def append_oldest() -> None:
                i, job = pending.popleft()
                if job is not None:
                    jpeg, png = job.result()
                    colour_index[i] = (data.tell(), len(jpeg))
                    data.write(jpeg)
                    mask_index[i] = (data.tell(), len(png))
                    data.write(png)
                bar.update()

            # range first: zip stops there without drawing one frame more from the source.
            for i, frame in zip(range(n), source):
                count += 1
                if frame.shape != (height, width, 3):
                    raise ValueError(
                        f"frame {i} of {cache.name} is {frame.shape}, the cache's frames are ({height}, {width}, 3)"
                    )
                # The mask is copied here: its pages are released below, while the job may still be queued.
                job = (
                    pool.submit(_encoded, frame, boxes[i], int(sides[i]), np.array(cache.masks[i]))
                    if sides[i]
                    else None
                )
                pending.append((i, job))
                if i % RELEASE_EVERY == RELEASE_EVERY - 1:
                    _release_pages(cache.masks)
                while len(pending) > IN_FLIGHT * threads:
                    append_oldest()
            while pending:
                append_oldest()
    finally:
        for _, job in pending:  # an error above: drop what is queued
            if job is not None:
                job.cancel()
        bar.close()
        close = getattr(source, "close", None)
        if close is not None:
            close()  # a decoder thread (video.decoded_ahead) stops and releases the file
    if count != n:
        raise ValueError(f"the frames of {cache.name} ended after {count} of the cache's {n}")
    np.save(tmp / "colour_index.npy", colour_index)
    np.save(tmp / "mask_index.npy", mask_index)
    np.save(tmp / "sides.npy", sides)
    np.save(tmp / "boxes.npy", boxes)
    files = {name: (tmp / name).stat().st_size for name in (DATA_FILE, *ARRAY_FILES)}
    people = sides[sides > 0]
    return {
        "version": STORE_VERSION,
        "key": store_key(cache.key, max_side),
        # The cache's identity under "cache", not "source"/"params": the page tells caches by those.
        "cache": {"key": cache.key, "name": cache.name, "folder": cache.path.name},
        "max_side": max_side,
        "frame_size": [width, height],
        "n_frames": n,
        "n_people": int(len(people)),
        "side_range": [int(people.min()), int(people.max())] if len(people) else [0, 0],
        "encoding": ENCODING,
        "files": files,
    }


def _release_pages(array: np.ndarray) -> None:
    """Let go of the pages of a memory-mapped array read so far. Read pages of a mapping count in the
    process's resident memory until it is closed: the cache's masks, read one after another, would
    otherwise make it grow with the clip's length (they stay in the kernel's file cache)."""
    mapping = getattr(array, "_mmap", None)  # numpy.memmap's mapping; none for an array in memory
    if mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


def _try_load(folder: Path, key: str) -> PersonStore | None:
    if not folder.exists():
        return None
    try:
        store = PersonStore.load(folder)
    except StoreDamaged as err:
        log.warning("rebuilding a damaged person store: %s", err)
        return None
    if store.meta.get("key") != key:
        log.warning("rebuilding the person store %s: its key does not match", folder)
        return None
    return store
