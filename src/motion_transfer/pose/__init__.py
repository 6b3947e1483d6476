"""Bodies: skeletons, MediaPipe Pose, following one person, crops, stick figures, retargeting poses."""
