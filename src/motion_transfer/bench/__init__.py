"""make bench: timings of the hot paths against their baselines."""
