"""Figures at the video's own resolution for full-frame output on the held-out frames (self-reconstruction).

The crop figures compare `image_size` crops and frame_metrics compares box regions at BOX_SIZE: both resample
the person to one size, so neither says whether the output holds the video's own detail. Here each held-out
frame is redrawn from its own skeleton at its real box by `model.native_layers` at the box's own side in output
pixels (a model that `draws_native` moves real pixels at that side; the others scale their crop up, exactly as
pasting does), pasted into that frame's own plate, and compared with the real frame, whose pixels are never
resampled (docs: shared/reference/native_detail.md, "Measuring detail"):

- box SSIM and PSNR over the person's box, the part of it inside the frame, at its own pixel size (the box put
  on whole pixels, square: a person drawn at its side is pasted without being resampled);
- the detail ratio: the mean absolute Laplacian of the grey image over the real person's mask widened a few
  pixels (a soft outline counts), generated over real. Near 1 is as sharp as the video; blur lowers it, noise
  and ringing raise it past 1 (hence SSIM beside it);
- head SSIM over a square around the nose and shoulders of the real frame's skeleton;
- hands SSIM over a square at each wrist, reaching past it along the forearm (the hand itself: MediaPipe's 13
  joints stop at the wrist), the mean of the two hands of a frame that are inside it.

A box larger than MAX_SIDE is compared in its frame scaled down (area) until the box's side is MAX_SIDE, the
real frame and the plate alike, so that one huge box does not dominate time and memory. Real frames are decoded
one at a time and people drawn a few frames at a time: memory does not grow with the clip.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from motion_transfer.evaluation.frame_metrics import selected_frames, target_frames
from motion_transfer.pose.crop import to_frame_coordinates
from motion_transfer.pose.skeleton import NOSE, SHOULDERS, held_facings
from motion_transfer.render.paste import composite_frames, scale_boxes
from motion_transfer.render.warp import warp_person

#: The elbows and wrists (left, right) among the 13 joints.
ELBOWS = (3, 4)
WRISTS = (5, 6)

#: Longest box side compared, in output pixels: a larger box is compared in its frame scaled down.
MAX_SIDE = 768
#: Below this many pixels on either side a region is not compared (SSIM's window is 11 px wide).
MIN_REGION = 16
#: The real person's mask is widened by this share of the box's side (at least WIDEN_MIN_PX), so that
#: a soft or slightly misplaced outline still counts as the person's.
WIDEN = 0.01
WIDEN_MIN_PX = 2
#: The head box: a square centred between the nose and the mid-shoulder point, its side this many shoulder
#: widths, and at least HEAD_NECK nose-to-neck distances (a body turned sideways has narrow shoulders).
HEAD_SHOULDERS = 1.2
HEAD_NECK = 2.4
#: A hand box: centred this many forearm lengths past the wrist, its side this many forearm lengths.
HAND_REACH = 0.3
HAND_SIDE = 0.9
#: SSIM's Gaussian window, as torchmetrics' default (the crop figures').
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
#: People drawn per `native_layers` call: a few frames at the box's side at a time.
BATCH = 8


def box_edges(box) -> tuple[int, int, int, int]:
    """(cx, cy, side) -> integer pixel edges x0, y0, x1, y1 of the region pasting covers (round half up)."""
    cx, cy, side = (float(v) for v in box)
    x0, x1 = (int(np.floor(cx + d * side / 2.0 + 0.5)) for d in (-1, 1))
    y0, y1 = (int(np.floor(cy + d * side / 2.0 + 0.5)) for d in (-1, 1))
    return x0, y0, x1, y1


def _inside(edges: tuple[int, int, int, int], shape) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """The part of a region inside a frame of `shape`: (rows, cols) in the frame and in the region; None
    when that part is smaller than MIN_REGION on a side."""
    x0, y0, x1, y1 = edges
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])
    if fx1 - fx0 < MIN_REGION or fy1 - fy0 < MIN_REGION:
        return None
    return (slice(fy0, fy1), slice(fx0, fx1)), (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))


def widened_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """A crop-aligned (R, R) person mask (uint8 0..255, or float in [0, 1]) -> (height, width) bool at the
    box's pixel size, widened by WIDEN of the side."""
    m = np.asarray(mask)
    m = m.astype(np.float32) / 255.0 if m.dtype == np.uint8 else m.astype(np.float32)
    inside = (cv2.resize(m, (int(width), int(height)), interpolation=cv2.INTER_LINEAR) >= 0.5).astype(np.uint8)
    r = max(WIDEN_MIN_PX, int(round(WIDEN * max(width, height))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(inside, kernel).astype(bool)


def laplacian_energy(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute Laplacian (3x3, 4 neighbours) of the grey (H, W, 3) uint8 RGB image over the (H, W)
    bool mask, in grey levels: the high-frequency energy that blur removes. NaN for an empty mask."""
    if not mask.any():
        return float("nan")
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=1))[mask].mean())


def ssim(fake: np.ndarray, real: np.ndarray) -> float:
    """SSIM of two (H, W, 3) uint8 images on the [0, 1] scale, as the crop figures compute it (torchmetrics: an
    11-tap Gaussian window of sigma 1.5 over reflected borders, the mean over channels and pixels), with OpenCV's
    separable blur: several times faster on a 500-px box, so native sizes stay affordable."""
    f, r = (np.ascontiguousarray(image, dtype=np.float32) / 255.0 for image in (fake, real))

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT_101)

    mu_f, mu_r = blur(f), blur(r)
    var_f = np.maximum(blur(f * f) - mu_f * mu_f, 0.0)
    var_r = np.maximum(blur(r * r) - mu_r * mu_r, 0.0)
    cov = blur(f * r) - mu_f * mu_r
    c1, c2 = 0.01**2, 0.03**2
    index = ((2 * mu_f * mu_r + c1) * (2 * cov + c2)) / ((mu_f * mu_f + mu_r * mu_r + c1) * (var_f + var_r + c2))
    return float(index.astype(np.float64).mean())


def head_box(skeleton: np.ndarray) -> np.ndarray:
    """(13, 2) skeleton in frame pixels -> (3,) the head box (cx, cy, side): a square centred between the nose
    and the mid-shoulder point that holds the face, the neck and both shoulders."""
    nose = skeleton[NOSE]
    left, right = skeleton[SHOULDERS[0]], skeleton[SHOULDERS[1]]
    neck = (left + right) / 2.0
    side = max(HEAD_SHOULDERS * float(np.linalg.norm(left - right)), HEAD_NECK * float(np.linalg.norm(nose - neck)))
    centre = (nose + neck) / 2.0
    return np.array([centre[0], centre[1], side], dtype=np.float64)


def hand_boxes(skeleton: np.ndarray) -> list[np.ndarray]:
    """(13, 2) skeleton in frame pixels -> (3,) boxes (cx, cy, side) around each hand: a square past the wrist
    along the forearm, as wide as HAND_SIDE forearms."""
    boxes = []
    for elbow, wrist in zip(ELBOWS, WRISTS):
        forearm = skeleton[wrist] - skeleton[elbow]
        centre = skeleton[wrist] + HAND_REACH * forearm
        boxes.append(np.array([centre[0], centre[1], HAND_SIDE * float(np.linalg.norm(forearm))], dtype=np.float64))
    return boxes


def frame_figures(
    real: np.ndarray, generated: np.ndarray, box, mask: np.ndarray, skeleton: np.ndarray
) -> dict[str, float]:
    """One frame compared at its own resolution. real, generated: (H, W, 3) uint8 frames of one size; box:
    (cx, cy, side) the person's box in their pixels; mask: the real person's crop-aligned mask (R, R); skeleton:
    (13, 2) the real pose in the box's crop coordinates. -> ssim and mse (on [0, 1]) over the box, the Laplacian
    energies detail_real and detail_generated over the widened mask, head_ssim, hands_ssim; NaN where a region is
    too small (or the mask empty)."""
    out = dict.fromkeys(("ssim", "mse", "detail_real", "detail_generated", "head_ssim", "hands_ssim"), float("nan"))
    edges = box_edges(box)
    parts = _inside(edges, real.shape)
    if parts is not None:
        (rows, cols), (box_rows, box_cols) = parts
        r, g = real[rows, cols], generated[rows, cols]
        out["ssim"] = ssim(g, r)
        out["mse"] = float(np.mean(np.square((g.astype(np.float32) - r.astype(np.float32)) / 255.0)))
        person = widened_mask(mask, edges[2] - edges[0], edges[3] - edges[1])[box_rows, box_cols]
        out["detail_real"], out["detail_generated"] = laplacian_energy(r, person), laplacian_energy(g, person)
    joints = to_frame_coordinates(np.asarray(skeleton, dtype=np.float64)[None], np.asarray(box, np.float64)[None])[0]
    if np.isfinite(joints[[NOSE, *SHOULDERS]]).all():
        head = _inside(box_edges(head_box(joints)), real.shape)
        if head is not None:
            out["head_ssim"] = ssim(generated[head[0]], real[head[0]])
    if np.isfinite(joints[[*ELBOWS, *WRISTS]]).all():
        hands = [_inside(box_edges(box), real.shape) for box in hand_boxes(joints)]
        scores = [ssim(generated[hand[0]], real[hand[0]]) for hand in hands if hand is not None]
        if scores:
            out["hands_ssim"] = float(np.mean(scores))
    return out


def square_box(box) -> np.ndarray:
    """(cx, cy, side) -> the box on whole pixels, as wide as pasting covers, and as tall: a person drawn at that
    side is pasted without being resampled (a box whose edges round to one more row than columns would stretch
    it by a pixel, which blurs a drawing at native resolution by up to half a pixel's shift)."""
    x0, y0, x1, _ = box_edges(box)
    side = max(1, x1 - x0)
    return np.array([x0 + side / 2.0, y0 + side / 2.0, side], dtype=np.float64)


def output_size(frame_size: tuple[int, int], side: float, max_side: int) -> tuple[int, int] | None:
    """(width, height) a frame is compared at so that its box's side is at most `max_side`; None: its own."""
    if side <= max_side:
        return None
    scale = max_side / float(side)
    return max(1, int(round(frame_size[0] * scale))), max(1, int(round(frame_size[1] * scale)))


class NativeTotals:
    """Per-frame figures collected over the held-out frames, and their summary."""

    def __init__(self):
        self.frames: dict[str, list[float]] = {}
        self.sides: list[int] = []

    def add(self, figures: dict[str, float], side: int) -> None:
        for key, value in figures.items():
            self.frames.setdefault(key, []).append(value)
        self.sides.append(int(side))

    def result(self) -> dict[str, float | int]:
        """Box SSIM (mean over frames), box PSNR (of the mean MSE: every frame weighs the same, whatever its
        box's size), the detail ratio as a ratio of the mean energies (see `native_figures`), head SSIM."""

        def values(key: str) -> np.ndarray:
            v = np.asarray(self.frames.get(key, []), dtype=np.float64)
            return v[np.isfinite(v)]

        def mean(key: str) -> float:
            v = values(key)
            return float(v.mean()) if len(v) else float("nan")

        both = np.isfinite(np.asarray(self.frames.get("detail_real", []), dtype=np.float64))
        both &= np.isfinite(np.asarray(self.frames.get("detail_generated", []), dtype=np.float64))
        real = np.asarray(self.frames.get("detail_real", []), dtype=np.float64)[both]
        generated = np.asarray(self.frames.get("detail_generated", []), dtype=np.float64)[both]
        mse = mean("mse")
        return {
            "box_ssim": mean("ssim"),
            "box_psnr": float(10 * np.log10(1.0 / max(mse, 1e-10))) if np.isfinite(mse) else float("nan"),
            "detail_ratio": float(generated.sum() / real.sum()) if real.sum() > 0 else float("nan"),
            "detail_generated": float(generated.mean()) if len(generated) else float("nan"),
            "detail_real": float(real.mean()) if len(real) else float("nan"),
            "head_ssim": mean("head_ssim"),
            "hands_ssim": mean("hands_ssim"),
            "frames": len(values("ssim")),
            "head_frames": len(values("head_ssim")),
            "hands_frames": len(values("hands_ssim")),
            "median_side": float(np.median(self.sides)) if self.sides else float("nan"),
        }


def native_figures(
    model,
    datamodule,
    skeletons: np.ndarray,
    placements: np.ndarray | None = None,
    max_side: int = MAX_SIDE,
    batch_size: int = BATCH,
) -> dict[str, float | int]:
    """The figures at native resolution for `model` on the held-out frames of `datamodule` (with a plate).

    skeletons (N, 13, 2) and placements (N, 3): what the model draws each frame of datamodule.val_set from (its
    own pose and box, as the other figures), with the frame's own facing from the cache's landmarks. The head
    box comes from the real frame's skeleton in the cache.
    The detail ratio is the ratio of the mean energies (sum generated / sum real over frames), not the mean of
    per-frame ratios: a frame whose real person is motion-blurred has little energy, and its ratio would swing
    the mean; the ratio of sums weighs each frame by the detail there is to keep. -> box_ssim, box_psnr,
    detail_ratio, detail_generated and detail_real (grey levels), head_ssim, hands_ssim, frames, head_frames and
    hands_frames (how many were compared), median_side (the compared box side, output pixels), max_side,
    seconds_per_frame.
    """
    model.reset_sequence()  # the held-out frames in clip order are one sequence
    skeletons = np.asarray(skeletons)
    facings = held_facings(np.asarray(datamodule.cache.landmarks))[datamodule.val_set.indices.numpy()]

    def draw(rows: np.ndarray, sides: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        placed = None if placements is None else placements[rows]
        return model.native_layers(skeletons[rows], sides, placed, facings[rows])

    return figures_of_drawing(draw, datamodule, max_side, batch_size)


def figures_of_drawing(draw, datamodule, max_side: int = MAX_SIDE, batch_size: int = BATCH) -> dict[str, float | int]:
    """`native_figures` for any drawing: draw(rows, sides) gives the layers of held-out frames `rows` (indices
    into datamodule.val_set) at `sides`, called in clip order."""
    start = time.perf_counter()
    val = datamodule.val_set
    numbers = val.indices.numpy()
    cache, scene = datamodule.cache, datamodule.scene
    boxes = np.asarray(cache.boxes, dtype=np.float64)[numbers]
    masks, real_poses = cache.masks, np.asarray(cache.skeletons)
    frame_size = scene.frame_size
    order = np.argsort(numbers, kind="stable")  # frames are decoded, and drawn, in clip order
    frames = selected_frames(target_frames(datamodule), numbers[order])
    totals = NativeTotals()
    for first in range(0, len(order), batch_size):
        rows = order[first : first + batch_size]
        sizes = [output_size(frame_size, boxes[row, 2], max_side) for row in rows]
        squares = [
            square_box(boxes[row] if size is None else scale_boxes(boxes[row][None], frame_size, size)[0])
            for row, size in zip(rows, sizes)
        ]
        sides = np.array([int(square[2]) for square in squares])
        layers = draw(rows, sides)
        for row, size, square, (person, alpha) in zip(rows, sizes, squares, layers):
            t = int(numbers[row])
            real, plate = next(frames), scene.plate_for(t)
            if size is not None:
                real = cv2.resize(real, size, interpolation=cv2.INTER_AREA)
                plate = cv2.resize(plate, size, interpolation=cv2.INTER_AREA)
            generated = composite_frames(plate, person[None], alpha[None], square[None])[0]
            totals.add(frame_figures(real, generated, square, masks[t], real_poses[t]), int(square[2]))
    result = totals.result()
    result["max_side"] = float(max_side)
    result["seconds_per_frame"] = (time.perf_counter() - start) / max(len(order), 1)
    return result


def native_bounds(datamodule, store, max_side: int = MAX_SIDE) -> dict[str, dict[str, float | int]]:
    """What the figures above can reach with the target's person store (data/person_store.py), on the same
    frames: `own_stored_person`, each held-out frame's own stored person bent by `bones` onto its own skeleton
    (a ceiling: the right pixels, through the store's JPEG and refined mask and the warp's resampling), and
    `plate_only`, no person drawn at all (a floor the box SSIM of a misplaced person can fall below)."""
    numbers = datamodule.val_set.indices.numpy()
    poses = np.asarray(datamodule.cache.skeletons, dtype=np.float64)

    def own(rows: np.ndarray, sides: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for row, side in zip(rows, sides):
            t = int(numbers[row])
            image, mask = store.person(t)
            if image.shape[0] == 0:
                out.append(nothing([row], [side])[0])
                continue
            bent = warp_person(image, mask, poses[t] * image.shape[0], poses[t] * int(side), int(side), "bones")
            out.append((bent.rgb, bent.alpha))
        return out

    def nothing(rows, sides) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(np.zeros((int(s), int(s), 3), np.uint8), np.zeros((int(s), int(s)), np.float32)) for s in sides]

    return {
        "own_stored_person": figures_of_drawing(own, datamodule, max_side),
        "plate_only": figures_of_drawing(nothing, datamodule, max_side),
    }
