"""One way to run a task: what every entry point (src/*.py) shares.

An entry point names its config and the package function that does the work:
`run_task("train", run_training, "checkpoint")`. The command line is checked first (a mistake
gets one sentence and status 2), Hydra composes the config and makes the run folder, a user's
mistake raised by the task becomes one `error:` line, and the task's result is printed last as
`<label>: <result>`, the line scripts and tests read.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .cli import CONFIG_DIR, check_overrides
from .errors import report_user_errors, terminate_like_interrupt

#: The project folder: configs/ and outputs/ live here whatever the working directory.
ROOT = CONFIG_DIR.parent


def run_task(config_name: str, task: Callable[[DictConfig], object], label: str) -> None:
    """Run `task` on the config `configs/<config_name>.yaml` composed with the command line."""
    import hydra
    from lightning.pytorch.utilities import rank_zero_only

    os.environ.setdefault("MOTION_TRANSFER_ROOT", str(ROOT))
    # Lightning's own deprecation of a torch API it calls, and its advice for long clips, on
    # every short one: nothing a user of this toolkit can act on.
    warnings.filterwarnings("ignore", message=r".*LeafSpec.* is deprecated")
    warnings.filterwarnings("ignore", message=r"The number of training batches .* is smaller than the logging interval")
    check_overrides(config_name)
    terminate_like_interrupt()  # SIGTERM keeps finished work as Ctrl-C does

    @hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name=config_name)
    @report_user_errors
    def main(cfg: DictConfig) -> None:
        result = task(cfg)
        if rank_zero_only.rank == 0:  # under DDP every process runs the task: one line, not interleaved copies
            print(f"{label}: {result}", flush=True)

    main()


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
