"""The web page in a real browser: Debian's Chromium, headless, driven by Playwright.

The app runs as a user starts it (src/app.py in its own process, on a free port, writing under
the test's folder). The test uploads a clip that is not a video (refused with a message), then two
short clips it renders itself, runs the demo of the model the page opens with, and checks in the
page that the result video plays; the model list offers every model of configs/model/, each
described when picked. No request may leave the machine.

APP_SCREENSHOT=docs/app.png writes the screenshot of the finished page there as well (the
README's picture).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, terminate
from motion_transfer.app.layout import model_choices
from motion_transfer.models.kinds import model_kinds, model_names

CHROMIUM = Path("/usr/bin/chromium")
LOCAL = re.compile(r"^(http://(127\.0\.0\.1|localhost)(:\d+)?/|data:|blob:|about:)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_clip(path: Path, role: str, n_frames: int, seed: int) -> Path:
    from motion_transfer.data.synthetic import render_clip
    from motion_transfer.data.video import VideoWriter

    frames, _ = render_clip(role, n_frames, seed, width=160, height=128)
    writer = VideoWriter(path, 25.0, frames.shape[2], frames.shape[1])
    writer.write(frames)
    return writer.close()


def start_app(outputs: Path, port: int) -> tuple[subprocess.Popen, str]:
    """src/app.py in its own process; returns it and the URL it printed once listening."""
    command = [
        sys.executable,
        str(ROOT / "src" / "app.py"),
        f"paths.output_dir={outputs}",
        f"server_port={port}",
        "clip_folders=[]",
    ]
    app = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    end = time.monotonic() + 90
    lines = []
    while time.monotonic() < end:
        line = app.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("url: "):
            return app, line.split(": ", 1)[1].strip()
    app.kill()
    pytest.fail("the app printed no `url:` line:\n" + "".join(lines[-40:]))


def duration_when_loaded(page, selector: str) -> float:
    """The <video>'s duration in seconds once the browser has read its metadata."""
    return page.eval_on_selector(
        selector,
        """video => new Promise((resolve, reject) => {
            if (video.readyState >= 1) return resolve(video.duration);
            video.addEventListener('loadedmetadata', () => resolve(video.duration));
            video.addEventListener('error', () => reject(new Error('the video cannot be played')));
            setTimeout(() => reject(new Error('no metadata after 20 s')), 20000);
        })""",
    )


@pytest.mark.slow
def test_the_page_runs_the_demo_on_uploaded_clips_and_plays_the_result(tmp_path):
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (make test installs it)")
    from playwright.sync_api import sync_playwright

    outputs = tmp_path / "outputs"
    target = write_clip(tmp_path / "dancer.mp4", "target", 60, 0)
    source = write_clip(tmp_path / "boxer.mp4", "source", 30, 1)
    (tmp_path / "notes.txt").write_text("not a video\n")
    app, url = start_app(outputs, free_port())
    outside = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})

            def keep_local(route):
                if LOCAL.match(route.request.url):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", keep_local)
            page.goto(url)
            page.wait_for_selector("#start")
            # Every model of configs/model/ is offered, the one picked described by its config's first line.
            offered = page.locator("#model label").all_inner_texts()
            labels = {name: label for label, name in model_choices()}  # each model's name and what it is
            assert [text.strip() for text in offered] == list(labels.values()), offered
            picked = page.locator("#model input:checked").locator("..").inner_text().strip().split(":")[0]
            assert model_kinds()[picked].summary in page.inner_text("#model-summary")
            other = next(name for name in model_names() if name != picked)
            page.locator("#model label").filter(has_text=labels[other]).first.click()
            page.wait_for_selector(f"#model-summary >> text={model_kinds()[other].summary}", timeout=20_000)
            page.locator("#model label").filter(has_text=labels[picked]).first.click()
            page.wait_for_selector(f"#model-summary >> text={model_kinds()[picked].summary}", timeout=20_000)

            page.set_input_files("#source-upload input[type=file]", tmp_path / "notes.txt")
            page.wait_for_selector("#source-note >> text=is not a video file", timeout=20_000)
            page.click("#source-upload button[aria-label=Clear]")

            page.set_input_files("#target-upload input[type=file]", target)
            page.wait_for_selector("#target-note >> text=dancer.mp4: ready", timeout=20_000)
            page.set_input_files("#source-upload input[type=file]", source)
            page.wait_for_selector("#source-note >> text=boxer.mp4: ready", timeout=20_000)
            page.click("#start")
            page.wait_for_selector("#status >> text=Done", timeout=90_000)
            page.wait_for_selector("#generated video", timeout=20_000)
            assert duration_when_loaded(page, "#generated video") > 0
            assert duration_when_loaded(page, "#side-by-side video") > 0
            page.wait_for_timeout(500)  # the first frame drawn, for the screenshot
            page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
            if os.environ.get("APP_SCREENSHOT"):
                page.screenshot(path=os.environ["APP_SCREENSHOT"], full_page=True)
            status = page.inner_text("#status")
            browser.close()
    finally:
        terminate(app)
    assert outside == [], f"the page asked the internet for {outside}"
    assert "Done" in status, status
    # The uploads and the demo's run folder are in the job's own folder (the only one the page serves).
    jobs = [folder for folder in (outputs / "app" / "jobs").iterdir() if (folder / "target").is_dir()]
    assert len(jobs) == 1
    assert (jobs[0] / "target" / "dancer.mp4").is_file() and (jobs[0] / "source" / "boxer.mp4").is_file()
    assert (jobs[0] / "demo" / "generated.mp4").is_file() and not (outputs / "demo").exists()
    # Gradio kept its copies of the uploads and results under outputs/ too.
    gradio_files = outputs / "app" / "gradio"
    assert list(gradio_files.rglob("dancer.mp4")) and list(gradio_files.rglob("generated.mp4"))
    assert app.returncode == 143  # SIGTERM: the server stops as the other entry points do


def write_y4m(path: Path, frames) -> Path:
    """Frames (N, H, W, 3) RGB as a YUV4MPEG2 file, what Chromium's fake camera plays (in a loop)."""
    import cv2

    n, height, width, _ = frames.shape
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


@pytest.mark.slow
def test_the_live_tab_streams_a_fake_camera_through_live_mode_and_shows_the_rate(tmp_path):
    """Chromium's fake camera plays a clip of the embedded source person; the Live tab sends it to the
    server, which shows the target copying it, with the rate and latency; the session's video is kept
    once the page is closed."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (make test installs it)")
    from playwright.sync_api import sync_playwright

    from conftest import wait_for
    from motion_transfer.data.synthetic import render_clip

    frames, _ = render_clip("source", 50, 3, width=320, height=256)
    camera = write_y4m(tmp_path / "camera.y4m", frames)
    outputs = tmp_path / "outputs"
    app, url = start_app(outputs, free_port())
    said = []  # the server's log, read as it comes (a full pipe would stop the server)
    threading.Thread(target=lambda: said.extend(app.stdout), daemon=True).start()
    fake_camera = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    ]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=fake_camera)
            page = browser.new_context(viewport={"width": 1280, "height": 1000}, permissions=["camera"]).new_page()
            page.route("**/*", lambda route: route.continue_() if LOCAL.match(route.request.url) else route.abort())
            page.goto(url)
            page.get_by_role("tab", name="Live").click()
            page.click('#webcam [title="grant webcam access"] button')
            page.click('#webcam button[aria-label="capture photo"]')  # "Record": the stream starts
            page.wait_for_selector("#live-status >> text=frames a second", timeout=120_000)
            assert "Starting" not in page.inner_text("#live-status")
            page.wait_for_selector("#live-result img", timeout=20_000)
            page.wait_for_timeout(8000)  # the rate over the newest results, once running
            status = page.inner_text("#live-status")
            page.screenshot(path=str(tmp_path / "live.png"), full_page=True)
            browser.close()  # the visitor leaves: the session ends
        videos = list((outputs / "app" / "jobs").glob("*/live/live.mp4"))
        assert wait_for(lambda: list((outputs / "app" / "jobs").glob("*/live/live.mp4")), 30), videos
    finally:
        terminate(app)
    rate = float(re.search(r"([0-9.]+) frames a second", status)[1])
    latency = float(re.search(r"latency ([0-9.]+) ms", status)[1])
    print(f"live tab: {rate} frames a second, latency {latency} ms median ({status})")
    assert rate >= 2.0 and 0 < latency < 5000, (status, "".join(said)[-3000:])
    assert "Traceback" not in "".join(said), "".join(said)[-3000:]
