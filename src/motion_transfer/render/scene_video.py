"""Full-frame output: the generated person pasted into the target's own scene.

The generator draws the person (colours and alpha) in a square crop; the background plate gives
the rest of the frame at the video's resolution (see plate.py). The crop box follows the source:
where the source stands in its frame, mapped onto the target's floor (paste.py: follow_source_boxes).
Pasting, drawing the side-by-side panel and encoding run on the writer thread while the next
batch is generated; source frames are decoded one at a time there, so memory does not grow with
the clip's length.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from motion_transfer.data.registration import map_boxes, map_points
from motion_transfer.data.video import BackgroundWorker, VideoWriter, keep_what_was_written
from motion_transfer.pose.crop import placement_features, to_frame_coordinates
from motion_transfer.pose.drawing import draw_skeletons, render_stick_figures, tensor_to_images
from motion_transfer.render.output import SceneOutput
from motion_transfer.render.paste import Floor, follow_source_boxes
from motion_transfer.runtime.progress import progress_bar

#: The stick-figure inset's side, as a fraction of the panel height.
INSET = 0.28
#: Frames a generator that draws at the output's resolution (`draws_native`) draws between hand-overs.
NATIVE_BATCH = 8


def target_in_view(datamodule) -> tuple[np.ndarray, np.ndarray]:
    """The target's training skeletons (M, 13, 2) and crop boxes (M, 3) in the pixels of its view
    (datamodule.plate): a moving camera's frames are mapped into the view."""
    train = datamodule.split.train
    cache = datamodule.cache
    boxes = np.asarray(cache.boxes)[train]
    to_view = datamodule.scene.to_view()[train]
    skeletons = map_points(to_view, to_frame_coordinates(np.asarray(cache.skeletons)[train], boxes))
    return skeletons, map_boxes(to_view, boxes)


def target_floor(datamodule) -> Floor:
    """The target's floor in its view (paste.py: Floor), for poses mapped one at a time (live mode)."""
    return Floor.of_target(*target_in_view(datamodule), tuple(datamodule.cache.meta["frame_size"]))


def target_boxes_for(source_frame_skeletons: np.ndarray, datamodule) -> np.ndarray:
    """(N, 3) boxes in the target's view (datamodule.plate) that follow the source (frame-pixel
    skeletons (N, 13, 2))."""
    return follow_source_boxes(
        source_frame_skeletons, *target_in_view(datamodule), tuple(datamodule.cache.meta["frame_size"])
    )


def _at_height(image: np.ndarray, h: int) -> np.ndarray:
    if image.shape[0] == h:
        return image.copy()
    width = max(2, round(image.shape[1] * h / image.shape[0]))
    return cv2.resize(image, (width, h), interpolation=cv2.INTER_AREA)


def side_by_side(
    source_frame: np.ndarray, result: np.ndarray, stick: np.ndarray, source_points: np.ndarray, height: int
) -> np.ndarray:
    """Source frame with its skeleton | result, both at `height`; the normalised stick figure the
    generator read as an inset in the result's corner. Returns (height, ws + wr, 3) uint8."""
    h = height
    left = _at_height(source_frame, h)
    draw_skeletons(left[None], (source_points * (h / source_frame.shape[0]))[None])
    right = _at_height(result, h)
    inset = stick.shape[0]
    right[h - inset :, :inset] = stick
    return np.concatenate([left, right], axis=1)


def write_full_frame_videos(
    model,
    source_frames: Iterator[np.ndarray],
    source_points: np.ndarray,
    normalised: np.ndarray,
    boxes: np.ndarray,
    output: SceneOutput,
    fps: float,
    out_dir: Path,
    batch: int = 64,
    progress: bool = True,
    preset: str = "ultrafast",
    panel_height: int = 360,
    facings: np.ndarray | None = None,
) -> tuple[Path, Path]:
    """Generate the target in each normalised pose, paste it into the scene at each box (`output`) and
    write generated.mp4 (full frame) and transfer.mp4 (source | result, at most `panel_height` high:
    a preview, encoded on the same thread as the full frames).

    source_points: (N, 13, 2) the source's skeletons in its frame's pixels; normalised: (N, 13, 2)
    crop coordinates for the generator; boxes: (N, 3) in the plate's pixels; facings: (N,) how the source's
    body is turned (pose/skeleton.py's `held_facings`), for a generator that retrieves. Ctrl-C or a failure
    keeps playable videos of the frames done.
    """
    n = len(normalised)
    frame_size = (output.plate.shape[1], output.plate.shape[0])
    width, height = output.size
    placements = placement_features(boxes, frame_size)
    side = min(height, int(panel_height)) // 2 * 2
    inset = max(16, int(INSET * side))
    first = next(source_frames, None)
    if first is None:
        raise ValueError("the source has no frame")
    side_width = max(2, round(first.shape[1] * side / first.shape[0])) + max(2, round(width * side / height))
    generated_path, transfer_path = out_dir / "generated.mp4", out_dir / "transfer.mp4"
    generated_video = VideoWriter(generated_path, fps, width, height, preset=preset)
    transfer = VideoWriter(transfer_path, fps, side_width, side, preset=preset)
    # Two threads: the full frames pasted and encoded on one, the side by side drawn and encoded on the
    # other, while the caller draws the next frames: three stages on two cores.
    encoder, previewer = BackgroundWorker(), BackgroundWorker()
    bar = progress_bar(n, "demo", enabled=progress)
    pending = [first]

    def next_source_frame() -> np.ndarray:
        frame = pending.pop() if pending else next(source_frames, None)
        return frame if frame is not None else np.zeros_like(first)

    def preview(frames: slice, results: np.ndarray) -> None:
        sticks = render_stick_figures(normalised[frames], inset)
        for result, stick, points in zip(results, sticks, source_points[frames]):
            transfer.write(side_by_side(next_source_frame(), result, stick, points, side))
        bar.update(len(results))

    def paste_and_encode(frames: slice, persons: np.ndarray, alphas: np.ndarray) -> None:
        results = output.frames(persons, alphas, boxes[frames])
        generated_video.write(results)
        previewer.submit(lambda: preview(frames, results))

    previous = None  # a temporal model draws each frame from the one before
    # A native drawing is slow per frame: small batches keep the writers busy from the first frames on.
    batch = min(batch, NATIVE_BATCH) if model.draws_native else batch
    try:
        for start in range(0, n, batch):
            frames = slice(start, min(n, start + batch))
            if model.draws_native:  # real pixels moved at the size they cover in the output
                sides = [output.side_for(box) for box in boxes[frames]]
                turned = None if facings is None else facings[frames]
                layers = model.native_layers(normalised[frames], sides, placements[frames], turned)
                persons, alphas = [p for p, _ in layers], [a for _, a in layers]
            else:
                rgb, alpha = model.layers_from_skeletons(normalised[frames], batch, placements[frames], previous)
                previous = model.carry(rgb, alpha)
                persons = tensor_to_images(rgb)
                alphas = alpha[:, 0].numpy().astype(np.float32)
            encoder.submit(
                lambda frames=frames, persons=persons, alphas=alphas: paste_and_encode(frames, persons, alphas)
            )
        encoder.finish()
        previewer.finish()
    except BaseException:
        bar.close()
        keep_what_was_written((encoder, previewer), (transfer, generated_video))
        raise
    bar.close()
    return transfer.close(), generated_video.close()


def source_points_in_frame(raw: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, 13, 2) crop-coordinate skeletons of the source -> its frame's pixels."""
    return to_frame_coordinates(raw, np.asarray(boxes)).astype(np.float32)
