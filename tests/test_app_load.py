"""The page under load: jobs beyond max_jobs wait in the queue with their place given, one beyond
max_queued is refused with a message, and uploads of one file name at once never overwrite each other."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import compose
from motion_transfer.app.actions import PageActions
from motion_transfer.app.jobs import new_job_folder, store_upload
from motion_transfer.app.runs import EMBEDDED
from motion_transfer.app.settings import AppSettings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_clip(path: Path, seed: int) -> Path:
    from motion_transfer.data.synthetic import render_clip
    from motion_transfer.data.video import VideoWriter

    frames, _ = render_clip("source", 8, seed, width=96, height=64)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = VideoWriter(path, 25.0, 96, 64)
    writer.write(frames)
    return writer.close()


@pytest.fixture
def page(tmp_path, monkeypatch):
    """The page served in this process on a free port (max_jobs=1, max_queued=1), its transfers held
    until `release` is set: (base URL, release event, the settings)."""
    from motion_transfer.app.page import launch_page

    monkeypatch.delenv("MOTION_TRANSFER_PASSWORD", raising=False)
    port = free_port()
    overrides = [f"paths.output_dir={tmp_path}", "clip_folders=[]", "max_jobs=1", "max_queued=1", f"server_port={port}"]
    settings = AppSettings.from_config(compose("app", overrides))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(settings.app_dir / "gradio"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    actions = PageActions(settings)
    release = threading.Event()

    def held_transfer(*args, progress=None):
        yield ("Running…", None, None, None)
        release.wait(60)
        yield ("Done.", None, None, None)

    monkeypatch.setattr(actions, "transfer", held_transfer)
    blocks = launch_page(settings, actions)
    try:
        yield f"http://127.0.0.1:{port}/", release, settings
    finally:
        release.set()
        blocks.close()


@pytest.mark.slow
def test_jobs_beyond_max_jobs_wait_with_their_place_and_one_beyond_the_queue_is_refused(page):
    from gradio_client import Client
    from gradio_client.utils import Status

    url, release, _ = page
    client = Client(url, verbose=False, download_files=False)
    arguments = (EMBEDDED, None, EMBEDDED, None, "nearest", None)
    running = client.submit(*arguments, api_name="/transfer")
    assert wait_until(lambda: running.status().code == Status.ITERATING)  # the job's first message is out
    waiting = client.submit(*arguments, api_name="/transfer")
    assert wait_until(lambda: waiting.status().code == Status.IN_QUEUE and waiting.status().rank is not None)
    place = waiting.status()
    assert (place.rank, place.queue_size) == (0, 1)  # first in line (Gradio counts from 0), one waiting
    refused = client.submit(*arguments, api_name="/transfer")
    with pytest.raises(Exception, match="Queue is full"):  # the page shows it as an error
        refused.result(timeout=30)
    release.set()
    assert running.result(timeout=30)[0] == "Done." and waiting.result(timeout=30)[0] == "Done."


def wait_until(predicate, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_two_uploads_of_one_file_name_at_once_never_overwrite_each_other(page, tmp_path):
    url, _, settings = page
    first, second = write_clip(tmp_path / "a" / "clip.mp4", 1), write_clip(tmp_path / "b" / "clip.mp4", 2)
    contents = [first.read_bytes(), second.read_bytes()]
    assert contents[0] != contents[1]
    stored, start = [None, None], threading.Barrier(2)

    def upload(i: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as visitor:
            start.wait()
            served = visitor.post("gradio_api/upload", files={"files": ("clip.mp4", contents[i])}).json()[0]
            # Then the job copies it into its own folder, as the Transfer button does.
            stored[i] = store_upload(served, "target", new_job_folder(settings.jobs_dir), max_upload_mb=5)

    threads = [threading.Thread(target=upload, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stored[0] != stored[1] and stored[0].name == stored[1].name == "clip.mp4"
    assert [path.read_bytes() for path in stored] == contents
