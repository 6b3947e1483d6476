"""The generator of live mode: one pose at a time, in ONNX Runtime or PyTorch."""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path

import numpy as np

from motion_transfer.pose.skeleton import NEUTRAL_POSE
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "onnx", "torch")
#: Frames each runtime draws, in alternation, when `auto` times them on this machine.
AUTO_FRAMES = 8
#: The side a generator that draws at the output's resolution draws at while it is timed (small: the
#: runtimes differ in the network, not in the OpenCV work around it).
TIMING_SIDE = 128


class LiveGenerator:
    """One crop-coordinate pose (and its placement) -> (person (S, S, 3) uint8, alpha (S, S) float32); at
    the output's own resolution for a generator that `draws_native` (the warp: OpenCV remaps, no ONNX; an
    appearance-flow model: its network's layers in either runtime, assembled by OpenCV).

    A learned generator runs in ONNX Runtime (`runtime=onnx`: exported into the run folder once),
    in PyTorch (`runtime=torch`: channels-last), or in whichever of the two draws a frame faster on
    this machine (`runtime=auto`: both timed on a few frames at the start; `runtime` then says which);
    nearest neighbour looks its frame up as in the demo. A temporal model reads the frame it drew before.
    """

    def __init__(self, model, runtime: str, folder: Path, threads: int = 1):
        import torch

        from motion_transfer.models.base import FEEDBACK_CHANNELS

        self.model = model
        self.session = None
        self.previous = None  # a temporal model's feedback of the frame drawn before (None: nobody)
        size = getattr(model, "image_size", 0)
        self.nobody = np.zeros((1, FEEDBACK_CHANNELS, size, size), np.float32)
        if runtime not in RUNTIMES:
            raise UserError(f"runtime={runtime!r} is not known; use one of {', '.join(RUNTIMES)}.")
        # One frame at a time is too little work to share; PyTorch's idle threads would spin on the
        # core that MediaPipe needs (it still renders the stick figures with ONNX Runtime).
        torch.set_num_threads(max(1, int(threads)))
        #: An appearance-flow model draws its layers to assemble at the output's resolution.
        self.layers = bool(getattr(model, "flow", False)) and model.draws_native
        self.runtime = runtime if model.learns and (self.layers or not model.draws_native) else "torch"
        if self.runtime in ("onnx", "auto"):
            import onnxruntime as ort

            from motion_transfer.models.export import export_onnx

            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, int(threads))
            options.inter_op_num_threads = 1
            path = export_onnx(model, folder / ("layers.onnx" if self.layers else "generator.onnx"), self.layers)
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self.inputs = [i.name for i in self.session.get_inputs()]
            self(NEUTRAL_POSE, np.zeros(3, np.float32), TIMING_SIDE)  # the first run allocates: not on a live frame
            self.previous = None
        if self.runtime == "auto":
            self.runtime = self._faster_runtime()

    def _faster_runtime(self) -> str:
        """Time ONNX Runtime and PyTorch on AUTO_FRAMES frames each, in alternation; keep the faster."""
        session, placement, seconds = self.session, np.zeros(3, np.float32), {"onnx": [], "torch": []}
        self.session = None
        self(NEUTRAL_POSE, placement, TIMING_SIDE)  # PyTorch's first frame builds its kernels
        for i in range(2 * AUTO_FRAMES):
            runtime = ("onnx", "torch")[(i + i // 2) % 2]  # onnx, torch, torch, onnx, ...
            self.session = session if runtime == "onnx" else None
            start = time.perf_counter()
            self(NEUTRAL_POSE, placement, TIMING_SIDE)
            seconds[runtime].append(time.perf_counter() - start)
        ms = {runtime: 1e3 * statistics.median(times) for runtime, times in seconds.items()}
        faster = min(ms, key=ms.get)
        self.session, self.previous = (session if faster == "onnx" else None), None
        log.info(
            "live runtime: %s (%.1f ms a frame; onnx %.1f, torch %.1f)", faster, ms[faster], ms["onnx"], ms["torch"]
        )
        return faster

    def __call__(
        self, skeleton: np.ndarray, placement: np.ndarray, side: int | None = None, facing: float = float("nan")
    ) -> tuple[np.ndarray, np.ndarray]:
        """The person for one pose; a generator that draws at the output's resolution draws at `side`, from
        the target's frames turned as `facing` says (radians, NaN unknown) where it retrieves them."""
        if self.model.draws_native and side is not None:
            network = self._onnx_layers if self.session is not None else None
            kwargs = {"network": network} if self.layers else {}
            facings = np.array([facing], dtype=np.float64)
            return self.model.native_layers(skeleton[None], [int(side)], placement[None], facings, **kwargs)[0]
        if self.session is None:
            rgb, alpha = self.model.layers_from_skeletons(skeleton[None], 1, placement[None], self.previous)
            self.previous = self.model.carry(rgb, alpha)
            rgb, alpha = rgb.numpy(), alpha.numpy()
        else:
            vector, stick = self.model.make_inputs(skeleton[None])
            pose = vector if self.model.input_kind == "vector" else stick
            feeds = {"pose": pose.numpy()}
            if "placement" in self.inputs:
                feeds["placement"] = placement[None].astype(np.float32)
            if "previous" in self.inputs:
                feeds["previous"] = self.nobody if self.previous is None else self.previous
            outputs = self.session.run(None, feeds)
            rgb = outputs[0]
            alpha = outputs[1] if len(outputs) > 1 else np.ones_like(rgb[:, :1])
            if self.model.temporal:
                self.previous = np.concatenate([rgb * alpha, alpha], axis=1).astype(np.float32)
        person = ((np.clip(rgb[0], -1.0, 1.0) + 1.0) * 127.5 + 0.5).astype(np.uint8).transpose(1, 2, 0)
        return np.ascontiguousarray(person), alpha[0, 0].astype(np.float32)

    def _onnx_layers(self, stick, placement, reference):
        """A flow model's layers (N, 7, S, S) in ONNX Runtime, from PyTorch tensors as native_layers gives them."""
        import torch

        feeds = {"pose": stick.cpu().numpy(), "reference": reference.cpu().numpy()}
        if "placement" in self.inputs:
            where = self.model.default_placement[None] if placement is None else placement
            feeds["placement"] = where.float().cpu().numpy()
        return torch.from_numpy(self.session.run(None, feeds)[0])
