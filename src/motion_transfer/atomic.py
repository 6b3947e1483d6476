"""Files that appear only complete: written under a temporary name beside them, then renamed.

A kill, a full disk or an exception in the middle leaves the previous file (or none) under the
final name, never half of one. The temporary name keeps the suffix, because some writers (PyAV,
torch.onnx) choose the format from it: `out/.transfer.partial.mp4` for `out/transfer.mp4`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
    """Yield the temporary path to write `path` under; rename it on success, remove it on failure."""
    tmp = partial_path(path)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    publish(tmp, path)


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    with atomic_file(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json_atomically(path: str | os.PathLike, data) -> Path:
    """Strict JSON (NaN refused: give None instead), written atomically."""
    return write_text_atomically(path, json.dumps(data, indent=2, allow_nan=False))
