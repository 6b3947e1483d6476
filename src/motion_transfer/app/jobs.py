"""Jobs of the web page: a folder of their own, checked uploads, and entry points run as subprocesses.

A job runs src/demo.py (or report.py, train.py) in its own process, so a crash or a runaway
allocation ends that job and never the server. Its stderr is a pseudo-terminal, so the entry
point draws its progress bars there as on a terminal; the page reads them (and the log lines)
as the job's progress, and the `error:` line as its message.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from motion_transfer.app.runs import VIDEO_SUFFIXES
from motion_transfer.runtime.config import ROOT
from motion_transfer.runtime.errors import UserError

# "demo:  40%|████      | 12/30 [00:01<00:02, 9.1frame/s]" (tqdm, known total)
_BAR = re.compile(r"^(?P<desc>[^:|]*?):\s*(?P<pct>\d+)%\|.*?\|\s*(?P<n>\d+)/(?P<total>\d+)")
# "poses clip.mp4: 120frame [00:03, 35.2frame/s]" (tqdm, unknown total)
_COUNT = re.compile(r"^(?P<desc>[^:|]*?):\s*(?P<n>\d+)(?P<unit>[a-z]+) \[")
# "[2026-12-03 09:18:52,243][motion_transfer.data.cache][INFO] building the skeleton cache of ..."
_LOG = re.compile(r"^\[[^\]]*\]\[[^\]]*\]\[(?P<level>[A-Z]+)\] (?P<message>.*)$")


def new_job_folder(root: Path) -> Path:
    """A new folder under `root` for one job: a stamp and 128 random bits (the page serves files from
    job folders, so nobody can guess another visitor's), made with exist_ok=False, so two jobs never
    share one."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    while True:
        folder = root / f"{datetime.now():%Y-%m-%d_%H-%M-%S}-{secrets.token_urlsafe(16)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def check_upload(path: str | Path, role: str, max_upload_mb: float) -> Path:
    """The uploaded file if it is a video the toolkit can read, else a UserError of one sentence
    (`role`: "target" or "source"): a video file ending, at most max_upload_mb, and OpenCV opens it
    and decodes a first frame."""
    from motion_transfer.data.video import next_decodable_frame, open_capture

    path = Path(path)
    name = path.name
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise UserError(
            f"The {role} clip '{name}' is not a video file; upload one ending in {', '.join(VIDEO_SUFFIXES)}."
        )
    size = path.stat().st_size if path.is_file() else 0
    if size > max_upload_mb * 1e6:
        raise UserError(
            f"The {role} clip '{name}' is {_megabytes(size)}, more than the {max_upload_mb:g} MB allowed "
            "(max_upload_mb); upload a shorter or smaller clip."
        )
    readable = False
    if size > 0:
        capture = open_capture(path)
        try:
            readable = capture.isOpened() and next_decodable_frame(capture)[0] is not None
        finally:
            capture.release()
    if not readable:
        raise UserError(
            f"The {role} clip '{name}' cannot be read as a video (no frame could be decoded); "
            "upload a complete mp4, mov, avi, mkv or webm file."
        )
    return path


def safe_file_name(name: str) -> str:
    """A file name without path parts or characters that shells and Hydra's grammar treat specially."""
    stem, suffix = os.path.splitext(Path(name).name)
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._") or "clip"
    return stem[:80] + suffix.lower()


def store_upload(path: str | Path, role: str, job_folder: Path, max_upload_mb: float) -> Path:
    """Check an uploaded clip and copy it into the job's folder (`<job>/<role>/<name>`: the
    clip keeps its name, which names its cache and its runs)."""
    check_upload(path, role, max_upload_mb)
    destination = Path(job_folder) / role / safe_file_name(Path(path).name)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, destination)
    return destination


def override(key: str, value: object) -> str:
    """A Hydra override `key='value'`, quoted so that any path reaches Hydra as written."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"{key}='{text}'"


@dataclass
class Progress:
    """What a running job last said: a message, and the fraction done of its current stage."""

    message: str = "starting"
    fraction: float | None = None


@dataclass
class Outcome:
    """How a job ended: exit status, the `<label>: <value>` lines it printed, its `error:` line."""

    returncode: int
    printed: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.error is None


def read_progress_line(line: str) -> Progress | None:
    """A progress bar's or a log line's Progress, or None for other lines."""
    line = line.strip()
    if match := _BAR.match(line):
        n, total = int(match["n"]), max(1, int(match["total"]))
        return Progress(f"{match['desc'].strip()}: {n}/{total}", min(1.0, n / total))
    if match := _COUNT.match(line):
        return Progress(f"{match['desc'].strip()}: {match['n']} {match['unit']}s", None)
    if match := _LOG.match(line):
        if match["level"] in ("INFO", "WARNING"):
            return Progress(match["message"], None)
    return None


class EntryPointJob:
    """src/<script>.py with Hydra overrides, in a process of its own; stderr (progress bars and
    logs) is copied to `log_path` and read as Progress, stdout's `<label>: <value>` lines are kept."""

    def __init__(self, script: str, overrides: list[str], log_path: Path):
        self.command = [sys.executable, str(ROOT / "src" / f"{script}.py"), *overrides]
        self.log_path = Path(log_path)
        self.progress = Progress()
        self.error: str | None = None
        self.tail: deque[str] = deque(maxlen=40)
        self.printed: dict[str, str] = {}
        env = {**os.environ, "MOTION_TRANSFER_ROOT": str(ROOT), "PYTHONUNBUFFERED": "1"}
        reader, writer = _terminal_pair()
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=writer,
            text=False,
            start_new_session=True,  # Ctrl-C in the server's terminal stops the server; jobs are stopped by it
        )
        os.close(writer)
        self._threads = [
            threading.Thread(target=self._read_stderr, args=(reader,), daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stderr(self, fd: int) -> None:
        pending = b""
        with open(self.log_path, "ab") as log:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the terminal's other side closed: the process ended
                    chunk = b""
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                *lines, pending = re.split(rb"[\r\n]", pending + chunk)
                for line in lines:
                    self._take_stderr_line(line.decode("utf-8", "replace"))
            if pending:
                self._take_stderr_line(pending.decode("utf-8", "replace"))
        os.close(fd)

    def _take_stderr_line(self, line: str) -> None:
        if not line.strip():
            return
        if line.startswith("error: "):
            self.error = line[len("error: ") :].strip()
        progress = read_progress_line(line)
        if progress is not None:
            self.progress = progress
        if progress is None or progress.fraction is None:  # bars are progress, not the log
            self.tail.append(line)

    def _read_stdout(self) -> None:
        # Lightning draws its training bar's last frame on stdout, between the result lines.
        pending = ""
        for chunk in iter(lambda: self.process.stdout.read1(65536), b""):
            *lines, pending = re.split(r"[\r\n]", pending + chunk.decode("utf-8", "replace"))
            for line in lines:
                self._take_stdout_line(line)
        self._take_stdout_line(pending)

    def _take_stdout_line(self, line: str) -> None:
        label, sep, value = line.partition(": ")
        if sep and label and " " not in label:
            self.printed[label] = value.strip()

    def running(self) -> bool:
        return self.process.poll() is None

    def follow(self, interval: float = 0.5) -> Iterator[Progress]:
        """The job's Progress every `interval` seconds while it runs."""
        while self.running():
            yield self.progress
            time.sleep(interval)

    def wait(self) -> Outcome:
        returncode = self.process.wait()
        for thread in self._threads:
            thread.join(timeout=10)
        return Outcome(returncode, dict(self.printed), self.error, list(self.tail))

    def stop(self, grace: float = 10.0, wait: bool = False) -> None:
        """SIGTERM (the entry points stop cleanly, keeping what is finished), then SIGKILL after `grace`
        seconds. Returns at once unless `wait`: the page's Stop button is answered on the server's event
        loop, which must not sit through the job's last seconds."""
        if not self.running():
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return

        def reap() -> None:
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait()

        if wait:
            reap()
        else:
            threading.Thread(target=reap, name="job-reaper", daemon=True).start()


def _terminal_pair() -> tuple[int, int]:
    """(read end, write end) for a job's stderr: a pseudo-terminal where there is one (tqdm
    draws bars only on a terminal), else a pipe."""
    try:
        import pty
        import termios

        reader, writer = pty.openpty()
        attributes = termios.tcgetattr(writer)
        attributes[1] &= ~termios.ONLCR  # keep "\n" as written: no "\r\n" translation
        termios.tcsetattr(writer, termios.TCSANOW, attributes)
        _set_width(writer, 120)
        return reader, writer
    except (ImportError, OSError):
        return os.pipe()


def _set_width(fd: int, columns: int) -> None:
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))


class RunningJobs:
    """The jobs in progress, so that the server stops them when it stops."""

    def __init__(self):
        self._jobs: set[EntryPointJob] = set()
        self._lock = threading.Lock()

    def add(self, job: EntryPointJob) -> EntryPointJob:
        with self._lock:
            self._jobs.add(job)
        return job

    def remove(self, job: EntryPointJob) -> None:
        with self._lock:
            self._jobs.discard(job)

    def stop_all(self) -> None:
        with self._lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.stop(wait=True)
