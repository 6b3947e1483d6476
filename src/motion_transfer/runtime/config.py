"""Where the configs are, which choices a config group offers, and a run's own folder."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

#: configs/ of the project (the package is installed editable from src/).
CONFIG_DIR = Path(__file__).resolve().parents[3] / "configs"
#: The project folder: configs/ and outputs/ live here whatever the working directory.
ROOT = CONFIG_DIR.parent


def choices(group: str) -> list[str]:
    """The config names of a group (configs/<group>/*.yaml)."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def run_dir() -> Path:
    """This run's own folder (made by Hydra under outputs/<task>/)."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir).resolve()


def start_run(cfg: DictConfig) -> Path:
    """The shared start of a run: its folder, the fully resolved config saved there beside
    Hydra's .hydra/ record (for reproducibility), and the seed. Returns the folder."""
    import lightning as L

    folder = run_dir()
    (folder / "config_resolved.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    L.seed_everything(int(cfg.get("seed", 0)), workers=True, verbose=False)
    return folder
