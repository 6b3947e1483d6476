"""The page beyond loopback: no start without a password, a login before anything is shown, and only
the page's own folders served (app/door.py)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, compose, last_line, terminate
from motion_transfer.app.door import blocked_paths, credentials_for, is_loopback, served_paths
from motion_transfer.app.jobs import new_job_folder
from motion_transfer.app.settings import AppSettings
from motion_transfer.runtime.errors import UserError

PASSWORD = "correct horse battery"
ENV = "MOTION_TRANSFER_PASSWORD"


def settings(outputs: Path, *extra: str) -> AppSettings:
    return AppSettings.from_config(compose("app", [f"paths.output_dir={outputs}", "clip_folders=[]", *extra]))


@pytest.fixture
def no_password(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


def refusal(outputs: Path, *extra: str) -> str:
    with pytest.raises(UserError) as refused:
        settings(outputs, *extra)
    message = str(refused.value)
    assert "\n" not in message and message.endswith(".")
    return message


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_a_page_beyond_loopback_needs_a_password(tmp_path, no_password, host):
    message = refusal(tmp_path, f"server_name='{host}'")
    assert message.startswith(f"server_name={host} opens the page to the network, so it needs a password")
    assert ENV in message and "password_file=" in message


def test_the_password_comes_from_the_environment_or_a_named_file(tmp_path, no_password, monkeypatch):
    assert settings(tmp_path).credentials is None  # loopback, no password: no login
    monkeypatch.setenv(ENV, PASSWORD)
    page = settings(tmp_path, "server_name=0.0.0.0").credentials
    assert (page.user, page.password) == ("motion", PASSWORD) and ENV in page.origin
    assert settings(tmp_path).credentials.password == PASSWORD  # given: asked on loopback too
    assert page.check("motion", PASSWORD) and not page.check("motion", "wrong") and not page.check("x", PASSWORD)
    monkeypatch.delenv(ENV)
    secret = tmp_path / "password.txt"
    secret.write_text("from a file!\nignored line\n")
    from_file = settings(tmp_path, "server_name=0.0.0.0", f"password_file={secret}").credentials
    assert from_file.password == "from a file!" and from_file.origin == f"password_file={secret}"


@pytest.mark.parametrize(
    "content, words",
    [
        (None, ["cannot be read (no such file or directory)", "name a file holding the password"]),
        ("\n\n", ["is empty; write the page's password on its first line"]),
        ("short\n", ["is shorter than 8 characters; choose a longer one"]),
    ],
)
def test_a_bad_password_file_is_refused_in_one_sentence(tmp_path, no_password, content, words):
    secret = tmp_path / "password.txt"
    if content is not None:
        secret.write_text(content)
    message = refusal(tmp_path, "server_name=0.0.0.0", f"password_file={secret}")
    assert all(word in message for word in words), message


def test_loopback_addresses_are_told_from_network_ones():
    assert is_loopback("127.0.0.1") and is_loopback("127.0.1.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.0.0.5")
    with pytest.raises(UserError, match="needs a password"):
        credentials_for("0.0.0.0", "motion", "NO_SUCH_VARIABLE_SET", None)


def test_only_the_job_folders_are_served_and_caches_runs_and_checkpoints_are_blocked(tmp_path, no_password):
    page = settings(tmp_path / "outputs")
    (page.output_dir / "tensorboard").mkdir(parents=True)
    served, blocked = (
        served_paths(page.jobs_dir),
        blocked_paths(page.output_dir, page.app_dir, page.cache_dir, page.train_dir),
    )
    assert served == [str(page.jobs_dir)]
    for folder in (page.cache_dir, page.train_dir, page.output_dir / "demo", page.report_dir, page.evaluate_dir):
        assert str(folder) in blocked
    assert str(page.output_dir / "tensorboard") in blocked  # a folder there now, made by no entry point
    assert not any(page.jobs_dir.is_relative_to(folder) for folder in blocked)


def test_job_folder_names_cannot_be_guessed(tmp_path):
    names = [new_job_folder(tmp_path).name for _ in range(3)]
    random_parts = [re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-([\w-]{22})", name)[1] for name in names]
    assert len(set(random_parts)) == 3  # 22 url-safe characters: 128 random bits


# -- a page on the network, as a user starts it -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(outputs: Path, *extra: str, env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [sys.executable, str(ROOT / "src" / "app.py"), f"paths.output_dir={outputs}", f"server_port={port}"]
    app = subprocess.Popen(
        [*command, "clip_folders=[]", *extra],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in app.stdout:
        lines.append(line)
        if line.startswith("url: "):
            return app, port
    app.kill()
    pytest.fail("the app printed no `url:` line:\n" + "".join(lines[-40:]))


def plant(path: Path, content: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.mark.slow
def test_without_a_password_a_network_page_does_not_start(tmp_path, no_password):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    command = [sys.executable, str(ROOT / "src" / "app.py"), f"paths.output_dir={tmp_path}", "server_name=0.0.0.0"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert last_line(result.stderr).startswith("error: server_name=0.0.0.0 opens the page to the network")


@pytest.mark.slow
def test_a_network_page_asks_a_login_and_serves_only_its_own_folders(tmp_path):
    outputs = tmp_path / "outputs"
    # What other commands left under outputs/: a demo run, a cache, a checkpoint; and one job's result.
    run_video = plant(outputs / "demo" / "2026-01-01_00-00-00-000001" / "generated.mp4")
    meta = plant(outputs / "cache" / "0123456789abcdef" / "meta.json", json.dumps({"key": "k"}).encode())
    checkpoint = plant(outputs / "train" / "run" / "checkpoints" / "last.ckpt")
    job_video = plant(new_job_folder(outputs / "app" / "jobs") / "demo" / "generated.mp4", b"the job's video")
    app, port = start_app(outputs, "server_name=0.0.0.0", env={ENV: PASSWORD})
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as visitor:
            page = visitor.get("/")
            assert page.status_code == 200 and "Transfer the moves" not in page.text  # the login form only
            assert visitor.get("/config").status_code == 401
            assert visitor.get(f"/gradio_api/file={job_video}").status_code == 401
            wrong = visitor.post("/login", data={"username": "motion", "password": "guess1234"})
            assert wrong.status_code == 400 and visitor.get("/config").status_code == 401

            right = visitor.post("/login", data={"username": "motion", "password": PASSWORD})
            assert right.status_code == 200
            assert "Transfer the moves" in json.dumps(visitor.get("/config").json())
            for outside in (run_video, meta, checkpoint):
                assert visitor.get(f"/gradio_api/file={outside}").status_code == 403, outside
            assert visitor.get(f"/gradio_api/file={job_video}").content == b"the job's video"
            uploaded = visitor.post("/gradio_api/upload", files={"files": ("clip.mp4", b"an upload")}).json()[0]
            assert visitor.get(f"/gradio_api/file={uploaded}").content == b"an upload"
    finally:
        terminate(app, timeout=30)
    assert app.returncode == 143


def test_a_jobs_demo_runs_in_the_jobs_folder_and_reports_are_shown_as_pixels(tmp_path, no_password):
    import cv2
    import numpy as np

    from motion_transfer.app.actions import picture
    from motion_transfer.app.commands import demo_overrides

    page = settings(tmp_path)
    job = new_job_folder(page.jobs_dir)
    overrides = demo_overrides(page, None, None, "nearest", None, job / "demo")
    assert f"hydra.run.dir='{job / 'demo'}'" in overrides
    grid = np.zeros((8, 12, 3), np.uint8)
    grid[..., 2] = 255  # red, written as BGR
    cv2.imwrite(str(tmp_path / "report.png"), grid)
    shown = picture(tmp_path / "report.png")
    assert shown.shape == (8, 12, 3) and shown[0, 0].tolist() == [255, 0, 0]
    assert picture(None) is None
