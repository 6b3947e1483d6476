"""A source pose onto the target's floor, one frame at a time, with nothing looked ahead: a causal
One-Euro filter and the source's statistics from the frames seen so far."""

from __future__ import annotations

import logging
from collections import deque

import numpy as np
from omegaconf import DictConfig

from motion_transfer.pose.crop import to_crop_coordinates
from motion_transfer.pose.retarget import OneEuroFilter, clip_stats, normalize_global
from motion_transfer.pose.skeleton import reduce_landmarks, valid_frames
from motion_transfer.render.paste import Floor
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)

#: The source's ankle and height statistics are re-estimated every this many frames with a person.
STATS_EVERY = 10
#: ... from at most this many seconds of the frames seen last.
STATS_HISTORY_S = 60.0


def check_causal_smoothing(smoothing) -> str:
    """The smoothing method, if it needs no future frame; else a clear error."""
    method = smoothing["method"]
    if method not in ("one_euro", "none"):
        raise UserError(
            f"smoothing={method}: live mode cannot look ahead, so it smooths with smoothing=one_euro "
            "(the default) or smoothing=none."
        )
    return method


class LivePoseMapper:
    """A source pose, as MediaPipe finds it in a frame, onto the target's floor, one frame at a time.

    The pose is smoothed by a One-Euro filter (in units of the frame's height), mapped onto the
    target's body by Everybody Dance Now's global normalisation with the source's statistics from
    the frames seen so far, and framed by the box the target would have there (render/paste.py: Floor).
    Returns the pose in that box's crop coordinates (what the generator reads) and where to paste
    it: the box One-Euro filtered, in the target's frame pixels.
    """

    def __init__(self, floor: Floor, fps: float, smoothing: DictConfig | dict):
        self.floor = floor
        method = check_causal_smoothing(smoothing)
        self.fps = float(fps)
        if method == "one_euro":
            cutoff, beta = float(smoothing["min_cutoff"]), float(smoothing["beta"])
            self.pose_filter = OneEuroFilter(fps, cutoff, beta)
            self.box_filter = OneEuroFilter(fps, cutoff, beta)
        else:
            self.pose_filter = self.box_filter = None
        self.history: deque[np.ndarray] = deque(maxlen=max(1, int(STATS_HISTORY_S * fps)))
        self.stats = None
        self.poses_seen = 0
        self.last: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, landmarks: np.ndarray | None, frame_height: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(33, >=2) landmarks in a source frame of this height (None: no person) -> (crop skeleton (13, 2),
        box (3,)); a frame without a person holds the last pose; None before the first person."""
        if landmarks is None:
            return self.last
        pose = reduce_landmarks(np.asarray(landmarks)[None])[0, :, :2].astype(np.float64)
        if not valid_frames(pose[None])[0]:
            return self.last
        if self.pose_filter is not None:
            pose = self.pose_filter(pose / frame_height) * frame_height
        self.history.append(pose)
        self.poses_seen += 1
        if self.stats is None or self.poses_seen % STATS_EVERY == 0:
            self.stats = clip_stats(np.stack(self.history))
        mapped = normalize_global(pose[None], self.stats, self.floor.stats)
        box = self.floor.boxes_for(mapped)[0]
        # The generator reads the pose framed as the target frames itself (the box before smoothing); the
        # person is pasted at the smoothed box, kept inside the frame (as in the demo: the whole body is
        # drawn, a little off the floor, rather than cut at the frame's edge).
        skeleton = to_crop_coordinates(mapped, box[None])[0]
        if self.box_filter is not None:
            scale = float(self.floor.frame_size[1])
            box = self.box_filter(box / scale) * scale
        self.last = (skeleton, self.floor.inside(box[None])[0])
        return self.last
