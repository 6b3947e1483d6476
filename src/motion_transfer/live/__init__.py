"""Live mode: a camera in, the target copying it out, frame by frame."""
