"""Interruptions never cost finished work: real SIGKILLs and Ctrl-C sent to real runs."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
import torch

from conftest import ROOT, compose, last_line, run_script
from motion_transfer.cache import SkeletonCache
from motion_transfer.training import run_training

QUICK = ["data.synthetic_frames=80", "data.image_size=32", "data.crop.crop_size=64", "data.progress=false", "trainer.enable_progress_bar=false"]


def _start(script, *overrides, outputs):
    cmd = [sys.executable, str(ROOT / "src" / f"{script}.py"), f"paths.output_dir={outputs}", *overrides]
    # A test run started in the background (`make test &`, nohup) ignores SIGINT, and so would
    # its children, where Python then installs no Ctrl-C handler: give them the default back.
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(predicate, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.real_data
@pytest.mark.slow
def test_preprocess_killed_at_any_moment_leaves_no_trusted_cache(shared_data, tmp_path):
    video = shared_data / "karate1.mp4"
    for delay in (0.5, 3.0, 6.0):
        proc = _start("preprocess", f"video={video}", "data.progress=false", outputs=tmp_path)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for folder in (tmp_path / "cache").glob("[!.]*"):
            SkeletonCache.load(folder)  # anything under a final name is complete
    result = run_script("preprocess", f"video={video}", outputs=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    cache = SkeletonCache.load(Path(last_line(result.stdout).split(": ", 1)[1]))
    assert cache.n_frames == 192
    assert not list((tmp_path / "cache").glob(".tmp-*"))  # abandoned temporaries were cleaned


@pytest.mark.slow
def test_training_killed_resumes_to_the_same_final_epoch(tmp_path):
    """Kill a run, resume it, kill the resumed run too, then resume to the end."""
    overrides = ["model=vanilla", "model.base_filters=8", "trainer.max_epochs=30", "logger=none", *QUICK]
    checkpoints = lambda: set(tmp_path.glob("train/*/checkpoints/last.ckpt"))  # noqa: E731
    ckpt = None
    for _ in range(2):
        before = checkpoints()
        proc = _start("train", *overrides, *([f"ckpt_path={ckpt}"] if ckpt else []), outputs=tmp_path)
        assert _wait_for(lambda: checkpoints() - before, 300), "no checkpoint appeared"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ckpt = next(iter(checkpoints() - before))
        state = torch.load(ckpt, map_location="cpu", weights_only=True)  # never a corrupt file
        assert state["epoch"] < 29, "the run finished before it could be killed"
    result = run_script("train", *overrides, f"ckpt_path={ckpt}", outputs=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    final = next(iter(checkpoints() - {ckpt} - before))
    assert len(checkpoints()) == 3  # each run wrote into its own new folder
    assert torch.load(final, weights_only=True)["epoch"] == 29


def test_checkpoint_files_appear_only_complete(tmp_path):
    # AtomicModelCheckpoint writes <name>.partial then renames: no partial file survives a run.
    cfg = compose("train", ["model=vanilla", "model.base_filters=8", "trainer.max_epochs=2", "logger=none", f"paths.output_dir={tmp_path}", *QUICK], tmp_path / "run")
    run_training(cfg)
    files = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert "last.ckpt" in files and not [f for f in files if f.endswith(".partial")]
    # last.ckpt is refreshed every epoch, whether or not the best one improved.
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1


@pytest.mark.slow
def test_demo_interrupted_leaves_a_playable_video_or_none(tmp_path):
    # x264's slowest preset keeps the demo busy for many seconds: the interrupt lands mid-video.
    proc = _start("demo", "model=nearest", "synthetic_source_frames=600", "panel_size=256", "batch_size=16", "video_preset=veryslow",
                  *QUICK[:4], outputs=tmp_path)
    partial = lambda: list(tmp_path.glob("demo/*/.transfer.partial.mp4"))  # noqa: E731
    assert _wait_for(lambda: bool(partial()) and partial()[0].stat().st_size > 0, 300), "the demo never started writing"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    run = next(tmp_path.glob("demo/*"))
    assert not list(run.glob(".*partial*"))
    video = run / "transfer.mp4"
    if video.exists():
        with av.open(str(video)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert 0 < frames < 600


def test_same_seed_gives_the_same_first_epoch_losses(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    losses = []
    for name in ("a", "b"):
        cfg = compose("train", ["model=vanilla", "model.base_filters=8", "trainer.max_epochs=1", "seed=7", f"paths.output_dir={tmp_path}", *QUICK, "data.batch_size=8", "trainer.log_every_n_steps=1"], tmp_path / name)
        run_training(cfg)
        acc = EventAccumulator(str(tmp_path / name / "tensorboard"))
        acc.Reload()
        losses.append([e.value for e in acc.Scalars("train/mse")])
    assert len(losses[0]) >= 3 and losses[0] == losses[1]


def test_every_run_gets_its_own_folder_and_overwrites_nothing(tmp_path):
    first = run_script("demo", "model=nearest", "synthetic_source_frames=20", "panel_size=64", *QUICK[:4], outputs=tmp_path)
    video = Path(last_line(first.stdout).split(": ", 1)[1])
    stamp = video.stat().st_mtime_ns
    second = run_script("demo", "model=nearest", "synthetic_source_frames=20", "panel_size=64", *QUICK[:4], outputs=tmp_path)
    other = Path(last_line(second.stdout).split(": ", 1)[1])
    assert other.parent != video.parent and video.stat().st_mtime_ns == stamp
