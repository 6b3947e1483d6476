"""Generation timed: each model's module (the stick figures drawn, the placement added) against its
bare network's forward pass, at each size and batch, and the same network in ONNX Runtime; and the
untrained generators every section times (the same work as trained ones)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from motion_transfer.bench.measure import compared, timed
from motion_transfer.models.loading import model_config


def untrained_model(name: str, size: int, device: str = "cpu", training: bool = False):
    """A new, untrained generator as configs/model/<name>.yaml builds it, at `size` px."""
    import hydra

    extra = {"warmup": 0.0} if training and "warmup" in model_config(name) else {}  # time adversarial steps
    model = hydra.utils.instantiate(model_config(name), image_size=size, **extra).to(device)
    return model.train(training)


def bench_generation(
    skeletons: np.ndarray, sizes: list[int], batches: list[int], repeats: int, models: list[str], device: str = "cpu"
) -> dict:
    """Frames a second of each model at each size (px) and batch: its module against its bare network,
    keyed `NAME@SIZE/bBATCH`."""
    out = {}
    for name in models:
        for size in sizes:
            model = untrained_model(name, size, device)
            net = model.inference_network()
            for batch in batches:
                sk = skeletons[:batch]
                vector, stick = model.make_inputs(sk)
                pose = vector if model.input_kind == "vector" else stick
                x = model.network_input(vector, stick)  # what the network reads, the placement included

                def bare():
                    with torch.no_grad():
                        net(x)

                c = compared(bare, lambda: model.generate_from_skeletons(sk, batch), repeats, device=device)
                # ONNX Runtime is measured on the CPU only (its CUDA provider is not installed).
                out[f"{name}@{size}/b{batch}"] = {
                    "module_fps": batch / c["ours_s"],
                    "bare_forward_fps": batch / c["baseline_s"],
                    **c,
                    "onnxruntime_fps": _onnxruntime_fps(model, pose, repeats) if device == "cpu" else None,
                }
    return out


def _onnxruntime_fps(model, pose: torch.Tensor, repeats: int) -> float:
    """Frames/s of the same network exported to ONNX and run by ONNX Runtime on the CPU."""
    import onnxruntime as ort

    from motion_transfer.models.export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        session = ort.InferenceSession(
            str(export_onnx(model, Path(tmp) / "generator.onnx")), providers=["CPUExecutionProvider"]
        )
        inputs = {"pose": pose.numpy()}
        if model.uses_placement:
            inputs["placement"] = model.default_placement.expand(len(pose), -1).numpy()
        return len(pose) / timed(lambda: session.run(None, inputs), repeats)
