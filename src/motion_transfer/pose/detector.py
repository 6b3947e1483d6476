"""Pose extraction with MediaPipe Pose (legacy solutions API, bundled full model)."""

from __future__ import annotations

import os
import sys
import threading

import cv2
import numpy as np

from motion_transfer.pose.skeleton import NUM_LANDMARKS


class NativeStderrSilenced:
    """Sends what native code writes to stderr (file descriptor 2) to /dev/null until `restore()`.

    MediaPipe's graph prints TensorFlow Lite and absl notices ("Created TensorFlow Lite XNNPACK
    delegate", "W0000 ... inference_feedback_manager") straight to descriptor 2, from its own
    threads while it starts, before absl's logging is configured: no environment variable turns
    them off. PoseExtractor keeps them silenced from building the graph until its landmark model
    has run once.
    """

    # Several extractors may be open at once (people.py adds a still-image one): descriptor 2 is
    # given back when the last of their silences ends, never one silenced copy of it.
    _lock = threading.Lock()
    _active = 0
    _saved: int | None = None

    def __init__(self):
        sys.stderr.flush()
        self._silencing = True
        with NativeStderrSilenced._lock:
            if NativeStderrSilenced._active == 0:
                NativeStderrSilenced._saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            NativeStderrSilenced._active += 1

    def restore(self) -> None:
        if not self._silencing:
            return
        self._silencing = False
        with NativeStderrSilenced._lock:
            NativeStderrSilenced._active -= 1
            if NativeStderrSilenced._active == 0:
                os.dup2(NativeStderrSilenced._saved, 2)
                os.close(NativeStderrSilenced._saved)
                NativeStderrSilenced._saved = None


class PoseExtractor:
    """Track one person through consecutive RGB frames.

    Uses `mp.solutions.pose` with `model_complexity=1`, the only model that ships inside the
    mediapipe wheel (0 and 2 would be downloaded at run time). Video mode (`static_image_mode=False`)
    tracks the person from frame to frame, which is both faster and steadier than detecting anew.
    Call with frames of one clip in order; use a new extractor per clip.

    With `segmentation=True` (the default) MediaPipe also segments the person
    (`enable_segmentation`, with `smooth_segmentation` to steady the mask over a clip): `extract`
    returns the mask with the landmarks; it costs about a tenth more time per frame. Pass
    `segmentation=False` where only landmarks are needed.
    """

    def __init__(
        self,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        static_image_mode: bool = False,
        segmentation: bool = True,
    ):
        import mediapipe as mp  # heavy import, only when extracting

        self._silenced = NativeStderrSilenced()
        try:
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=static_image_mode,
                model_complexity=1,
                smooth_landmarks=True,
                enable_segmentation=bool(segmentation),
                smooth_segmentation=bool(segmentation),
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence,
            )
        except BaseException:
            self._silenced.restore()
            raise

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (33, 4) float32 landmarks (x, y in pixels, z, visibility), or None."""
        return self.extract(rgb)[0]

    def extract(self, rgb: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(H, W, 3) uint8 RGB -> (landmarks, mask).

        landmarks: (33, 4) float32 as `__call__` gives them, or None where no person was found;
        mask: (H, W) float32 in [0, 1], MediaPipe's `segmentation_mask` (1 = person), or None
        where no person was found or the extractor was built with `segmentation=False`.
        """
        result = self._pose.process(np.ascontiguousarray(rgb))
        if result.pose_landmarks is None:
            return None, None
        self._silenced.restore()  # the landmark model has started: its notices are behind us
        h, w = rgb.shape[:2]
        lm = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float32)
        lm[:, 0] *= w
        lm[:, 1] *= h
        lm[:, 2] *= w  # MediaPipe's z uses roughly the same scale as x
        assert lm.shape == (NUM_LANDMARKS, 4)
        mask = getattr(result, "segmentation_mask", None)
        if mask is not None:
            mask = np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)
            if mask.shape != (h, w):  # MediaPipe returns it frame-sized; make sure of it
                mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
        return lm, mask

    def stop_silencing(self) -> None:
        """Give descriptor 2 back now (for an extractor that may never find anyone)."""
        self._silenced.restore()

    def close(self) -> None:
        self._silenced.restore()
        self._pose.close()

    def __enter__(self) -> PoseExtractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
