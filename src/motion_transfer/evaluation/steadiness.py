"""How steady a generated video is, measured against the real clip it redraws (no learned weights).

Per frame figures cannot see flicker: texture that changes from frame to frame, an outline that
boils. Two figures over consecutive held-out frames can:

- warping error: the optical flow between the *real* frames t and t-1 (OpenCV's DIS), the
  generated frame t-1 warped along it onto t, and the mean absolute difference with the generated
  frame t over the pixels where the flow is trustworthy (forward-backward check). Real video has
  a warping error of its own (occlusions, lighting, compression): it is reported beside it, and the
  ratio of the two.
- temporal-difference error: the mean of |(g_t - g_{t-1}) - (r_t - r_{t-1})|, how far the generated
  change between frames is from the real change; zero for a perfect copy, large for flicker and
  for frozen output alike.

A Y-T slice (one pixel row from every frame, stacked) shows the same at a glance: smooth streaks
for a steady video, noise across them for flicker.
"""

from __future__ import annotations

import cv2
import numpy as np

#: DIS's medium preset: about 3 ms for a 128-px pair, 90 ms at 960x720 on one core.
FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM

#: Forward-backward check (Sundaram et al., 2010): a flow vector f and the backward flow b at its
#: end agree when |f + b|^2 < FB_RELATIVE * (|f|^2 + |b|^2) + FB_ABSOLUTE (pixels^2).
FB_RELATIVE = 0.01
FB_ABSOLUTE = 0.5


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


class PairMotion:
    """The real motion from frame t-1 to frame t: where each pixel of t was in t-1, and whether
    the flow there is trustworthy."""

    def __init__(self, real_prev: np.ndarray, real_cur: np.ndarray, flow=None):
        flow = flow or cv2.DISOpticalFlow_create(FLOW_PRESET)
        grey_prev, grey_cur = _grey(real_prev), _grey(real_cur)
        back = flow.calc(grey_cur, grey_prev, None)  # pixel x of t sits at x + back(x) in t-1
        forward = flow.calc(grey_prev, grey_cur, None)
        h, w = back.shape[:2]
        grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), axis=-1)
        self.map = grid + back
        returned = cv2.remap(forward, self.map[..., 0], self.map[..., 1], cv2.INTER_LINEAR)
        mismatch = np.square(back + returned).sum(-1)
        scale = np.square(back).sum(-1) + np.square(returned).sum(-1)
        inside = (
            (self.map[..., 0] >= 0)
            & (self.map[..., 0] <= w - 1)
            & (self.map[..., 1] >= 0)
            & (self.map[..., 1] <= h - 1)
        )
        self.valid = inside & (mismatch < FB_RELATIVE * scale + FB_ABSOLUTE)

    def warp(self, image_prev: np.ndarray) -> np.ndarray:
        """A frame t-1 (H, W, 3) uint8 moved along the real motion onto frame t, float32 in [0, 1]."""
        return cv2.remap(image_prev.astype(np.float32) / 255.0, self.map[..., 0], self.map[..., 1], cv2.INTER_LINEAR)

    def warping_error(self, image_prev: np.ndarray, image_cur: np.ndarray) -> float:
        """Mean |image_t - warp(image_{t-1})| over the trustworthy pixels, on the [0, 1] scale."""
        if not self.valid.any():
            return float("nan")
        difference = np.abs(image_cur.astype(np.float32) / 255.0 - self.warp(image_prev)).mean(-1)
        return float(difference[self.valid].mean())


def temporal_difference_error(
    fake_prev: np.ndarray, fake_cur: np.ndarray, real_prev: np.ndarray, real_cur: np.ndarray
) -> float:
    """mean |(g_t - g_{t-1}) - (r_t - r_{t-1})| over pixels and channels, on the [0, 1] scale."""
    fake_change = fake_cur.astype(np.int16) - fake_prev.astype(np.int16)
    real_change = real_cur.astype(np.int16) - real_prev.astype(np.int16)
    return float(np.abs(fake_change - real_change).mean() / 255.0)


class TemporalFigures:
    """Temporal figures of one or more generated videos against the real one, fed frame by frame
    in clip order (so full frames need not all be held in memory). Only pairs of consecutive
    frame numbers count: a frame without a person breaks the sequence."""

    def __init__(self, names: list[str]):
        self.names = list(names)
        self._flow = cv2.DISOpticalFlow_create(FLOW_PRESET)
        self._last: tuple[int, np.ndarray, dict[str, np.ndarray]] | None = None
        self._real: list[float] = []
        self._warping: dict[str, list[float]] = {name: [] for name in self.names}
        self._difference: dict[str, list[float]] = {name: [] for name in self.names}
        self._valid: list[float] = []

    def add(self, number: int, real: np.ndarray, fakes: dict[str, np.ndarray]) -> None:
        """Frame `number` of the clip: the real frame and each named generated frame, (H, W, 3) uint8 RGB."""
        if self._last is not None and number == self._last[0] + 1:
            _, real_prev, fakes_prev = self._last
            motion = PairMotion(real_prev, real, self._flow)
            self._valid.append(float(motion.valid.mean()))
            self._real.append(motion.warping_error(real_prev, real))
            for name in self.names:
                self._warping[name].append(motion.warping_error(fakes_prev[name], fakes[name]))
                self._difference[name].append(temporal_difference_error(fakes_prev[name], fakes[name], real_prev, real))
        self._last = (int(number), real, fakes)

    def result(self) -> dict[str, dict[str, float]]:
        """Per name: warping_error, warping_error_real, warping_ratio (generated / real),
        temporal_difference, plus the number of pairs and the share of pixels the flow trusted."""
        real = float(np.nanmean(self._real)) if self._real else float("nan")
        figures = {}
        for name in self.names:
            warping = float(np.nanmean(self._warping[name])) if self._warping[name] else float("nan")
            figures[name] = {
                "warping_error": warping,
                "warping_error_real": real,
                "warping_ratio": warping / real if real > 0 else float("nan"),
                "temporal_difference": float(np.mean(self._difference[name]))
                if self._difference[name]
                else float("nan"),
                "pairs": len(self._real),
                "flow_valid_share": float(np.mean(self._valid)) if self._valid else float("nan"),
            }
        return figures


def sequence_figures(numbers: np.ndarray, real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """Temporal figures of generated frames `fake` against `real`, both (N, H, W, 3) uint8 RGB in
    the order of their clip frame `numbers` (ascending)."""
    figures = TemporalFigures(["fake"])
    for number, real_frame, fake_frame in zip(numbers, real, fake):
        figures.add(int(number), real_frame, {"fake": fake_frame})
    return figures.result()["fake"]


def yt_slice(frames: np.ndarray, row: int) -> np.ndarray:
    """(N, H, W, 3) frames -> (N, W, 3): row `row` of every frame, time running downwards."""
    return np.ascontiguousarray(frames[:, row])
