"""Pictures out: the person pasted into the scene, full-frame and side-by-side videos."""
