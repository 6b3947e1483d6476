"""Small helpers shared by the entry points: the run folder, config checks, saved configs."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf


def run_dir() -> Path:
    """This run's own folder (made by Hydra under outputs/<task>/)."""
    return Path(HydraConfig.get().runtime.output_dir).resolve()


def save_resolved_config(cfg: DictConfig, folder: Path) -> Path:
    """Write the fully resolved config beside Hydra's .hydra/ record, for reproducibility."""
    path = folder / "config_resolved.yaml"
    path.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return path
