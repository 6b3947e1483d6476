"""Mapping a source person's poses onto the target's body: size, foot placement, smoothing.

Everything works on (frames, 13, 2) arrays in one coordinate system. The demo uses the crop
coordinates the generators were trained in: the crop already removes the camera distance, so
what is left to correct is the source's body proportion and where its feet stand in the crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_transfer.pose.skeleton import ANKLES, ankle_point, body_height, valid_frames
from motion_transfer.runtime.errors import UserError

NORMALIZE_MODES = ("global", "center_scale", "none")


@dataclass(frozen=True)
class ClipStats:
    """A clip's ankle-position and body-height statistics (after "Everybody Dance Now")."""

    close: float  # the largest ankle y (the person's closest position)
    far: float  # a far ankle y: median of the positions between the median and the closest
    h_close: float  # body height in frames whose ankles are near `close`
    h_far: float  # body height in frames whose ankles are near `far`
    mean_x: float  # mean horizontal position of the ankle point


def clip_stats(skeletons: np.ndarray, far_fraction: float = 0.5) -> ClipStats:
    """Statistics of a clip's valid frames. skeletons: (N, 13, 2)."""
    sk = skeletons[valid_frames(skeletons)]
    if len(sk) == 0:
        raise ValueError("no valid skeleton in the clip")
    ankle_y = sk[:, ANKLES, 1].max(axis=1)
    heights = body_height(sk)
    close = float(ankle_y.max())
    median = float(np.median(ankle_y))
    # The authors' code: positions above the median within a fraction of the way to the max.
    band = ankle_y[(ankle_y >= median) & (ankle_y <= median + far_fraction * (close - median))]
    far = float(np.median(band)) if len(band) else median
    tolerance = max(0.05 * (close - ankle_y.min()), 1e-3)
    near_close = heights[np.abs(ankle_y - close) <= tolerance]
    near_far = heights[np.abs(ankle_y - far) <= tolerance]
    # "The tallest such frames": a high percentile ignores crouches and bends.
    h_close = float(np.percentile(near_close, 90)) if len(near_close) else float(np.percentile(heights, 90))
    h_far = float(np.percentile(near_far, 90)) if len(near_far) else float(np.percentile(heights, 90))
    return ClipStats(close, far, max(h_close, 1e-6), max(h_far, 1e-6), float(ankle_point(sk)[:, 0].mean()))


def normalize_global(source: np.ndarray, source_stats: ClipStats, target_stats: ClipStats) -> np.ndarray:
    """Everybody Dance Now's global pose normalisation of (N, 13, 2) source skeletons.

    Per frame, p says where the source stands between its far and close positions; the scale
    interpolates the target/source height ratios at far and close, and the ankle line moves to the
    same relative place between the target's far and close positions. Horizontally the source
    keeps its offset from its own mean position, scaled.
    """
    ankle = ankle_point(source)
    foot_y = source[:, ANKLES, 1].max(axis=1)
    span = source_stats.close - source_stats.far
    p = (foot_y - source_stats.far) / span if abs(span) > 1e-6 else np.zeros_like(foot_y)
    ratio_far = target_stats.h_far / source_stats.h_far
    ratio_close = target_stats.h_close / source_stats.h_close
    k = ratio_far + p * (ratio_close - ratio_far)
    new_foot_y = target_stats.far + p * (target_stats.close - target_stats.far)
    new_x = target_stats.mean_x + k * (ankle[:, 0] - source_stats.mean_x)
    # Scale about the ankle point, then move it: keep the foot line (max ankle y) at new_foot_y.
    scaled = ankle[:, None, :] + k[:, None, None] * (source - ankle[:, None, :])
    scaled_foot_y = scaled[:, ANKLES, 1].max(axis=1)
    shift = np.stack([new_x - ankle[:, 0], new_foot_y - scaled_foot_y], axis=1)
    return (scaled + shift[:, None, :]).astype(np.float32)


def normalize_center_scale(source: np.ndarray, target_reference: np.ndarray) -> np.ndarray:
    """Match the source's mean centre and mean body height to the target's, one transform for the clip."""
    src, tgt = source[valid_frames(source)], target_reference[valid_frames(target_reference)]
    k = float(np.median(body_height(tgt)) / max(np.median(body_height(src)), 1e-6))
    src_centre = src.reshape(-1, 2).mean(axis=0)
    tgt_centre = tgt.reshape(-1, 2).mean(axis=0)
    return ((source - src_centre) * k + tgt_centre).astype(np.float32)


def normalize_poses(
    source: np.ndarray, target_reference: np.ndarray, mode: str = "global", far_fraction: float = 0.5
) -> np.ndarray:
    """Map (N, 13, 2) source skeletons onto the target's body, given the target's training skeletons."""
    if mode == "none":
        return np.asarray(source, dtype=np.float32).copy()
    if mode == "center_scale":
        return normalize_center_scale(source, target_reference)
    if mode == "global":
        return normalize_global(source, clip_stats(source, far_fraction), clip_stats(target_reference, far_fraction))
    raise ValueError(f"unknown normalisation {mode!r}; use one of {', '.join(NORMALIZE_MODES)}")


def median_smooth(skeletons: np.ndarray, window: int) -> np.ndarray:
    """Centred running median over time of (N, J, 2) skeletons (NaN frames ignored); window odd."""
    if window <= 1 or len(skeletons) < 2:
        return skeletons.copy()
    half = window // 2
    padded = np.pad(skeletons, ((half, half), (0, 0), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (N, J, 2, window)
    with np.errstate(all="ignore"), np.testing.suppress_warnings() as sup:
        sup.filter(RuntimeWarning)
        smoothed = np.nanmedian(windows, axis=-1)
    return np.where(np.isfinite(smoothed), smoothed, skeletons).astype(np.float32)


#: How source poses are smoothed over time: a centred running median (Everybody Dance Now), a
#: One-Euro filter (Casiez et al., CHI 2012: causal, smooth when slow, little lag when fast), none.
SMOOTHING_METHODS = ("median", "one_euro", "none")


class OneEuroFilter:
    """One-Euro filter (Casiez et al., CHI 2012) of an array of coordinates, one frame at a time.

    Each coordinate has its own low-pass filter whose cut-off frequency (Hz) grows with the filtered
    speed: min_cutoff + beta * |speed| (speed in coordinate units a second), so a still joint is
    smoothed hard and a fast one follows with little lag. Causal: what it returns for a frame depends
    on that frame and the ones before. A non-finite coordinate holds the filter's last value.
    """

    def __init__(self, fps: float, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        self.period = 1.0 / float(fps)
        self.min_cutoff, self.beta = float(min_cutoff), float(beta)
        self.alpha_d = self._smoothing_factor(float(d_cutoff))
        self.value: np.ndarray | None = None
        self.seen: np.ndarray | None = None
        self.speed: np.ndarray | None = None

    def _smoothing_factor(self, cutoff):
        return 1.0 / (1.0 + 1.0 / (2.0 * np.pi * cutoff * self.period))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The filtered value of this frame's coordinates (any shape, fixed from frame to frame); NaN
        where a coordinate has never been finite."""
        x = np.asarray(x, dtype=np.float64)
        finite = np.isfinite(x)
        if self.value is None:
            self.value = np.where(finite, x, 0.0)
            self.seen = finite.copy()
            self.speed = np.zeros_like(self.value)
        else:
            current = np.where(finite, x, self.value)
            raw_speed = np.where(self.seen, (current - self.value) / self.period, 0.0)
            self.speed = self.alpha_d * raw_speed + (1.0 - self.alpha_d) * self.speed
            alpha = self._smoothing_factor(self.min_cutoff + self.beta * np.abs(self.speed))
            self.value = np.where(self.seen, alpha * current + (1.0 - alpha) * self.value, current)
            self.seen |= finite
        return np.where(self.seen, self.value, np.nan)


def one_euro_smooth(
    skeletons: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0
) -> np.ndarray:
    """(N, J, 2) skeletons through a OneEuroFilter, frame by frame; a frame's non-finite coordinates
    stay as they are."""
    x = np.asarray(skeletons, dtype=np.float64)
    out = np.array(x, dtype=np.float32, copy=True)
    one_euro = OneEuroFilter(fps, min_cutoff, beta, d_cutoff)
    for t in range(len(x)):
        filtered = one_euro(x[t])
        out[t] = np.where(np.isfinite(x[t]), filtered, x[t])
    return out


def check_smoothing(smoothing) -> None:
    """A clear error for a smoothing option that cannot work."""
    method = smoothing.get("method")
    if method not in SMOOTHING_METHODS:
        raise UserError(f"smoothing.method={method!r} is not known; use one of {', '.join(SMOOTHING_METHODS)}.")
    if method == "median" and int(smoothing["window"]) < 1:
        raise UserError(f"smoothing.window={smoothing['window']} must be 1 (off) or more frames.")
    if method == "one_euro":
        limits = {"min_cutoff": "a cut-off above 0 Hz", "beta": "0 or more (0: a fixed cut-off)"}
        for key, wanted in limits.items():
            try:
                value = float(smoothing[key])
            except (TypeError, ValueError):
                value = float("nan")
            if not np.isfinite(value) or value < 0 or (key == "min_cutoff" and value == 0):
                raise UserError(f"smoothing.{key}={smoothing[key]} must be {wanted}.")


def smooth_poses(skeletons: np.ndarray, smoothing, fps: float) -> np.ndarray:
    """(N, J, 2) skeletons smoothed over time as `smoothing` says (method, window, min_cutoff, beta)."""
    method = smoothing["method"]
    if method == "median":
        return median_smooth(skeletons, int(smoothing["window"]) | 1)
    if method == "one_euro":
        return one_euro_smooth(skeletons, fps, float(smoothing["min_cutoff"]), float(smoothing["beta"]))
    return np.array(skeletons, dtype=np.float32, copy=True)


def smoothing_figures(raw: np.ndarray, smoothed: np.ndarray) -> dict[str, float]:
    """How a smoothing changed (N, J, 2) skeletons, in body heights (the median nose-to-ankle
    extent): `deviation`, the mean joint distance from the unfiltered pose (lag and lost motion);
    `jitter` and `jitter_raw`, the mean size of the second difference over time (what shakes)."""
    height = float(np.nanmedian(body_height(raw)))
    if not np.isfinite(height) or height <= 0:
        return {"deviation": float("nan"), "jitter": float("nan"), "jitter_raw": float("nan")}

    def jitter(x: np.ndarray) -> float:
        if len(x) < 3:
            return float("nan")
        return float(np.nanmean(np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1)) / height)

    return {
        "deviation": float(np.nanmean(np.linalg.norm(smoothed - raw, axis=-1)) / height),
        "jitter": jitter(smoothed),
        "jitter_raw": jitter(raw),
    }
