"""Shared fixtures: the project's real Hydra configs, a scratch output folder, the real clips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CONFIG_DIR = ROOT / "configs"
os.environ["MOTION_TRANSFER_ROOT"] = str(ROOT)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real clips. Missing data fails the test (it must not pass silently in CI)."""
    if not (SHARED_DATA / "taichi2.mp4").is_file() or not (SHARED_DATA / "karate1.mp4").is_file():
        pytest.fail(f"the real clips are missing: expected taichi2.mp4 and karate1.mp4 in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def session_outputs(tmp_path_factory) -> Path:
    """An outputs/ folder shared by the tests of one session, so caches are built once."""
    return tmp_path_factory.mktemp("outputs")


def run_script(script: str, *overrides: str, outputs: Path, timeout: float = 600, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run an entry point (src/<script>.py) as a user would, with outputs in `outputs`."""
    cmd = [sys.executable, str(ROOT / "src" / f"{script}.py"), f"paths.output_dir={outputs}", "data.progress=false", *overrides]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def compose(config_name: str, overrides: list[str], output_dir: Path):
    """Compose a real config from configs/ as Hydra would for a run writing into output_dir."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg
