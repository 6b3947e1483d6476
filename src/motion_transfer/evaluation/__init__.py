"""Scores: image and pose metrics, full-frame figures, steadiness, evaluation, report and race."""
