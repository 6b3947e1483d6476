"""ONNX export of a trained generator, for inference outside PyTorch."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import nn

from motion_transfer.models import PoseToImageModule
from motion_transfer.models.base import FEEDBACK_CHANNELS
from motion_transfer.models.flow import REFERENCE_CHANNELS
from motion_transfer.runtime.atomic import atomic_file
from motion_transfer.runtime.errors import UserError


class GeneratorNetwork(nn.Module):
    """The generator's network alone: (N, 26) pose vectors or (N, 3, S, S) stick figures, (N, 3)
    placements for a model built with placement=true, (N, 4, S, S) the previous frame's feedback
    for a temporal one (models.base.feedback; zeros for the first frame) and (N, 4, S, S) the
    reference for an appearance-flow one (models/flow.py: the bent reference frame, colours and alpha;
    the flow is applied inside) -> image (N, 3, S, S) in [-1, 1], and alpha (N, 1, S, S) in [0, 1]
    for a model that draws it. At the output's own resolution a flow model's layers are assembled by
    OpenCV (flow.assemble_native), outside the network: with `layers` the network gives them unassembled,
    'layers' (N, 7, S, S) as flow.split_outputs reads them."""

    def __init__(self, model: PoseToImageModule, layers: bool = False):
        super().__init__()
        if not model.learns:
            raise UserError(
                f"model={model.model_name} has no network to export (it looks frames up); export vanilla, "
                "vanilla_image or gan."
            )
        self.model = model
        size = model.image_size
        examples = {
            "pose": torch.zeros(1, 26) if model.input_kind == "vector" else torch.zeros(1, 3, size, size),
            "placement": torch.zeros(1, 3) if model.uses_placement else None,
            "previous": torch.zeros(1, FEEDBACK_CHANNELS, size, size) if model.temporal else None,
            "reference": torch.zeros(1, REFERENCE_CHANNELS, size, size) if getattr(model, "flow", False) else None,
        }
        self.input_names = [name for name, example in examples.items() if example is not None]
        self.example = tuple(examples[name] for name in self.input_names)
        if layers and "reference" not in self.input_names:
            raise ValueError("only an appearance-flow model's network draws layers to assemble")
        self.layers = bool(layers)
        self.output_names = ["layers"] if layers else ["image", "alpha"] if model.draws_alpha else ["image"]

    def _reference(self, named: dict) -> dict:
        return {"reference": named["reference"]} if "reference" in named else {}

    def forward(self, *inputs: torch.Tensor):
        named = dict(zip(self.input_names, inputs))
        pose, placement, previous = named["pose"], named.get("placement"), named.get("previous")
        if self.layers:
            return self.model.inference_network()(
                self.model.network_input(pose, pose, placement, **self._reference(named))
            )
        if self.model.draws_alpha:
            return self.model.generate_layers(pose, pose, placement, previous, **self._reference(named))
        return self.model.inference_network()(self.model.network_input(pose, pose, placement, previous))


def export_onnx(model: PoseToImageModule, path: Path, layers: bool = False) -> Path:
    """Write `path` (ONNX, opset 17, dynamic batch) and return it. Input 'pose' (and 'placement'
    for a model that reads it, 'previous' for a temporal one, 'reference' for a flow one), outputs
    'image' (and 'alpha' for a model that draws it); with `layers` (a flow model), 'layers' instead."""
    network = GeneratorNetwork(model, layers).eval()
    axes = {name: {0: "batch"} for name in [*network.input_names, *network.output_names]}
    with torch.no_grad(), atomic_file(path) as tmp:
        torch.onnx.export(
            network,
            network.example,
            str(tmp),
            dynamo=False,
            input_names=network.input_names,
            output_names=network.output_names,
            dynamic_axes=axes,
            opset_version=17,
        )
    return path


def run_export(cfg: DictConfig) -> Path:
    """Write <run folder>/<model>.onnx for the configured model's checkpoint."""
    from motion_transfer.models.loading import prepare_data_and_model
    from motion_transfer.runtime.config import start_run

    out_dir = start_run(cfg)
    _, model = prepare_data_and_model(cfg)
    return export_onnx(model, out_dir / f"{model.model_name}.onnx")
