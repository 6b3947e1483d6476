"""A time-to-quality race: each model trained for the same wall-clock budget on one target, then
evaluated on the same held-out frames, in one table.

Each entry trains in its own process (`src/train.py` with the entry's overrides, the race's
`data.*` overrides and `trainer.max_time`), into its own folder under the race's run folder, so
that two entries of one model (e.g. the GAN with either generator) never pick each other's
checkpoints. Models that learn nothing (nearest neighbour) are built on the spot. Checkpoints are
chosen on the selection half of the held-out block and scored on the other half (TimeSplit).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from motion_transfer.evaluation.evaluate import evaluate_generator, write_metrics
from motion_transfer.evaluation.report import full_frame_table, markdown_table, native_section, temporal_table
from motion_transfer.models.checkpoints import find_latest_checkpoint, load_generator
from motion_transfer.models.loading import built_model, model_class, model_config, prepare_datamodule
from motion_transfer.runtime.atomic import write_text_atomically
from motion_transfer.runtime.config import ROOT, start_run
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)


def _data_overrides() -> list[str]:
    """The race's own command-line overrides of data.* (the target, its size): every entry trains on them."""
    from hydra.core.hydra_config import HydraConfig

    return [o for o in HydraConfig.get().overrides.task if o.lstrip("+~").startswith(("data=", "data."))]


def _model_name(overrides: list[str]) -> str:
    names = [o.split("=", 1)[1] for o in overrides if o.startswith("model=")]
    if len(names) != 1:
        raise UserError(f"race.entries: each entry needs exactly one model=NAME override, got {overrides}")
    return names[0]


def train_entry(label: str, overrides: list[str], budget: str, folder: Path, cache_dir: str, log_file: Path) -> float:
    """Train one entry (`overrides` of src/train.py, then the command's data overrides) for `budget`
    in its own process, into `folder`; returns the wall-clock seconds it took."""
    command = [
        sys.executable,
        str(ROOT / "src" / "train.py"),
        *overrides,
        *_data_overrides(),
        f"trainer.max_time={budget}",
        "trainer.max_epochs=100000",
        f"paths.output_dir={folder}",
        f"paths.cache_dir={cache_dir}",
        "data.progress=false",
    ]
    log.info("race: training %s for %s (%s)", label, budget, " ".join(command[2:]))
    start = time.perf_counter()
    with open(log_file, "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise UserError(f"race: training '{label}' failed (exit {done.returncode}); its log is {log_file}")
    return time.perf_counter() - start


def _step_time_note(path: Path) -> str:
    """The run's precision, steps and share of its time outside them (runtime/step_time.py), if recorded."""
    import json

    try:
        t = json.loads(path.read_text())
        return f", {t['precision']}, {t['steps']} steps, {100 * t['outside_share']:.0f}% of the time outside them"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def run_race(cfg: DictConfig) -> Path:
    """Train the entries `race.run` of `race.entries` for `race.budget` each, evaluate each; write
    race.md and metrics.json."""
    out_dir = start_run(cfg)
    datamodule = prepare_datamodule(cfg.data)  # builds the target's cache once, for every entry
    budget = str(cfg.race.budget)
    rows, frame_rows, native_rows, temporal_rows, results, floors = [], [], [], [], {}, None
    unknown = [label for label in cfg.race.run if label not in cfg.race.entries]
    if unknown:
        raise UserError(f"race.run: {unknown} not in race.entries; use some of {', '.join(cfg.race.entries)}")
    for label in cfg.race.run:
        overrides = [str(o) for o in cfg.race.entries[label]]
        name = _model_name(overrides)
        model_cfg = model_config(name)
        settings = [o.removeprefix("model.") for o in overrides if o.startswith("model.")]
        model_cfg = OmegaConf.merge(model_cfg, OmegaConf.from_dotlist(settings))
        if model_class(model_cfg).learns:
            folder = out_dir / label
            folder.mkdir(parents=True, exist_ok=True)
            seconds = train_entry(label, overrides, budget, folder, str(cfg.paths.cache_dir), folder / "train.log")
            ckpt = find_latest_checkpoint(folder / "train", name, datamodule.target_key, datamodule.image_size)
            if ckpt is None:
                raise UserError(f"race: '{label}' trained but left no checkpoint under {folder / 'train'}")
            model, checkpoint = load_generator(ckpt, name, datamodule.image_size, datamodule.target_key)
            model.attach_target(datamodule)
            note = f"{seconds / 60:.1f} min, {int(checkpoint.get('epoch', -1)) + 1} epochs, `{ckpt.name}`"
            note += _step_time_note(ckpt.parent.parent / "step_time.json")
        else:
            start = time.perf_counter()
            model = built_model(model_cfg, datamodule)
            note = f"built in {time.perf_counter() - start:.1f} s"
        result, _ = evaluate_generator(model, datamodule, cfg.pose, int(cfg.batch_size), with_floors=floors is None)
        floors = floors or {**result.get("floors", {}), **result.get("ceiling", {})}
        result["race"] = {"overrides": overrides, "note": note}
        results[label] = result
        rows.append((label, f"{note}; {' '.join(overrides)}", result["metrics"]))
        if "full_frame" in result:
            frame_rows.append((label, result["full_frame"]))
        if "native" in result:
            native_rows.append((label, result["native"]))
        temporal_rows.append((label, result["temporal"]))
        log.info("race: %s: %s", label, result["metrics"])
    for name, figures in (floors or {}).items():
        rows.append((f"*{name.replace('_', ' ')}*", "floor" if name != "real_crops" else "ceiling", figures))
    split = datamodule.split
    text = (
        f"Time-to-quality race on `{datamodule.target_name}` at {datamodule.image_size} px, {budget} of training "
        f"each (`{' '.join(['python src/race.py', *_data_overrides()])}`): {len(split.score)} held-out frames "
        f"from frame {split.val_start} scored; checkpoints chosen on the {len(split.select)} before them.\n\n"
        + markdown_table(rows)
    )
    if frame_rows:
        text += "\nFull-frame output (see docs/results.md for the regions):\n\n" + full_frame_table(frame_rows)
    text += native_section(native_rows)
    text += "\nSteadiness over consecutive held-out frames (see docs/usage.md):\n\n" + temporal_table(temporal_rows)
    write_text_atomically(out_dir / "race.md", text)
    write_metrics({"models": results, "floors": floors, "budget": budget}, out_dir)
    print(text)
    return out_dir / "race.md"
