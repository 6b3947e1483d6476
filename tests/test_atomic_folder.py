"""Folders that appear only complete: written beside their final name, renamed into place on success,
removed on failure; temporaries of killed writers are cleaned, those of live ones kept."""

import errno
import os
import subprocess

import pytest

from motion_transfer.runtime.atomic import atomic_folder, remove_abandoned_folders
from motion_transfer.runtime.errors import UserError


def test_a_written_folder_appears_complete_under_its_final_name(tmp_path):
    final = tmp_path / "outputs" / "cache-1234"
    with atomic_folder(final) as tmp:
        assert tmp.parent == final.parent and tmp.name.startswith(".tmp-cache-1234-")
        assert (tmp / ".owner").read_text() == str(os.getpid())
        assert not final.exists()
        (tmp / "arrays.npy").write_bytes(b"\1" * 16)
    assert sorted(p.name for p in final.iterdir()) == ["arrays.npy"]  # the owner file is not published
    assert sorted(p.name for p in final.parent.iterdir()) == ["cache-1234"]


def test_a_folder_already_there_is_replaced_whole(tmp_path):
    final = tmp_path / "cache-1234"
    final.mkdir()
    (final / "old.npy").write_bytes(b"old")
    with atomic_folder(final) as tmp:
        (tmp / "new.npy").write_bytes(b"new")
    assert sorted(p.name for p in final.iterdir()) == ["new.npy"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache-1234"]  # no `.old-*` left behind


def test_a_failed_write_leaves_the_previous_folder_and_no_temporary(tmp_path):
    final = tmp_path / "cache-1234"
    final.mkdir()
    (final / "old.npy").write_bytes(b"old")
    with pytest.raises(RuntimeError, match="stopped"), atomic_folder(final) as tmp:
        (tmp / "new.npy").write_bytes(b"half")
        raise RuntimeError("stopped")
    assert sorted(p.name for p in final.iterdir()) == ["old.npy"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache-1234"]


def test_a_full_disk_is_one_line_with_the_space_needed(tmp_path):
    final = tmp_path / "cache-1234"
    with pytest.raises(UserError, match="is full") as raised, atomic_folder(final, needed_bytes=5_000_000):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert f"'{tmp_path}'" in str(raised.value) and "5.0 MB needed" in str(raised.value)
    assert not list(tmp_path.iterdir())


def test_other_errors_pass_through(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_folder(tmp_path / "cache-1234") as tmp:
        (tmp / "missing" / "file").read_bytes()
    assert not list(tmp_path.iterdir())


def test_abandoned_temporaries_are_removed_and_live_ones_kept(tmp_path):
    """Temporary folders whose writer is gone are deleted (before a video cache is built)."""
    gone = subprocess.Popen(["true"])
    gone.wait()  # its process id no longer runs
    folders = {"dead": str(gone.pid), "live": str(os.getpid()), "garbled": "not a process id"}
    for name, owner in folders.items():
        (tmp_path / f".tmp-{name}").mkdir()
        (tmp_path / f".tmp-{name}" / ".owner").write_text(owner)
        (tmp_path / f".tmp-{name}" / "crops.npy").write_bytes(b"\0" * 64)
    (tmp_path / ".tmp-no-owner").mkdir()
    remove_abandoned_folders(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-live"]
