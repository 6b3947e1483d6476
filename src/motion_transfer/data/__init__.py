"""Footage: reading and writing video, the skeleton cache, background plates, camera registration,
synthetic clips, the DataModule."""
