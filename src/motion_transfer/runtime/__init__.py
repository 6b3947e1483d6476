"""The run machinery: user errors, atomic writes, signals, progress bars, config and run folders."""
