"""Files and folders that appear only complete: written under a temporary name beside them, then renamed.

A kill, a full disk or an exception in the middle leaves the previous file or folder (or none)
under the final name, never half of one. A file's temporary name keeps the suffix, because some
writers (PyAV, torch.onnx) choose the format from it: `out/.transfer.partial.mp4` for
`out/transfer.mp4`. A folder's is `.tmp-<name>-<random>`, and holds the id of the process writing
it in `.owner` until it is renamed, so that one left by a killed process can be told from one
still being written (remove_abandoned_folders).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from motion_transfer.runtime.errors import UserError

#: What a full disk looks like: the errno of write() and close(), or numpy's own messages for a
#: short write (no errno): "Not enough free space to write N bytes", "N requested and M written".
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_DISK_FULL_WORDS = ("free space", "requested and")
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
#: The file in a temporary folder that names the process writing it.
_OWNER = ".owner"


def _free_bytes(path: Path) -> int | None:
    for folder in (path, *path.parents):
        if folder.exists():
            return shutil.disk_usage(folder).free
    return None


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e8 else f"{n / 1e9:.2f} GB"


def disk_error(err: OSError, folder: str | os.PathLike, needed_bytes: int | None = None) -> UserError | None:
    """A one-line UserError for a full disk or a folder that cannot be written, naming `folder`
    and the space needed where known; None for any other OSError (a crash)."""
    folder = Path(folder)
    if err.errno in _DISK_FULL or any(words in str(err) for words in _DISK_FULL_WORDS):
        free = _free_bytes(folder)
        wanted = f"{_megabytes(needed_bytes)} needed, " if needed_bytes else ""
        left = f"{_megabytes(free)} free" if free is not None else "no space left"
        return UserError(
            f"the disk holding '{folder}' is full ({wanted}{left}); free some space there or set "
            "paths.output_dir (and paths.cache_dir) to a folder on another disk."
        )
    if err.errno in _NOT_WRITABLE:
        return UserError(
            f"'{folder}' cannot be written ({os.strerror(err.errno).lower()}); make it writable or set "
            "paths.output_dir (and paths.cache_dir) to a folder you can write to."
        )
    return None


@contextmanager
def writing_into(folder: str | os.PathLike, needed_bytes: int | None = None) -> Iterator[None]:
    """Turn a full disk or an unwritable folder met inside the block into a one-line UserError."""
    try:
        yield
    except OSError as err:
        error = disk_error(err, folder, needed_bytes)
        if error is None:
            raise
        raise error from err


def partial_path(path: str | os.PathLike) -> Path:
    """The temporary name that `path` is written under."""
    path = Path(path)
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Give the complete temporary file `tmp` its final name (one atomic rename)."""
    os.replace(tmp, path)
    return Path(path)


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield the temporary path to write `path` under; rename it on success, remove it on failure
    (a full disk or an unwritable folder becomes a one-line UserError)."""
    tmp = partial_path(path)
    try:
        yield tmp
        publish(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)  # first: the free space reported is then the real one
        error = disk_error(err, Path(path).parent) if isinstance(err, OSError) else None
        if error is None:
            raise
        raise error from err


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    with atomic_file(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json_atomically(path: str | os.PathLike, data) -> Path:
    """Strict JSON (NaN refused: give None instead), written atomically."""
    return write_text_atomically(path, json.dumps(data, indent=2, allow_nan=False))


@contextmanager
def atomic_folder(folder: str | os.PathLike, needed_bytes: int | None = None) -> Iterator[Path]:
    """Yield a new, empty temporary folder beside `folder` to write its content into. When the block
    ends, the temporary folder replaces `folder` (a folder already there is moved aside and deleted);
    on any failure it is removed. A full disk or an unwritable folder becomes a one-line UserError,
    naming `needed_bytes` where given."""
    folder = Path(folder)
    tmp = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=folder.parent))
        (tmp / _OWNER).write_text(str(os.getpid()))
        yield tmp
        (tmp / _OWNER).unlink()
        if folder.exists():
            stale = folder.with_name(f".old-{folder.name}-{os.getpid()}")
            os.replace(folder, stale)
            shutil.rmtree(stale, ignore_errors=True)
        os.replace(tmp, folder)
    except BaseException as err:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)  # first: the free space reported is then the real one
        error = disk_error(err, folder.parent, needed_bytes) if isinstance(err, OSError) else None
        if error is None:
            raise
        raise error from err


def remove_abandoned_folders(parent: str | os.PathLike) -> None:
    """Delete the temporary folders of atomic_folder in `parent` whose writing process is gone (killed
    before it could finish or clean up); those of live processes are left alone."""
    for tmp in Path(parent).glob(".tmp-*"):
        try:
            pid = int((tmp / _OWNER).read_text())
            os.kill(pid, 0)
            continue  # still being written by a live process
        except (OSError, ValueError):
            shutil.rmtree(tmp, ignore_errors=True)
