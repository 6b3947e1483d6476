"""ONNX export of a trained generator, for inference outside PyTorch."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import nn

from .errors import UserError
from .models import PoseToImageModule


class GeneratorNetwork(nn.Module):
    """The generator's network alone: (N, 26) pose vectors or (N, 3, S, S) stick figures -> (N, 3, S, S)."""

    def __init__(self, model: PoseToImageModule):
        super().__init__()
        if model._trained_attr is None:
            raise UserError(f"model={model.model_name} has no network to export (it looks frames up); export vanilla, vanilla_image or gan.")
        self.net = model.inference_network()
        self.input_kind = model.input_kind
        self.example = torch.zeros(1, 26) if self.input_kind == "vector" else torch.zeros(1, 3, model.image_size, model.image_size)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        return self.net(pose)


def export_onnx(model: PoseToImageModule, path: Path) -> Path:
    """Write `path` (ONNX, opset 17, dynamic batch) and return it. Input 'pose', output 'image'."""
    network = GeneratorNetwork(model).eval()
    tmp = path.with_name(f".{path.name}.partial")
    with torch.no_grad():
        torch.onnx.export(network, (network.example,), str(tmp), dynamo=False, input_names=["pose"], output_names=["image"],
                          dynamic_axes={"pose": {0: "batch"}, "image": {0: "batch"}}, opset_version=17)
    tmp.replace(path)
    return path


def run_export(cfg: DictConfig) -> Path:

    from .loading import load_model, prepare_datamodule
    from .runs import run_dir

    datamodule = prepare_datamodule(cfg.data)
    model = load_model(cfg, datamodule)
    return export_onnx(model, run_dir() / f"{model.model_name}.onnx")
