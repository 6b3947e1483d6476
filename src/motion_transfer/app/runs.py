"""What the web page offers to choose from: target and source clips, the runs trained on a
target (with their held-out scores where an evaluation exists), and the newest report of a target.

Runs are matched to a target as the demo matches them (checkpoints.find_latest_checkpoint): by
the target key recorded in each checkpoint, which is the key of the target's skeleton cache. The
key of a clip is read from the cache folders already built, so choosing a target never runs
MediaPipe; a clip without a cache has no trained run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import torch
from omegaconf import OmegaConf

from motion_transfer.data.cache import keyed_params
from motion_transfer.models.identity import checkpoint_identity
from motion_transfer.models.kinds import model_kinds, model_names
from motion_transfer.models.networks import GENERATOR_INPUTS
from motion_transfer.pose.crop import CropParams
from motion_transfer.runtime.config import CONFIG_DIR

#: What the page calls the embedded synthetic clips (data=synthetic, no file).
EMBEDDED = "embedded example (synthetic)"
#: File name endings taken for videos, in the clip lists and in uploads.
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
#: Figures shown beside a run (metrics.json's "metrics"), with their labels and formats.
SHOWN_METRICS = (("ssim", "SSIM", ".3f"), ("psnr", "PSNR", ".1f"), ("l1", "L1", ".3f"))


def video_files(folder: Path) -> list[Path]:
    """The video files directly inside `folder`, by name ([] when it does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def trained_targets(train_dir: Path) -> list[Path]:
    """The target videos that runs under train_dir were trained on and that still exist."""
    found = []
    for config in Path(train_dir).glob("*/config_resolved.yaml"):
        try:
            data = OmegaConf.load(config).get("data", {})
        except Exception:  # noqa: BLE001 - a damaged record only hides that run's target
            continue
        if data.get("kind") == "video" and data.get("target_video"):
            path = Path(str(data.target_video)).expanduser().resolve()
            if path.is_file():
                found.append(path)
    return sorted(set(found))


def clip_choices(clip_folders: list[Path], train_dir: Path) -> list[tuple[str, str]]:
    """(label, value) pairs for a clip list: the embedded example first (value EMBEDDED), then the
    videos of `clip_folders` and the targets of trained runs (value: the path)."""
    paths: list[Path] = []
    for folder in clip_folders:
        paths += [p.resolve() for p in video_files(Path(folder))]
    paths += trained_targets(train_dir)
    choices, seen = [(EMBEDDED, EMBEDDED)], set()
    for path in paths:
        if path not in seen:
            seen.add(path)
            choices.append((f"{path.name} ({path.parent})", str(path)))
    return choices


def synthetic_target_identity() -> dict:
    """The cache identity of the embedded target as the demo builds it (configs/data/synthetic.yaml)."""
    data = OmegaConf.load(CONFIG_DIR / "data" / "synthetic.yaml")
    return {"synthetic": "target", "n_frames": int(data.synthetic_frames), "seed": int(data.synthetic_seed)}


@lru_cache(maxsize=256)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    from motion_transfer.data.video import file_digest

    return file_digest(Path(path))


def _file_digest(path: Path) -> str:
    stat = path.stat()
    return _digest(str(path), stat.st_size, stat.st_mtime_ns)  # hashed once per version of the file


def target_key(target: str | Path | None, cache_dir: Path) -> str | None:
    """The cache key of a target clip (None or EMBEDDED: the embedded one) at the default crop,
    from its cache folder under cache_dir; None when it has not been cached yet."""
    params = keyed_params(asdict(CropParams()))
    embedded = target in (None, "", EMBEDDED)
    if not embedded and not Path(target).is_file():
        return None
    wanted = synthetic_target_identity() if embedded else {"sha256": _file_digest(Path(target))}
    found = []
    for meta_path in Path(cache_dir).glob("*/meta.json"):
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            continue
        source = meta.get("source") or {}
        matches = source == wanted if embedded else source.get("sha256") == wanted["sha256"]
        if matches and keyed_params(meta.get("params") or {}) == params:
            found.append((meta_path.stat().st_mtime, str(meta.get("key"))))
    # The newest: a clip cached again by a newer version of the cache (its key changed) is trained on that one.
    return max(found)[1] if found else None


@lru_cache(maxsize=1024)
def _records(path: str, size: int, mtime_ns: int) -> tuple[dict, dict]:
    try:
        # mmap: the records are read without loading every tensor of a large checkpoint
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return checkpoint_identity(ckpt), dict(ckpt.get("hyper_parameters") or {})
    except Exception:  # noqa: BLE001 - unreadable files are simply not runs
        return {}, {}


def checkpoint_record(path: Path) -> dict:
    """The identity a checkpoint records (model, class, image_size, target_key, target_name); {} if unreadable."""
    stat = path.stat()
    return _records(str(path), stat.st_size, stat.st_mtime_ns)[0]


def checkpoint_options(path: Path) -> dict:
    """The model options a checkpoint was trained with (its hyperparameters); {} if unreadable."""
    stat = path.stat()
    return _records(str(path), stat.st_size, stat.st_mtime_ns)[1]


@dataclass(frozen=True)
class TrainedRun:
    """One training run's checkpoint for a target, with its newest evaluation's figures."""

    run_dir: Path
    checkpoint: Path
    model: str
    image_size: int
    target_name: str
    metrics: dict | None = None

    @property
    def label(self) -> str:
        figures = "not evaluated"
        if self.metrics:
            shown = [
                f"{label} {format(self.metrics[key], spec)}"
                for key, label, spec in SHOWN_METRICS
                if isinstance(self.metrics.get(key), int | float)
            ]
            figures = ", ".join(shown) or figures
        return f"{self.run_dir.name} · {self.image_size} px · {self.checkpoint.name} · {figures}"


def evaluated_checkpoints(evaluate_dir: Path) -> dict[Path, dict]:
    """checkpoint path -> the "metrics" of its newest evaluation (runs of src/evaluate.py that
    named their checkpoint)."""
    newest: dict[Path, tuple[float, dict]] = {}
    for path in Path(evaluate_dir).glob("*/metrics.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not record.get("checkpoint") or not isinstance(record.get("metrics"), dict):
            continue
        ckpt, when = Path(record["checkpoint"]).resolve(), path.stat().st_mtime
        if ckpt not in newest or newest[ckpt][0] < when:
            newest[ckpt] = (when, record["metrics"])
    return {ckpt: metrics for ckpt, (_, metrics) in newest.items()}


def trained_runs(train_dir: Path, model: str, key: str | None, evaluate_dir: Path | None = None) -> list[TrainedRun]:
    """The runs under train_dir of `model` trained on the target with cache key `key`, newest
    first, each with the checkpoint its class prefers (best* or last, as the demo picks)."""
    from motion_transfer.models import GENERATOR_CLASSES

    if key is None:
        return []
    scores = evaluated_checkpoints(evaluate_dir) if evaluate_dir else {}
    runs = []
    for run_dir in Path(train_dir).glob("*/"):
        candidates = []
        for path in (run_dir / "checkpoints").glob("*.ckpt"):
            if path.name.startswith("."):  # still being written under its temporary name
                continue
            identity = checkpoint_record(path)
            if identity.get("model") != model or identity.get("target_key") != key:
                continue
            cls = GENERATOR_CLASSES.get(identity.get("class"))
            preferred = cls is not None and path.name.startswith(cls.preferred_checkpoint)
            candidates.append((preferred, path.stat().st_mtime, path, identity))
        if candidates:
            _, _, path, identity = max(candidates, key=lambda c: (c[0], c[1]))
            runs.append(
                TrainedRun(
                    run_dir=run_dir.resolve(),
                    checkpoint=path.resolve(),
                    model=model,
                    image_size=int(identity.get("image_size", 0)),
                    target_name=str(identity.get("target_name", "")),
                    metrics=scores.get(path.resolve()),
                )
            )
    return sorted(runs, key=lambda run: run.run_dir.stat().st_mtime, reverse=True)


def draws_each_frame_from_stick_figures(options) -> bool:
    """Whether model options (a config, or a checkpoint's hyperparameters) describe a generator that
    reads stick figures and draws each frame alone, without appearance flow (which draws at the output's own
    resolution already): what a model that trains from another run refines."""
    stick = GENERATOR_INPUTS.get(str(options.get("generator"))) == "stick"
    return stick and not options.get("temporal") and not options.get("flow")


@lru_cache(maxsize=1)
def refinable_model_names() -> tuple[str, ...]:
    """The models whose runs a model with `trains_from` can refine, as configs/model/ sets them up:
    learned, trained alone, drawing each frame from the stick figure."""
    from motion_transfer.models.loading import model_config

    kinds = model_kinds()
    return tuple(
        name
        for name in model_names(learns=True)
        if not kinds[name].trains_from and draws_each_frame_from_stick_figures(model_config(name))
    )


def refinable_runs(train_dir: Path, key: str | None, image_size: int, evaluate_dir: Path | None = None) -> list:
    """The runs on the target with cache key `key` at `image_size` px that a model with `trains_from`
    can refine (learned models trained alone, each checkpoint drawing each frame from the stick
    figure), newest first."""
    kinds = model_kinds()
    runs = [
        run
        for name in model_names(learns=True)
        if not kinds[name].trains_from
        for run in trained_runs(train_dir, name, key, evaluate_dir)
        if run.image_size == image_size and draws_each_frame_from_stick_figures(checkpoint_options(run.checkpoint))
    ]
    return sorted(runs, key=lambda run: run.run_dir.stat().st_mtime, reverse=True)


@dataclass(frozen=True)
class Report:
    folder: Path
    markdown: str
    grid: Path | None
    frames: Path | None


def newest_report(report_dir: Path, key: str | None, image_size: int | None = None) -> Report | None:
    """The newest report under report_dir written for the target with cache key `key` (and at
    `image_size` when given), or None."""
    if key is None:
        return None
    found = []
    for path in Path(report_dir).glob("*/metrics.json"):
        try:
            models = json.loads(path.read_text()).get("models") or {}
        except (OSError, ValueError):
            continue
        for result in models.values():
            if (result.get("target") or {}).get("key") == key and image_size in (None, result.get("image_size")):
                found.append((path.stat().st_mtime, path.parent))
                break
    for _, folder in sorted(found, reverse=True):
        report = read_report(folder)
        if report is not None:
            return report
    return None


def read_report(folder: Path) -> Report | None:
    """A report folder's table and pictures (None while report.md is missing)."""
    folder = Path(folder)
    if not (folder / "report.md").is_file():
        return None
    picture = folder / "report.png"
    frames = folder / "report_frames.png"
    return Report(
        folder=folder,
        markdown=(folder / "report.md").read_text(),
        grid=picture if picture.is_file() else None,
        frames=frames if frames.is_file() else None,
    )
