"""Pose extraction with MediaPipe Pose (legacy solutions API, bundled full model)."""

from __future__ import annotations

import os

import numpy as np

# MediaPipe's native logging (glog/absl) floods stderr with notices; keep warnings and errors.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .skeleton import NUM_LANDMARKS


class PoseExtractor:
    """Track one person through consecutive RGB frames.

    Uses `mp.solutions.pose` with `model_complexity=1`, the only model that ships inside the
    mediapipe wheel (0 and 2 would be downloaded at run time). Video mode (`static_image_mode=False`)
    tracks the person from frame to frame, which is both faster and steadier than detecting anew.
    Call with frames of one clip in order; use a new extractor per clip.
    """

    def __init__(self, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5, static_image_mode: bool = False):
        import mediapipe as mp  # heavy import, only when extracting

        self._pose = mp.solutions.pose.Pose(
            static_image_mode=static_image_mode,
            model_complexity=1,
            smooth_landmarks=True,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (33, 4) float32 landmarks (x, y in pixels, z, visibility), or None."""
        result = self._pose.process(np.ascontiguousarray(rgb))
        if result.pose_landmarks is None:
            return None
        h, w = rgb.shape[:2]
        lm = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float32)
        lm[:, 0] *= w
        lm[:, 1] *= h
        lm[:, 2] *= w  # MediaPipe's z uses roughly the same scale as x
        assert lm.shape == (NUM_LANDMARKS, 4)
        return lm

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> "PoseExtractor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
