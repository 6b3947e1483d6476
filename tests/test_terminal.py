"""What reaches the terminal: progress bars only on one, MediaPipe's native notices never."""

import os

from motion_transfer.pose.detector import NativeStderrSilenced
from motion_transfer.runtime import progress


def test_native_writes_to_stderr_are_dropped_until_restored(capfd):
    os.write(2, b"before\n")
    silenced = NativeStderrSilenced()
    os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")  # as native code writes
    silenced.restore()
    os.write(2, b"after\n")
    silenced.restore()  # a second restore changes nothing
    os.write(2, b"still here\n")
    assert capfd.readouterr().err == "before\nafter\nstill here\n"


def test_progress_bars_draw_only_on_a_terminal(monkeypatch, tmp_path):
    import io
    import sys

    with open(tmp_path / "log", "w") as log_file:  # a log file, as in CI
        monkeypatch.setattr(sys, "stderr", log_file)
        assert not progress.on_terminal()
        assert progress.progress_bar(10, "frames").disable
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe's stand-in: no terminal either
    assert not progress.on_terminal()
    monkeypatch.setattr(progress, "on_terminal", lambda: True)
    assert not progress.progress_bar(10, "frames").disable
    assert progress.progress_bar(10, "frames", enabled=False).disable  # data.progress=false
