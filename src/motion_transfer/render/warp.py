"""A real person image bent to an asked pose, training-free, at native resolution: the target's own pixels moved
to where the asked skeleton puts them, instead of drawn by a network.

`warp_person(image, mask, src, dst, side)` takes a person whose 13 joints are at `src` (image pixels) and returns
them bent so that the joints land at `dst` in a (side, side) square, as colours and an alpha to paste over a plate,
and `stretch`, how far the image had to bend (to prefer, among candidate source frames, the one that bends least).

Methods (`WARP_METHODS`; the geometry is in skinning.py):
- `similarity`: one rotation + scale + shift fitted to the torso's corners: a retrieved frame placed by its torso.
- `bones` (the default): the body split into parts drawn back to front (legs, torso, head, then the arms, the one
  over the torso last), each from its own pixels of the source mask, by 2-D skinning: one affine per bone (along
  the bone its length ratio, across it the torso's scale, so a foreshortened limb keeps its width), blended by the
  distance to each bone with the rotation blended as an angle (a bent elbow stays round), the part's joint with
  the torso following the torso. Hands and feet follow the forearm and shin, the head the neck-nose bone.
- `mls`: the same parts and order, each moved by rigid moving least squares (Schaefer et al. 2006) on points along
  its bones.
- `tps`: one thin-plate spline through the whole skeleton, no parts: what a single smooth warp gives.

Maps are evaluated on a coarse grid (an 8th of the torso, at most 16 px), upsampled by `cv2.resize` and applied by
`cv2.remap` only where they land in the part's pixels; parts are composited with `cv2.blendLinear`. Each source
pixel's part is decided on a coarse grid too (capsules around the bones; the part nearest the viewer wins), and a
part is drawn only where its map, run forward again, comes back (so a moved limb leaves no ghost). Pixels the
source does not show (a chest its arm covered, a limb hidden behind the body) stay transparent: alpha comes only
from the source mask carried along, never from the background.

Measured (`.venv/bin/python -m pytest -q -s -p no:cacheprovider tests/test_warp.py -k table`): the synthetic figure
(both people, 256 px) in four pairs of poses (an elbow bent by 60 degrees, an arm raised by 45, a forearm moved
across the chest, a knee raised), the first warped to the second's skeleton; mean absolute grey-level error to the
second drawing over the union of both masks and where the two drawings differ (each widened by 3 px), IoU of
alpha > 0.5 with the true mask; milliseconds per warp of a person filling a 512 and a 1024 px square (the fastest of
5, on this project's shared 2-core CPU, so within about 30%). The real column is the IoU with MediaPipe's mask on
59 pairs of taichi2.mp4 frames 0.5-2 s apart (MediaPipe's joints and masks at 960x720; a check outside the tests):

    method      union  moved  IoU    real IoU  ms@512  ms@1024
    unwarped    13.41  32.31  0.772  0.466
    similarity   7.55  26.03  0.825  0.635       2.1      3.8
    bones        2.61   6.40  0.982  0.784      10.8     20.2
    mls          2.56   6.10  0.984  0.788      12.5     23.8
    tps          8.59  21.45  0.844  0.643       7.8     20.9

`bones` and `mls` are equally close to the truth on average (within 0.3 grey levels and 0.004 IoU); `bones` is the
default because it is the one that keeps a forearm straight when it swings across the chest (the depth-order test:
MLS bends it down the belly and leaves 46 skin pixels where the truth shows none, bones 4) and it is about 15%
faster. `tps` smears the body into the gaps between spread limbs (2.6 times the person's area).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from motion_transfer.render.skinning import (
    BODY,
    PARTS,
    TORSO,
    Part,
    Pose,
    apply_affine,
    arm_order,
    fit_similarity,
    label_points,
    mls_map,
    nearest_on_segments,
    skinning_map,
    tps_map,
)

#: How the parts' pixels are resampled: bicubic keeps more of the real detail than bilinear (taichi2's held-out
#: frames, `model=warp` at native resolution: detail ratio 0.77 against 0.70, box SSIM 0.845 against 0.847, and
#: on the frames' own stored pixels pasted back, where the truth is known, PSNR 32.29 against 32.28 dB).
RESAMPLING = cv2.INTER_CUBIC
WARP_METHODS = ("similarity", "bones", "mls", "tps")
DEFAULT_METHOD = "bones"
#: The coarse grids' steps, as a share of the torso length, and their bounds in pixels: the backward maps are
#: evaluated every MAP_GRID (they are smooth: a finer grid measured no better), source pixels are labelled with their
#: part every LABEL_GRID, which also sets how softly neighbouring parts blend (sharper labels suit the renderer's
#: capsules but leave more seams and holes on real people: 1/24 of the torso measured IoU 0.774 on real frames,
#: 1/12 0.784, 1/8 0.791; the synthetic error where the drawings differ 6.2, 6.4, 6.9).
MAP_GRID, LABEL_GRID = (1 / 8, 2, 16), (1 / 12, 2, 24)

#: How far (in torso lengths) a part may land beyond where its nearest bones' transforms put its source pixels: the
#: box the map is evaluated over (on the coarse grid; only what lands in the part's pixels is remapped).
BOX_REACH = 0.5
#: How far (in torso lengths) a part's source point may land, moved forward by its nearest bone, from the output
#: point that the backward map took it from, and still be drawn there (0.15-0.4 measured alike; with no check a
#: dropped arm's fist stays on the belly, and real frames' colour error is 26.74 against 26.57 at 0.25).
ROUND_TRIP = 0.25
#: A backward map: output points (N, 2) -> source points (N, 2).
PointMap = Callable[[np.ndarray], np.ndarray]


@dataclass
class WarpedPerson:
    """A person bent to a pose: colours (side, side, 3) uint8 RGB, alpha (side, side) float32 in [0, 1], and
    `stretch`, how far the pose asked the image to bend: the mean distance (in torso lengths of the asked pose)
    between the asked joints and where the torso's similarity alone puts the source's joints. 0 when the pose only
    moves, turns or scales the person; a caller choosing among several source frames prefers the smallest."""

    rgb: np.ndarray
    alpha: np.ndarray
    stretch: float


def _grid_step(torso: float, grid: tuple[float, int, int]) -> int:
    share, smallest, largest = grid
    return int(np.clip(round(torso * share), smallest, largest))


def _cell_centres(x0: int, y0: int, cols: int, rows: int, step: int) -> np.ndarray:
    """Centres (rows * cols, 2) of a grid of step-sized cells from pixel (x0, y0), where cv2.resize by `step` puts
    the samples it interpolates between."""
    xs = x0 + (np.arange(cols) + 0.5) * step - 0.5
    ys = y0 + (np.arange(rows) + 0.5) * step - 0.5
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)


class _Canvas:
    """The output square: colours, and the alpha of what is drawn so far; layers are drawn over it back to front."""

    def __init__(self, side: int, step: int, scale: float, torso: float):
        self.side, self.step = side, step
        self.scale, self.torso = scale, torso  # output pixels per source pixel; the torso's length in the output
        self.rgba = np.zeros((side, side, 4), np.uint8)  # the fourth channel is scratch: alpha is kept in float
        self.alpha = np.zeros((side, side), np.float32)

    def box(self, points: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
        """Pixel box (x0, y0, x1, y1) around output points, widened by pad, clipped to the square; None if empty."""
        if len(points) == 0:
            return None
        lo = np.floor(np.nanmin(points, 0) - pad).clip(0, self.side)
        hi = np.ceil(np.nanmax(points, 0) + pad + 1).clip(0, self.side)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()) or (hi <= lo).any():
            return None
        return int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])

    def draw(self, source, origin, box: tuple[int, int, int, int], backward: PointMap, forward=None) -> None:
        """Draw the RGBA `source` (a crop whose pixel (0, 0) is `origin` in the image) over the canvas, each output
        pixel taken from where `backward` sends it. The map is evaluated on a coarse grid over `box`, a generous
        guess; only the cells it sends into the crop are remapped (the per-pixel work), so the guess may be wide.
        With `forward` (source -> output points), a cell is drawn only if forward sends its source point back
        near it: a blended backward map also sends points far from a part into the part's pixels (a fist left on
        the belly after the arm dropped would be drawn twice), and those do not come back."""
        step = self.step
        cols, rows = -(-(box[2] - box[0]) // step), -(-(box[3] - box[1]) // step)
        points = _cell_centres(box[0], box[1], cols, rows, step)
        mapped = backward(points)
        coarse = (mapped - origin).reshape(rows, cols, 2)
        margin = 2 * step / max(self.scale, 1e-6)  # a cell's reach, in source pixels
        hits = (coarse >= -margin).all(-1) & (coarse[..., 0] <= source.shape[1] + margin)
        hits &= coarse[..., 1] <= source.shape[0] + margin
        valid = None
        if forward is not None:
            valid = (np.hypot(*(forward(mapped) - points).T) <= ROUND_TRIP * self.torso).reshape(rows, cols)
            hits &= valid
        if not hits.any():
            return
        rr, cc = np.nonzero(hits)
        r0, r1, c0, c1 = max(rr.min() - 1, 0), min(rr.max() + 2, rows), max(cc.min() - 1, 0), min(cc.max() + 2, cols)
        coarse = coarse[r0:r1, c0:c1].astype(np.float32)
        if not np.isfinite(coarse).all():  # a degenerate transform: nothing of this part can be placed
            return
        x0, y0 = box[0] + c0 * step, box[1] + r0 * step
        x1, y1 = min(box[0] + c1 * step, box[2]), min(box[1] + r1 * step, box[3])
        fine = cv2.resize(coarse, ((c1 - c0) * step, (r1 - r0) * step), interpolation=cv2.INTER_LINEAR)
        layer = cv2.remap(
            source, fine[: y1 - y0, : x1 - x0], None, RESAMPLING, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        cover = np.multiply(cv2.extractChannel(layer, 3), np.float32(1 / 255), dtype=np.float32)
        if valid is not None and not valid[r0:r1, c0:c1].all():
            keep = cv2.resize(valid[r0:r1, c0:c1].astype(np.float32), fine.shape[1::-1], interpolation=cv2.INTER_LINEAR)
            cover *= keep[: y1 - y0, : x1 - x0]
        below = self.alpha[y0:y1, x0:x1]
        behind = below * (1 - cover)
        # Over: colours mixed by what each layer shows, alpha = cover + what still shows through it.
        self.rgba[y0:y1, x0:x1] = cv2.blendLinear(layer, self.rgba[y0:y1, x0:x1], cover, behind)
        below[:] = cover + behind


def _rgba(image: np.ndarray, alpha: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """The image's pixels in a box with alpha (uint8, the box's size) as a fourth channel."""
    out = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2RGBA)  # OpenCV packs channels far faster than numpy
    cv2.insertChannel(alpha, out, 3)
    return out


def _stretch(pose: Pose) -> float:
    placed = apply_affine(fit_similarity(pose.src[list(TORSO)], pose.dst[list(TORSO)]), pose.src[:13])
    return float(np.linalg.norm(placed - pose.dst[:13], axis=1).mean() / pose.torso_dst)


def _check(image: np.ndarray, mask: np.ndarray, src: np.ndarray, dst: np.ndarray, side: int, method: str):
    image, mask = np.asarray(image), np.asarray(mask)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (h, w, 3) uint8, got {image.shape} {image.dtype}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask must be {image.shape[:2]}, got {mask.shape}")
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src.shape != (13, 2) or dst.shape != (13, 2) or not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise ValueError(f"src and dst must be finite (13, 2) joints, got {src.shape} and {dst.shape}")
    if int(side) < 1:
        raise ValueError(f"side must be at least 1, got {side}")
    if method not in WARP_METHODS:
        raise ValueError(f"unknown warp method {method!r}: expected one of {', '.join(WARP_METHODS)}")
    if mask.dtype not in (np.uint8, np.bool_):
        raise ValueError(f"mask must be uint8 0..255 (or bool), got {mask.dtype}")
    mask = mask.astype(np.uint8) * 255 if mask.dtype == bool else mask
    return np.ascontiguousarray(image), np.ascontiguousarray(mask), src, dst, int(side)


def warp_person(
    image: np.ndarray, mask: np.ndarray, src: np.ndarray, dst: np.ndarray, side: int, method: str = DEFAULT_METHOD
) -> WarpedPerson:
    """image (h, w, 3) uint8 RGB and mask (h, w) uint8 0..255 of a person whose 13 joints are at `src` (13, 2) in
    the image's pixels -> that person bent so that its joints land at `dst` (13, 2) in the pixels of a (side, side)
    output square. Raises ValueError on wrong shapes, non-finite joints or an unknown method."""
    image, mask, src, dst, side = _check(image, mask, src, dst, side, method)
    pose = Pose.of(src, dst)
    canvas = _Canvas(side, _grid_step(pose.torso_dst, MAP_GRID), pose.scale, pose.torso_dst)
    x, y, width, height = cv2.boundingRect(mask)
    if width and height:
        if method == "similarity":
            _draw_similarity(canvas, image, mask, pose, (x, y, x + width, y + height))
        elif method == "tps":
            _draw_whole(canvas, image, mask, pose, (x, y, x + width, y + height))
        else:
            _draw_parts(canvas, image, mask, pose, (x, y, x + width, y + height), method)
    rgb = cv2.cvtColor(canvas.rgba, cv2.COLOR_RGBA2RGB)
    return WarpedPerson(rgb=rgb, alpha=canvas.alpha, stretch=_stretch(pose))


def _draw_similarity(canvas: _Canvas, image, mask, pose: Pose, bounds) -> None:
    x0, y0, x1, y1 = bounds
    forward = fit_similarity(pose.src[list(TORSO)], pose.dst[list(TORSO)])
    box = canvas.box(apply_affine(forward, np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], float)), 1.0)
    if box is None:
        return
    bx0, by0, bx1, by1 = box
    forward[:, 2] += forward[:, :2] @ (x0, y0) - (bx0, by0)  # from the crop's pixels to the box's
    layer = cv2.warpAffine(
        _rgba(image, mask[y0:y1, x0:x1], x0, y0, x1, y1),
        forward,
        (bx1 - bx0, by1 - by0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    canvas.rgba[by0:by1, bx0:bx1] = layer
    canvas.alpha[by0:by1, bx0:bx1] = np.multiply(cv2.extractChannel(layer, 3), np.float32(1 / 255), dtype=np.float32)


def _draw_whole(canvas: _Canvas, image, mask, pose: Pose, bounds) -> None:
    """The whole person by one thin-plate spline, inside where its inverse spline puts the mask's box."""
    x0, y0, x1, y1 = bounds
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1], [(x0 + x1) / 2, y0], [(x0 + x1) / 2, y1]], float)
    edges = np.concatenate([corners, (corners[:, None] + corners[None]).reshape(-1, 2) / 2])
    box = canvas.box(tps_map(edges, pose, inverse=True), BOX_REACH * pose.torso_dst)
    if box is not None:
        source = _rgba(image, mask[y0:y1, x0:x1], x0, y0, x1, y1)
        canvas.draw(source, np.array([x0, y0]), box, lambda p: tps_map(p, pose))


def _draw_parts(canvas: _Canvas, image, mask, pose: Pose, bounds, method: str) -> None:
    """Each part from its own pixels, back to front: legs, torso, head, then the arms, the one over the torso last."""
    x0, y0, x1, y1 = bounds
    step = _grid_step(pose.torso_src, LABEL_GRID)
    cols, rows = -(-(x1 - x0) // step), -(-(y1 - y0) // step)
    centres = _cell_centres(x0, y0, cols, rows, step)
    # Cells the person reaches (sampled at the centres, widened by a cell so thin limbs are not lost): only they
    # are labelled with the part they belong to.
    sample = mask[
        np.clip(centres[:, 1].round().astype(int), 0, mask.shape[0] - 1),
        np.clip(centres[:, 0].round().astype(int), 0, mask.shape[1] - 1),
    ]
    person = cv2.dilate((sample.reshape(rows, cols) > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    labels = np.full((rows, cols), -1)
    labels[person] = label_points(centres[person.ravel()], pose, arm_order(pose.src))
    order = [PARTS.index(p) for p in PARTS[:4] + arm_order(pose.dst)]
    for position, index in enumerate(order):
        part = PARTS[index]
        own = labels == index
        if not own.any():
            continue
        box = canvas.box(_forward(pose, part, centres[own.ravel()]), BOX_REACH * pose.torso_dst + 2 * canvas.step)
        if box is None:
            continue
        front = np.isin(labels, order[position + 1 :])
        rr, cc = np.nonzero(own)
        r0, r1, c0, c1 = max(rr.min() - 1, 0), min(rr.max() + 2, rows), max(cc.min() - 1, 0), min(cc.max() + 2, cols)
        size = ((c1 - c0) * step, (r1 - r0) * step)
        px0, py0 = x0 + c0 * step, y0 + r0 * step
        px1, py1 = min(x0 + c1 * step, image.shape[1]), min(y0 + r1 * step, image.shape[0])
        own_share, front_share = (
            cv2.resize(cells_of[r0:r1, c0:c1].astype(np.uint8) * 255, size, interpolation=cv2.INTER_LINEAR)[
                : py1 - py0, : px1 - px0
            ]
            for cells_of in (own, front)
        )
        coverage = mask[py0:py1, px0:px1]
        alpha = cv2.multiply(coverage, own_share, scale=1 / 255)
        # Where a part drawn over this one fades out (the parts' shares s + f = 1 cross over in a cell), this part
        # takes m s / (1 - m f) of a pixel the mask covers by m, so that the two composite to exactly m there.
        uncovered = cv2.subtract(255, cv2.multiply(coverage, front_share, scale=1 / 255))
        alpha = cv2.divide(alpha, uncovered, scale=255)
        source = _rgba(image, alpha, px0, py0, px1, py1)
        part_map = mls_map if method == "mls" else skinning_map
        canvas.draw(
            source,
            np.array([px0, py0]),
            box,
            lambda p, part=part, part_map=part_map: part_map(p, pose, part),
            None if part is BODY else (lambda p, part=part: _forward(pose, part, p)),
        )


def _forward(pose: Pose, part: Part, points: np.ndarray) -> np.ndarray:
    """Where the part's source points (N, 2) land: each moved by the transform of its nearest bone."""
    rig = pose.rigs[part.name]
    if part is BODY or len(points) == 0:
        return apply_affine(rig.forward[0], points)
    nearest = nearest_on_segments(points, rig.src_starts, rig.src_ends)[0].argmin(1)
    forward = rig.forward[nearest]
    return np.einsum("nij,nj->ni", forward[:, :, :2], points) + forward[:, :, 2]


__all__ = ["DEFAULT_METHOD", "WARP_METHODS", "WarpedPerson", "warp_person"]
