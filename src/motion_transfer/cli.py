"""The command line: checked before Hydra runs, then one way to run a task for every entry point.

An entry point names its config and the package function that does the work:
`run_task("train", run_training, "checkpoint")`. The command line is checked first (a mistake
gets one sentence and status 2), Hydra composes the config and makes the run folder, a user's
mistake raised by the task becomes one `error:` line, and the task's result is printed last as
`<label>: <result>`, the line scripts and tests read.

Hydra reports a bad override with several lines and exit status 1, the same status as a crash.
The entry points call `check_overrides` first: it composes the config with Hydra's compose API
and turns a failure into one `error:` line that names the override.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from motion_transfer.pose import crop  # noqa: F401 - registers data.crop's structured config before any compose
from motion_transfer.runtime.config import CONFIG_DIR, ROOT, choices
from motion_transfer.runtime.errors import (
    USER_ERROR_EXIT,
    debug_enabled,
    report_user_errors,
    terminate_like_interrupt,
)


def _explain(err: Exception, overrides: list[str]) -> str:
    from hydra.errors import MissingConfigException, OverrideParseException

    text = str(err)
    if isinstance(err, MissingConfigException):
        for override in overrides:
            group, _, value = override.lstrip("+~").partition("=")
            if (CONFIG_DIR / group).is_dir() and value not in choices(group):
                return f"{group}={value} is not available; use one of {', '.join(choices(group))}."
        return f"a config group choice is not available ({text.splitlines()[0]})."
    if isinstance(err, OverrideParseException):
        return f"could not read the command-line override: {text.splitlines()[0]}; write overrides as key=value."
    for override in overrides:
        key = override.lstrip("+~").partition("=")[0]
        if f"'{key}'" in text or f"full_key: {key}" in text:
            return (
                f"'{key}' is not an option of this command; check its spelling against configs/ "
                f"(or add a new key with +{key}=...)."
            )
    return f"the configuration could not be composed: {text.splitlines()[0]}"


def quote_plain_values(argv: list[str]) -> list[str]:
    """Quote override values that Hydra's grammar cannot take bare (spaces, non-ASCII letters).

    A user types `video="my clips/danse été.mp4"`; the shell drops the quotes and Hydra would
    refuse the space and the accents. Values already quoted, lists, dicts and sweeps are kept.
    """
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        needs_quotes = (
            sep and value and value[0] not in "'\"[{" and (any(c.isspace() for c in value) or not value.isascii())
        )
        if needs_quotes:
            arg = f"{key}='" + value.replace("'", "\\'") + "'"
        out.append(arg)
    return out


def check_overrides(config_name: str, argv: list[str] | None = None) -> None:
    """Compose `config_name` with the command line's overrides; exit with USER_ERROR_EXIT on a mistake.

    With the default argv, also rewrites sys.argv so that Hydra reads paths with spaces and
    non-ASCII letters as they were typed.
    """
    if debug_enabled():
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra's own switch for whole tracebacks
    if argv is None:
        sys.argv[1:] = quote_plain_values(sys.argv[1:])
        argv = sys.argv[1:]
    if any(a in ("-m", "--multirun") or a.startswith("--") for a in argv):
        return  # sweeps and Hydra's own flags are left to Hydra
    overrides = [a for a in argv if not a.lstrip("+~").startswith("hydra.")]
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=overrides)
    except Exception as err:  # noqa: BLE001 - every composition failure is a command-line mistake
        if debug_enabled():
            raise
        message = _explain(err, overrides)
        print(f"error: {message}", file=sys.stderr, flush=True)
        sys.exit(USER_ERROR_EXIT)
    check_output_folder(cfg)


def check_output_folder(cfg) -> None:
    """Exit with one line when paths.output_dir cannot be written (Hydra makes the run folder in
    it before any task code runs, and would print a traceback)."""
    from motion_transfer.runtime.atomic import writing_into
    from motion_transfer.runtime.errors import UserError

    output_dir = Path(str(cfg.paths.output_dir))
    probe = output_dir / f".write-test-{os.getpid()}"
    try:
        with writing_into(output_dir):
            output_dir.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
    except UserError as err:
        if debug_enabled():
            raise
        print(f"error: {err}", file=sys.stderr, flush=True)
        sys.exit(USER_ERROR_EXIT)


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
