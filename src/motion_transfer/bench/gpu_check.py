"""`make gpu-check`: what a CUDA GPU gives. Each run of `gpu_check.runs` (the 128- and 256-px U-Net,
the default GAN) trains for `gpu_check.budget` with trainer=gpu (bf16-mixed where the card supports
it) in its own process, as the race trains; each is then evaluated on the held-out frames. Writes
gpu_check.json and gpu_check.md: steps a second, epochs, the share of the time outside the steps,
held-out SSIM, PSNR, sharpness and, at the video's resolution, the detail ratio.

Without a CUDA GPU it stops at once with one line (nothing else is run).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from motion_transfer.evaluation.evaluate import evaluate_generator
from motion_transfer.evaluation.race import train_entry
from motion_transfer.models.checkpoints import find_latest_checkpoint, load_generator
from motion_transfer.models.loading import prepare_datamodule
from motion_transfer.runtime.atomic import write_json_atomically, write_text_atomically
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)


def require_cuda() -> str:
    """The GPU's name, or a UserError when PyTorch sees no CUDA GPU."""
    if not torch.cuda.is_available():
        raise UserError(
            "make gpu-check needs a CUDA GPU and PyTorch sees none on this machine "
            "(torch.cuda.is_available() is False); run it where a GPU is lent."
        )
    return torch.cuda.get_device_name()


def _size(overrides: list[str], default: int) -> int:
    sizes = [int(o.split("=", 1)[1]) for o in overrides if o.startswith("data.image_size=")]
    return sizes[-1] if sizes else default


def _model(overrides: list[str]) -> str:
    names = [o.split("=", 1)[1] for o in overrides if o.startswith("model=")]
    if len(names) != 1:
        raise UserError(f"gpu_check.runs: each run needs exactly one model=NAME override, got {overrides}")
    return names[0]


def check_run(label: str, overrides: list[str], cfg: DictConfig, out_dir: Path) -> dict:
    """Train one run on the GPU for the budget, evaluate it on the CPU; its figures."""
    name, size = _model(overrides), _size(overrides, int(cfg.data.image_size))
    folder = out_dir / label
    folder.mkdir(parents=True, exist_ok=True)
    budget = str(cfg.gpu_check.budget)
    seconds = train_entry(
        label, [*overrides, "trainer=gpu"], budget, folder, str(cfg.paths.cache_dir), folder / "train.log"
    )
    datamodule = prepare_datamodule(OmegaConf.merge(cfg.data, {"image_size": size}))
    ckpt = find_latest_checkpoint(folder / "train", name, datamodule.target_key, size)
    if ckpt is None:
        raise UserError(f"gpu-check: '{label}' trained but left no checkpoint under {folder / 'train'}")
    model, checkpoint = load_generator(ckpt, name, size, datamodule.target_key)
    timing = json.loads((ckpt.parent.parent / "step_time.json").read_text())
    result, _ = evaluate_generator(model, datamodule, cfg.pose, int(cfg.batch_size), with_floors=False)
    metrics, native = result["metrics"], result.get("native", {})
    return {
        "overrides": overrides,
        "image_size": size,
        "budget": budget,
        "wall_s": seconds,
        "precision": timing["precision"],
        "steps": timing["steps"],
        "steps_per_s": timing["steps"] / max(timing["fit_s"], 1e-9),
        "step_ms": 1e3 * timing["step_ms"],
        "outside_share": timing["outside_share"],
        "epochs": int(checkpoint.get("epoch", -1)) + 1,
        "checkpoint": str(ckpt),
        "ssim": metrics["ssim"],
        "psnr": metrics["psnr"],
        "sharpness": metrics["sharpness"],
        "detail_ratio": native.get("detail_ratio"),
    }


def markdown(report: dict) -> str:
    """The report as docs/performance.md shows it."""
    lines = [
        f"GPU check on {report['gpu']} (torch {report['torch']}), `{report['command']}`, "
        f"{report['budget']} of training a run:",
        "",
        "| run | px | precision | steps/s | epochs | outside steps | SSIM | PSNR | sharpness | detail ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in report["runs"].items():
        detail = "-" if r["detail_ratio"] is None else f"{r['detail_ratio']:.2f}"
        lines.append(
            f"| {label} | {r['image_size']} | {r['precision']} | {r['steps_per_s']:.2f} | {r['epochs']} | "
            f"{100 * r['outside_share']:.0f}% | {r['ssim']:.3f} | {r['psnr']:.2f} | {r['sharpness']:.2f} | {detail} |"
        )
    return "\n".join(lines) + "\n"


def run_gpu_check(cfg: DictConfig) -> Path:
    """Train and evaluate every run of `gpu_check.runs`; write gpu_check.json and gpu_check.md."""
    from motion_transfer.bench.suite import bench_command
    from motion_transfer.runtime.config import start_run

    gpu = require_cuda()  # before anything is built or written
    out_dir = start_run(cfg)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": bench_command().replace("src/bench.py", "src/gpu_check.py"),
        "gpu": gpu,
        "torch": torch.__version__,
        "bf16_supported": torch.cuda.is_bf16_supported(),
        "budget": str(cfg.gpu_check.budget),
        "runs": {},
    }
    for label, overrides in cfg.gpu_check.runs.items():
        log.info("gpu-check: %s", label)
        report["runs"][label] = check_run(label, [str(o) for o in overrides], cfg, out_dir)
        write_json_atomically(out_dir / "gpu_check.json", report)  # what is done survives a later failure
    text = markdown(report)
    write_text_atomically(out_dir / "gpu_check.md", text)
    print(text)
    return out_dir / "gpu_check.md"
