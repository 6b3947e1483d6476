"""Pose-guided human motion transfer: skeletons from video, generators from skeleton to image."""

__version__ = "0.1.0"
