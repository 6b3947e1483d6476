"""The embedded default data set: synthetic clips of two people, with exact landmarks and masks."""

from motion_transfer.data.synthetic.clips import SYNTHETIC_FPS, render_background, render_clip, render_clip_with_masks

# The empty room without render_background's argument checks: tests film it as a clip nobody is in.
from motion_transfer.data.synthetic.room import draw_room as _draw_scene

__all__ = ["SYNTHETIC_FPS", "_draw_scene", "render_background", "render_clip", "render_clip_with_masks"]
