"""The page's Live tab without a browser (app/live_view.py): webcam frames in, the target copying
them out with the rate and latency, one visitor at a time, the session ended when the frames stop
(test_app_browser drives it from Chromium's fake camera)."""

from __future__ import annotations

import time

import av
import pytest

from conftest import TINY_DATA, compose
from motion_transfer.app.live_view import LiveView
from motion_transfer.app.runs import EMBEDDED
from motion_transfer.app.settings import AppSettings


def settings_for(outputs, *extra: str) -> AppSettings:
    tiny = "[" + ",".join(f"'{o}'" for o in TINY_DATA) + "]"
    overrides = [f"paths.output_dir={outputs}", "clip_folders=[]", f"live_overrides={tiny}", *extra]
    return AppSettings.from_config(compose("app", overrides))


def test_a_learned_model_without_a_run_is_refused_before_anything_starts(tmp_path):
    view = LiveView(settings_for(tmp_path))
    image, status = view.frame(time_frame(), EMBEDDED, "gan", None, "visitor")
    assert image is None and status.startswith("**Error:** gan draws only from a trained run")
    assert view.session is None


def time_frame():
    import numpy as np

    return np.zeros((64, 80, 3), np.uint8)


@pytest.mark.slow
def test_webcam_frames_come_back_as_the_target_with_rate_and_latency_one_visitor_at_a_time(tmp_path):
    from motion_transfer.data.synthetic import render_clip

    frames, _ = render_clip("source", 60, 3)
    view = LiveView(settings_for(tmp_path, "live_stall_timeout_s=1"))
    shown, statuses, deadline = [], [], time.monotonic() + 120
    i = 0
    while time.monotonic() < deadline and len(shown) < 25:  # a webcam at 10 frames a second, looping
        image, status = view.frame(frames[i % len(frames)], EMBEDDED, "nearest", None, "visitor")
        i += 1
        statuses.append(status)
        if image is not None:
            shown.append(image)
        time.sleep(0.1)
    assert len(shown) >= 25, statuses[-3:]
    assert shown[-1].ndim == 3 and shown[-1].shape[2] == 3 and shown[-1].std() > 0  # the target's scene
    assert statuses[0].startswith("Starting: loading nearest on the embedded example")
    assert "frames a second, latency" in statuses[-1] and "median of the last" in statuses[-1]
    rate = float(statuses[-1].split("**Live**: ")[1].split(" frames a second")[0])
    assert 2.0 <= rate <= 15.0  # the webcam's 10 a second, as the pipeline keeps up on 2 cores
    other = view.frame(frames[0], EMBEDDED, "nearest", None, "someone else")
    assert other == (None, "The live view is in use by another visitor; try again when it ends.")

    session = view.session
    time.sleep(2.0)  # the visitor stops the webcam: no frame for more than live_stall_timeout_s
    session.thread.join(timeout=30)
    assert session.done and not session.failed, session.message
    assert session.message.startswith("Ended (the webcam sent no frame for 1 s (stall_timeout_s)):")
    with av.open(str(session.folder / "live.mp4")) as video:  # the session's video is kept in its job folder
        assert sum(1 for _ in video.decode(video=0)) >= 25
    assert session.folder.parent.parent == view.settings.jobs_dir
    image, status = view.frame(frames[0], EMBEDDED, "nearest", None, "someone else")  # free again
    assert status.startswith("Starting") and view.session.owner == "someone else"
    view.stop()
    assert view.session.done
