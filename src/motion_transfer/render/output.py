"""What a run draws each frame into: the output kinds behind one interface, their options checked once.

`output=full` (the default) pastes the person into the target's own scene at the video's
resolution; `output=crop` draws the square crop over the background's crop where the target
usually stands. The demo and live mode share the options (`configs/output/`) and these classes:
a generator gives the person's colours and alpha in its square crop and a box, an output kind
turns them into the frame that is written.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

import cv2
import numpy as np

from motion_transfer.data.video import X264_PRESETS
from motion_transfer.render.paste import composite_frames, output_size, paste, pixel_edges
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)

OUTPUT_MODES = ("full", "crop")
#: The smallest side, in pixels, of a video or panel (x264 and the labels need some room).
MIN_SIDE = 64


@dataclass(frozen=True)
class OutputOptions:
    """The `output` block of the demo's and live mode's configs: its values are written once, in
    configs/output/*.yaml."""

    #: full: the target in their own scene; crop: the square crop.
    mode: str
    #: The longer side of a full-frame video is at most this many pixels.
    max_side: int
    #: The height of the side-by-side preview (transfer.mp4) at most.
    panel_height: int
    #: The alpha fades to 0 over this fraction of the box's side at its border.
    feather: float
    #: The side of the crop output and of each crop panel.
    panel_size: int
    #: x264's speed preset.
    video_preset: str

    @classmethod
    def from_config(cls, output) -> OutputOptions:
        """The options of `output` (a config node or dict), each checked; a bad one is the user's mistake."""
        options = cls(
            mode=str(output["mode"]),
            max_side=int(output["max_side"]),
            panel_height=int(output["panel_height"]),
            feather=float(output["feather"]),
            panel_size=int(output["panel_size"]),
            video_preset=str(output["video_preset"]),
        )
        if options.mode not in OUTPUT_MODES:
            raise UserError(f"output.mode={options.mode!r} is not known; use one of {', '.join(OUTPUT_MODES)}.")
        for name in ("max_side", "panel_height", "panel_size"):
            if getattr(options, name) < MIN_SIDE:
                raise UserError(f"output.{name}={getattr(options, name)} must be at least {MIN_SIDE} pixels.")
        if not 0.0 <= options.feather <= 0.5:
            raise UserError(f"output.feather={options.feather} is a fraction of the box's side: use 0 to 0.5.")
        if options.video_preset not in X264_PRESETS:
            raise UserError(
                f"output.video_preset={options.video_preset!r} is not an x264 preset; "
                f"use one of {', '.join(X264_PRESETS)}."
            )
        return options


class FrameOutput(ABC):
    """Turns a drawn person into the frame that is written: (width, height) `size`, RGB uint8."""

    size: tuple[int, int]

    @abstractmethod
    def empty(self) -> np.ndarray:
        """The frame with nobody drawn (before the first person is seen)."""

    @abstractmethod
    def frame(self, person: np.ndarray, alpha: np.ndarray, box: np.ndarray) -> np.ndarray:
        """(S, S, 3) uint8 colours and (S, S) float alpha in [0, 1] of a crop drawn at `box` (cx, cy, side)
        in the target's view -> the output frame (H, W, 3) uint8."""

    def frames(self, persons, alphas, boxes: np.ndarray) -> np.ndarray:
        """`frame` over a batch: (N, S, S, 3), (N, S, S), (N, 3) -> (N, H, W, 3); persons of different
        sizes may come as lists."""
        return np.stack([self.frame(p, a, b) for p, a, b in zip(persons, alphas, boxes)])

    @abstractmethod
    def side_for(self, box: np.ndarray) -> int:
        """The side, in output pixels, that a person drawn at `box` covers: what a generator that draws
        at the output's own resolution (`draws_native`) draws, so nothing is resampled."""


class SceneOutput(FrameOutput):
    """The person pasted into the target's scene (its background plate) at the video's resolution,
    scaled down so that the longer side is at most `max_side`."""

    def __init__(self, plate: np.ndarray, max_side: int, feather: float):
        self.plate = plate
        self.feather = float(feather)
        self.size = output_size((plate.shape[1], plate.shape[0]), max_side)
        self.scaled_plate = cv2.resize(plate, self.size, interpolation=cv2.INTER_AREA)
        sx, sy = self.size[0] / plate.shape[1], self.size[1] / plate.shape[0]
        self._box_scale = np.array([sx, sy, (sx + sy) / 2.0])

    def empty(self) -> np.ndarray:
        return self.scaled_plate.copy()

    def frame(self, person: np.ndarray, alpha: np.ndarray, box: np.ndarray) -> np.ndarray:
        result = self.scaled_plate.copy()
        paste(result, person, alpha, np.asarray(box) * self._box_scale, feather_width=self.feather)
        return result

    def frames(self, persons, alphas, boxes: np.ndarray) -> np.ndarray:
        if isinstance(persons, np.ndarray) and isinstance(alphas, np.ndarray):
            return composite_frames(self.plate, persons, alphas, boxes, self.size, self.feather)
        # Persons of different sizes (drawn at each box's side): pasted straight into the batch, no second copy.
        out = np.empty((len(persons), self.size[1], self.size[0], 3), np.uint8)
        out[:] = self.scaled_plate
        for frame, person, alpha, box in zip(out, persons, alphas, boxes):
            paste(frame, person, alpha, np.asarray(box) * self._box_scale, feather_width=self.feather)
        return out

    def side_for(self, box: np.ndarray) -> int:
        cx, _, side = np.asarray(box, dtype=np.float64) * self._box_scale
        start, stop = pixel_edges(cx, side)
        return max(1, stop - start)


class CropOutput(FrameOutput):
    """The square crop at `side`, over `background` (the plate's crop where the target usually
    stands, (side, side, 3)) when the generator draws alpha and a plate exists; else the colours."""

    def __init__(self, side: int, background: np.ndarray | None = None):
        self.side = int(side)
        self.size = (self.side, self.side)
        self.background = background

    def empty(self) -> np.ndarray:
        if self.background is not None:
            return self.background.copy()
        return np.zeros((self.side, self.side, 3), np.uint8)

    def side_for(self, box: np.ndarray) -> int:
        return self.side

    def frame(self, person: np.ndarray, alpha: np.ndarray, box: np.ndarray) -> np.ndarray:
        side = self.side
        person = cv2.resize(person, (side, side), interpolation=cv2.INTER_LINEAR)
        if self.background is None:
            return person
        a = cv2.resize(alpha.astype(np.float32), (side, side), interpolation=cv2.INTER_LINEAR)
        return cv2.blendLinear(person, self.background, a, 1.0 - a)


def typical_plate_crop(datamodule) -> np.ndarray:
    """(S, S, 3) uint8: the background's crop at the target's median box, at the datamodule's size."""
    box = np.median(datamodule.view_boxes(datamodule.split.train), axis=0)
    return np.ascontiguousarray(datamodule.plate_crops(box[None])[0])


def output_for(options: OutputOptions, datamodule, draws_alpha: bool) -> FrameOutput:
    """The output kind `options.mode` asks for, given what the target has: a target without a usable
    plate gets the crop (the datamodule has said why)."""
    if options.mode == "full" and datamodule.has_plate:
        return SceneOutput(datamodule.plate, options.max_side, options.feather)
    background = None
    if draws_alpha and datamodule.has_plate:
        background = cv2.resize(
            typical_plate_crop(datamodule), (options.panel_size,) * 2, interpolation=cv2.INTER_LINEAR
        )
    return CropOutput(options.panel_size, background)
