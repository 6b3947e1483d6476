"""The full-frame demo of a generator that moves the target's real pixels at the output's own resolution
(the models whose class `draws_native`), at the target's size and at larger output sizes, against its
warping alone: frames a second, beside the source's own rate (above 1: faster than real time).

A larger output is the target's plate and boxes scaled up (what a 1080p clip of the same scene gives
the writer to do: every person is warped at the size its box covers, pasted and encoded at that size);
the stored persons keep the target's own resolution, so decoding them costs what it costs there.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np

from motion_transfer.bench.demos import BENCH_SMOOTHING
from motion_transfer.bench.measure import compared
from motion_transfer.pose.skeleton import held_facings
from motion_transfer.render.output import OutputOptions, SceneOutput


def native_models() -> list[str]:
    """The configs whose class draws at the output's own resolution."""
    from motion_transfer.models.kinds import model_kinds

    return [name for name, kind in model_kinds().items() if kind.cls.draws_native]


def bench_native_demo(
    source, source_frames, datamodule, repeats: int, options: OutputOptions, heights: list[int], frames: int = 0
) -> dict:
    """Each native model's full-frame demo at the target's own height and at each of `heights` (the output
    scaled up from the target's scene), against its drawing (`native_layers`) alone, on the first `frames`
    of the source (0: all)."""
    from motion_transfer.demo import prepare_source_poses
    from motion_transfer.models.loading import built_model, model_config
    from motion_transfer.render.scene_video import source_points_in_frame, target_boxes_for, write_full_frame_videos

    raw, normalised, _ = prepare_source_poses(source, datamodule.training_skeletons(), "global", BENCH_SMOOTHING)
    points = source_points_in_frame(raw, np.asarray(source.boxes))
    boxes = target_boxes_for(points, datamodule)
    facings = held_facings(np.asarray(source.landmarks))
    if frames:
        raw, normalised, points, boxes = raw[:frames], normalised[:frames], points[:frames], boxes[:frames]
        facings = facings[:frames]
    plate = datamodule.plate
    out = {"source_fps": float(source.fps)}
    for name in native_models():
        model = built_model(model_config(name), datamodule)
        per_height = {}
        for height in sorted({plate.shape[0], *(int(h) for h in heights)}):
            scale = height / plate.shape[0]
            size = (round(plate.shape[1] * scale) // 2 * 2, round(plate.shape[0] * scale) // 2 * 2)
            scaled_plate = cv2.resize(plate, size, interpolation=cv2.INTER_CUBIC) if scale != 1 else plate
            output = SceneOutput(scaled_plate, max(size), options.feather)
            scaled_boxes = boxes * scale
            sides = [output.side_for(box) for box in scaled_boxes]

            def draw(model=model, sides=sides) -> None:
                model.reset_sequence()
                for start in range(0, len(normalised), 64):
                    batch = slice(start, start + 64)
                    model.native_layers(normalised[batch], sides[batch], None, facings[batch])

            with tempfile.TemporaryDirectory() as tmp:
                c = compared(
                    draw,
                    lambda output=output, scaled_boxes=scaled_boxes, tmp=tmp: write_full_frame_videos(
                        model,
                        source_frames(),
                        points,
                        normalised,
                        scaled_boxes,
                        output,
                        source.fps,
                        Path(tmp),
                        progress=False,
                        preset=options.video_preset,
                        panel_height=options.panel_height,
                        facings=facings,
                    ),
                    repeats,
                )
            n = len(raw)
            per_height[f"{output.size[1]}p"] = {
                "frames": n,
                "output_size": list(output.size),
                "median_person_side": int(np.median(sides)),
                "demo_fps": n / c["ours_s"],
                "drawing_fps": n / c["baseline_s"],
                "real_time": n / c["ours_s"] / float(source.fps),
                **c,
            }
        out[name] = per_height
    return out


def native_demo_lines(native: dict) -> list[str]:
    """The section's lines in the printed table."""
    lines = [f"native full-frame demo vs its drawing alone (source at {native['source_fps']:.2f} fps):"]
    for name, per_height in native.items():
        if name == "source_fps":
            continue
        for v in per_height.values():
            width, height = v["output_size"]
            low, high = v["ratio_range"]
            lines.append(
                f"  {name:8s} {width}x{height} (person ~{v['median_person_side']} px) {v['demo_fps']:6.1f} fps "
                f"= {v['real_time']:.2f}x real time; drawing alone {v['drawing_fps']:6.1f} fps "
                f"({v['ratio']:.2f}x, pairs {low:.2f}-{high:.2f})"
            )
    return lines
