"""The geometry of bending a person by their skeleton: body parts, one transform per bone, which part each source
pixel belongs to, and backward maps (output pixel -> source pixel) by 2-D linear blend skinning, moving least
squares and a thin-plate spline.

Everything works on point arrays (N, 2), so a caller evaluates it on a coarse grid and upsamples the map: the maps
are smooth, the pixels are moved by `cv2.remap` in warp.py. Lengths are measured in torso lengths (neck to pelvis),
so the same constants fit a person of 200 or 1,000 pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_transfer.pose.skeleton import NOSE, NUM_JOINTS

#: The skeleton's 13 joints are extended by the neck (mid-shoulder) and the pelvis (mid-hip).
NECK, PELVIS = NUM_JOINTS, NUM_JOINTS + 1
SHOULDER_L, SHOULDER_R, HIP_L, HIP_R = 1, 2, 7, 8
#: The torso's corners, in order around it.
TORSO = (SHOULDER_L, SHOULDER_R, HIP_R, HIP_L)
#: When source pixels are labelled, a part's last bone reaches this much further (in torso lengths): the hand past
#: the wrist, the foot past the ankle, the skull past the nose.
HAND_FOOT_REACH = 0.2
#: The most the head turns from the retrieved frame's, in radians: beyond it a face would be drawn on its side.
HEAD_MAX_TURN = np.radians(35.0)


@dataclass(frozen=True)
class Part:
    """One layer of the body, drawn from its own pixels by its own map: its bones (pairs of extended-skeleton
    joints, from the body outwards) with their capsule radii (in torso lengths) for labelling, and the segment where
    it joins the torso, which follows the torso's transform so that the part and the torso meet without a seam."""

    name: str
    bones: tuple[tuple[int, int], ...]
    radii: tuple[float, ...]
    joint: tuple[int, int] | None


ARM_L = Part("arm_l", ((1, 3), (3, 5)), (0.15, 0.13), (NECK, SHOULDER_L))
ARM_R = Part("arm_r", ((2, 4), (4, 6)), (0.15, 0.13), (NECK, SHOULDER_R))
LEG_L = Part("leg_l", ((7, 9), (9, 11)), (0.21, 0.16), (PELVIS, HIP_L))
LEG_R = Part("leg_r", ((8, 10), (10, 12)), (0.21, 0.16), (PELVIS, HIP_R))
HEAD = Part("head", ((NECK, NOSE),), (0.32,), (SHOULDER_L, SHOULDER_R))
#: The torso moves by one affine transform of its four corners; its capsule is its hull widened by this radius.
BODY = Part("torso", (), (), None)
TORSO_RADIUS = 0.15
#: The torso is taken as flipped only where the flipped similarity's scale exceeds the unflipped one's by 1 / this
#: (a far better fit): a torso seen edge-on, whose corners cross back and forth, is not flipped back and forth.
MIRROR_MARGIN = 0.5
#: How strongly the torso's affine is pulled towards its similarity: MediaPipe's hips are noisy, and a stiffer
#: torso measured better on real frames (IoU 0.767 at 0.1, 0.776 at 0.5, 0.779 at 2, 0.779 for a similarity).
TORSO_PULL = 2.0
#: Skinning weights fall off as (distance^2 + (this * torso length)^2)^-2.
SKIN_SOFTNESS = 0.08
PARTS = (LEG_R, LEG_L, BODY, HEAD, ARM_R, ARM_L)


def extend(skeleton: np.ndarray) -> np.ndarray:
    """(13, 2) -> (15, 2) float64 with the neck and the pelvis appended."""
    skeleton = np.asarray(skeleton, dtype=np.float64)
    neck = skeleton[[SHOULDER_L, SHOULDER_R]].mean(0)
    pelvis = skeleton[[HIP_L, HIP_R]].mean(0)
    return np.concatenate([skeleton, neck[None], pelvis[None]])


def torso_length(points: np.ndarray) -> float:
    """Neck to pelvis of an extended skeleton, never below a tenth of the shoulder or hip width (a torso seen
    from above still has a size)."""
    widths = (np.linalg.norm(points[SHOULDER_L] - points[SHOULDER_R]), np.linalg.norm(points[HIP_L] - points[HIP_R]))
    return float(max(np.linalg.norm(points[NECK] - points[PELVIS]), 0.1 * max(widths), 1e-3))


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift, and a mirror where that fits better: a person seen
    from the back has left and right swapped) taking points src (K, 2) to dst: (2, 3)."""
    src_c, dst_c = src.mean(0), dst.mean(0)
    x = (src - src_c) @ (1, 1j)
    y = (dst - dst_c) @ (1, 1j)
    spread = max(float((np.abs(x) ** 2).sum()), 1e-12)
    turned, mirrored = (np.conj(x) * y).sum() / spread, (x * y).sum() / spread  # y = c x, or y = c conj(x)
    c = turned if abs(turned) >= MIRROR_MARGIN * abs(mirrored) else mirrored
    flip = -1.0 if c is mirrored else 1.0
    linear = np.array([[c.real, -c.imag], [c.imag, c.real]]) @ np.diag([1.0, flip])
    return np.concatenate([linear, (dst_c - linear @ src_c)[:, None]], 1)


def fit_torso(src: np.ndarray, dst: np.ndarray, pull: float = TORSO_PULL) -> np.ndarray:
    """Affine (2, 3) taking the torso corners src (4, 2) to dst, pulled towards their similarity (`pull`, a share of
    the corners' spread) so that a torso seen edge-on, whose corners lie on a line, still gets a usable transform."""
    similar = fit_similarity(src, dst)[:, :2]
    src_c, dst_c = src.mean(0), dst.mean(0)
    x, y = src - src_c, dst - dst_c
    ridge = pull * len(src) * max(float((x**2).sum(1).mean()), 1e-12)
    linear = (_inverse2(x.T @ x + ridge * np.eye(2)) @ (x.T @ y + ridge * similar.T)).T
    return np.concatenate([linear, (dst_c - linear @ src_c)[:, None]], 1)


def _inverse2(linear: np.ndarray) -> np.ndarray:
    """The inverse of a 2 x 2 matrix, NaN where singular. Written out: LAPACK's threads cost more than they save on
    matrices this small."""
    (a, b), (c, d) = linear
    det = a * d - b * c
    return np.array([[d, -b], [-c, a]]) / det if abs(det) > 1e-12 else np.full((2, 2), np.nan)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The inverse of an affine (2, 3); a singular one (a torso squashed to a line) gives NaN, which callers skip."""
    linear = _inverse2(matrix[:, :2])
    return np.concatenate([linear, -(linear @ matrix[:, 2])[:, None]], 1)


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """An affine (2, 3) applied to points (N, 2). Spelled out, as are the other products over many points here: a
    matrix product would go to BLAS, whose threads cost more than they save on a few thousand points."""
    out = np.empty((len(points), 2))
    out[:, 0] = matrix[0, 0] * points[:, 0] + matrix[0, 1] * points[:, 1] + matrix[0, 2]
    out[:, 1] = matrix[1, 0] * points[:, 0] + matrix[1, 1] * points[:, 1] + matrix[1, 2]
    return out


def bone_affine(a, b, a2, b2, across: float, mirror: bool = False, limits=(0.25, 4.0)) -> np.ndarray:
    """Forward affine (2, 3) of a bone a->b onto a2->b2: a goes to a2, the bone turns onto its new direction and is
    scaled along itself by its length ratio (within `limits` times `across`) and across itself by `across` (the
    torso's scale), so that a limb shortened by foreshortening does not get thinner or fatter; mirror=True flips
    it across itself, as the torso is flipped."""
    length, length2 = max(float(np.linalg.norm(b - a)), 1e-6), max(float(np.linalg.norm(b2 - a2)), 1e-6)
    along = float(np.clip(length2 / length, limits[0] * across, limits[1] * across))
    u, u2 = (b - a) / length, (b2 - a2) / length2
    frame = np.array([u, [-u[1], u[0]]]).T  # columns: along, across (turned a quarter, so no mirror)
    frame2 = np.array([u2, [-u2[1], u2[0]]]).T
    linear = frame2 @ np.diag([along, -across if mirror else across]) @ frame.T
    return np.concatenate([linear, (a2 - linear @ a)[:, None]], 1)


def head_affine(neck, nose, neck2, nose2, scale: float, mirror: bool = False, max_turn: float = HEAD_MAX_TURN):
    """Forward affine (2, 3) of the head: rigid at the torso's `scale` (a nose foreshortened when the face turns
    sideways does not squash the face), turned with the neck-nose direction by at most `max_turn` radians (a
    nose that swings across the neck, as in a profile, does not spin the face), its neck kept on the neck."""
    length = max(float(np.linalg.norm(nose - neck)), 1e-6)
    u, v = (nose - neck) / length, nose2 - neck2
    turn = np.arctan2(u[0] * v[1] - u[1] * v[0], u[0] * v[0] + u[1] * v[1]) if np.linalg.norm(v) > 1e-6 else 0.0
    turn = float(np.clip(turn, -max_turn, max_turn))
    cos, sin = np.cos(turn), np.sin(turn)
    direction = np.array([cos * u[0] - sin * u[1], sin * u[0] + cos * u[1]])
    return bone_affine(neck, nose, neck2, neck2 + direction * length * scale, scale, mirror)


def nearest_on_segments(points: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """Distances (N, K) of points (N, 2) to the segments starts (K, 2) -> ends (K, 2), and the nearest points on
    them, x and y (N, K) each. Written per coordinate: numpy reduces a last axis of two far slower than it
    multiplies."""
    dx, dy = ends[:, 0] - starts[:, 0], ends[:, 1] - starts[:, 1]
    px, py = points[:, :1], points[:, 1:]
    rx, ry = px - starts[:, 0], py - starts[:, 1]
    t = np.clip((rx * dx + ry * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
    gx, gy = rx - t * dx, ry - t * dy
    return np.sqrt(gx * gx + gy * gy), px - gx, py - gy


def segment_distance(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Distances (N, K) of points (N, 2) to the segments starts (K, 2) -> ends (K, 2)."""
    return nearest_on_segments(points, starts, ends)[0]


def hull_distance(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Signed distance (N,) of points to the convex hull of corners (K, 2): negative inside. Outside, the largest
    distance to an edge's line (exact along edges, a little short of the corner beyond corners)."""
    centre = corners.mean(0)
    order = np.argsort(np.arctan2(corners[:, 1] - centre[1], corners[:, 0] - centre[0]))
    ring = corners[order]
    edge = np.roll(ring, -1, axis=0) - ring
    normal = np.stack([edge[:, 1], -edge[:, 0]], 1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    normal *= np.sign(((ring - centre) * normal).sum(1, keepdims=True) + 1e-12)  # outwards
    return ((points[:, None, :] - ring[None]) * normal[None]).sum(-1).max(1)


def polar(linear: np.ndarray, mirror: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Linear maps (K, 2, 2) = rotation * stretch: the angles (K,) of their nearest rotations and what is left,
    the stretches (K, 4: row-major 2 x 2). With mirror=True (maps that flip, as a person seen from the other side)
    each map is split as rotation * stretch * the same flip of y, so that neighbouring bones' rotations compare."""
    flip = np.array([1.0, -1.0 if mirror else 1.0])
    unflipped = linear * flip  # columns times the flip: linear @ diag(flip)
    angles = np.arctan2(unflipped[:, 1, 0] - unflipped[:, 0, 1], unflipped[:, 0, 0] + unflipped[:, 1, 1])
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    back = np.concatenate([np.concatenate([cos, sin], 2), np.concatenate([-sin, cos], 2)], 1)  # the rotation's inverse
    stretch = np.einsum("kij,kjl->kil", back, unflipped) * flip
    return angles, stretch.reshape(-1, 4)


@dataclass(frozen=True)
class Rig:
    """A part's transforms: one per bone and one for its joint with the torso (the torso's own), forward (source
    -> output) and backward (K, 2, 3); their segments in the source and the output (K, 2) each; and each backward
    transform's rotation angle (K,) and the stretch left after it (K, 4: row-major 2 x 2; see polar)."""

    forward: np.ndarray
    backward: np.ndarray
    src_starts: np.ndarray
    src_ends: np.ndarray
    dst_starts: np.ndarray
    dst_ends: np.ndarray
    angles: np.ndarray
    stretches: np.ndarray


@dataclass(frozen=True)
class Pose:
    """The two skeletons of one warp, extended, and the transforms between them."""

    src: np.ndarray  # (15, 2) source pixels
    dst: np.ndarray  # (15, 2) output pixels
    torso_src: float  # torso length in source pixels
    torso_dst: float
    scale: float  # the torso similarity's scale: output pixels per source pixel
    mirror: bool  # whether the torso similarity flips the person (seen from the other side)
    rigs: dict  # part name -> Rig

    @classmethod
    def of(cls, src: np.ndarray, dst: np.ndarray) -> Pose:
        src, dst = extend(src), extend(dst)
        corners = list(TORSO)
        similarity = fit_similarity(src[corners], dst[corners])
        det = float(similarity[0, 0] * similarity[1, 1] - similarity[0, 1] * similarity[1, 0])
        scale, mirror = float(np.sqrt(abs(det))), det < 0
        torso = fit_torso(src[corners], dst[corners])
        rigs = {}
        for part in PARTS:
            if part is BODY:  # the torso's segments are its edges
                pairs = list(zip(TORSO, TORSO[1:] + TORSO[:1]))
                forward = [torso]
            else:
                pairs = list(part.bones) + [part.joint]
                bones = [
                    head_affine(src[a], src[b], dst[a], dst[b], scale, mirror)
                    if part is HEAD
                    else bone_affine(src[a], src[b], dst[a], dst[b], scale, mirror)
                    for a, b in part.bones
                ]
                forward = bones + [torso]
            backward = np.stack([invert_affine(matrix) for matrix in forward])
            angles, stretches = polar(np.nan_to_num(backward[:, :, :2]), mirror)
            first, second = [a for a, _ in pairs], [b for _, b in pairs]
            rigs[part.name] = Rig(
                np.stack(forward), backward, src[first], src[second], dst[first], dst[second], angles, stretches
            )
        return cls(src, dst, torso_length(src), torso_length(dst), scale, mirror, rigs)


def label_points(points: np.ndarray, pose: Pose, arms_front_last: tuple[Part, Part]) -> np.ndarray:
    """The part (index into PARTS) each source point (N, 2) belongs to. A point inside a part's capsule goes to the
    nearest to the viewer among the parts whose capsules hold it (forearms, then head, upper arms, torso, legs: an
    arm lying across the chest takes its own pixels, not the chest's, and a forearm raised before the face its own;
    hair falling on a shoulder stays with the head when the upper arm below it rises); a point in no capsule (loose
    clothes, hair) to the part whose capsule it is nearest to, in units of the capsules' radii."""
    length = pose.torso_src
    limbs = [part for part in PARTS if part is not BODY]
    starts, ends, radii, owner = [], [], [], []
    for part in limbs:
        first, second = pose.src[[a for a, _ in part.bones]], pose.src[[b for _, b in part.bones]].copy()
        reach = second[-1] - first[-1]
        second[-1] += HAND_FOOT_REACH * length * reach / max(float(np.linalg.norm(reach)), 1e-6)
        if part is HEAD:  # the head's capsule starts half-way up the neck
            first = first + 0.4 * (second - first)
        starts.append(first)
        ends.append(second)
        radii += part.radii
        owner += [(PARTS.index(part), bone) for bone in range(len(part.bones))]
    capsules = segment_distance(points, np.concatenate(starts), np.concatenate(ends)) / (np.array(radii) * length)
    # One column per layer in depth order: an arm is two layers (its forearm and hand before the head, its upper
    # arm behind it); every other part is one.
    front, back = (PARTS.index(arm) for arm in reversed(arms_front_last))
    head, body = PARTS.index(HEAD), PARTS.index(BODY)
    layers = [(front, 1), (back, 1), (head, 0), (front, 0), (back, 0), (body, 0), (PARTS.index(LEG_L), None)]
    layers.append((PARTS.index(LEG_R), None))
    scores = np.full((len(points), len(layers)), np.inf)
    for layer, (index, bone) in enumerate(layers):
        if index == body:
            scores[:, layer] = np.maximum(hull_distance(points, pose.src[list(TORSO)]), 0.0) / (TORSO_RADIUS * length)
            continue
        for column, (owner_index, owner_bone) in enumerate(owner):
            if owner_index == index and (bone is None or owner_bone == bone or index == head):
                np.minimum(scores[:, layer], capsules[:, column], out=scores[:, layer])
    # The first layer (nearest the viewer) whose capsule holds the point; else the nearest capsule.
    layer = np.argmin(np.where(scores <= 1.0, np.arange(len(layers)), len(layers) + scores), axis=1)
    return np.array([index for index, _ in layers])[layer]


def arm_order(points: np.ndarray) -> tuple[Part, Part]:
    """The two arms, the one to draw first (further from the viewer) first: an arm whose forearm lies over the torso
    is taken to be in front of it; on a tie the right arm is drawn first."""
    corners = points[list(TORSO)]

    def overlap(part: Part) -> float:
        elbow, wrist = (points[j] for j in part.bones[1])
        samples = elbow + np.linspace(0.0, 1.0, 5)[:, None] * (wrist - elbow)
        return float((hull_distance(samples, corners) < 0).sum())

    return (ARM_L, ARM_R) if overlap(ARM_L) < overlap(ARM_R) else (ARM_R, ARM_L)


def skinning_map(points: np.ndarray, pose: Pose, part: Part) -> np.ndarray:
    """Backward map of a part by 2-D skinning: output points (N, 2) -> source points (N, 2).

    Each output point is tied to its pivot, the blend of its nearest points on the part's bones (weights falling
    off as the inverse fourth power of the distance to each bone); the pivot moves by the blend of the inverse bone
    transforms (linear blend skinning, exact on the bones), the point's offset from it by the blended rotation and
    stretch. Blending the rotation as an angle rather than the matrices keeps the outside of a bent elbow round
    instead of pulling the limb's inside out into a lump (the planar counterpart of dual-quaternion skinning)."""
    rig = pose.rigs[part.name]
    if part is BODY:
        return apply_affine(rig.backward[0], points)
    distance, nearest_x, nearest_y = nearest_on_segments(points, rig.dst_starts, rig.dst_ends)
    d2 = distance**2 + (SKIN_SOFTNESS * pose.torso_dst) ** 2
    weights = 1.0 / (d2 * d2)
    weights /= weights.sum(1, keepdims=True)
    pivot_x, pivot_y = (weights * nearest_x).sum(1), (weights * nearest_y).sum(1)
    affine = np.einsum("nk,kj->nj", weights, rig.backward.reshape(-1, 6))  # the blended inverse, at the pivot
    turn = np.einsum("nk,k->n", weights, np.exp(1j * rig.angles))
    turn /= np.maximum(np.abs(turn), 1e-12)
    stretch = np.einsum("nk,kj->nj", weights, rig.stretches)
    ox, oy = points[:, 0] - pivot_x, points[:, 1] - pivot_y
    offset = ((stretch[:, 0] * ox + stretch[:, 1] * oy) + 1j * (stretch[:, 2] * ox + stretch[:, 3] * oy)) * turn
    mapped = np.empty_like(points)
    mapped[:, 0] = affine[:, 0] * pivot_x + affine[:, 1] * pivot_y + affine[:, 2] + offset.real
    mapped[:, 1] = affine[:, 3] * pivot_x + affine[:, 4] * pivot_y + affine[:, 5] + offset.imag
    return mapped


def control_points(pose: Pose, part: Part | None, per_bone: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Matching points (M, 2) in the output and the source along a part's bones and its joint with the torso (the
    whole skeleton for part None): the joints and `per_bone` points between them, at the same share of each bone."""
    if part is None:
        pairs = [pair for p in PARTS for pair in p.bones] + [(SHOULDER_L, SHOULDER_R), (HIP_L, HIP_R), (NECK, PELVIS)]
        pairs += [(SHOULDER_L, HIP_L), (SHOULDER_R, HIP_R)]
    elif part is BODY:
        pairs = [(SHOULDER_L, SHOULDER_R), (SHOULDER_R, HIP_R), (HIP_R, HIP_L), (HIP_L, SHOULDER_L), (NECK, PELVIS)]
    else:
        pairs = list(part.bones) + [part.joint]
    shares = np.linspace(0.0, 1.0, per_bone + 2)[:, None]
    out, src = [], []
    for a, b in pairs:
        out.append(pose.dst[a] + shares * (pose.dst[b] - pose.dst[a]))
        src.append(pose.src[a] + shares * (pose.src[b] - pose.src[a]))
    out, src = np.concatenate(out), np.concatenate(src)
    # Shared joints appear once per bone: keep the first of each, so none weighs double.
    _, first = np.unique(np.round(out, 3), axis=0, return_index=True)
    first = np.sort(first)
    return out[first], src[first]


def mls_map(points: np.ndarray, pose: Pose, part: Part | None) -> np.ndarray:
    """Backward map by rigid moving least squares (Schaefer et al. 2006) on a part's control points, with the torso's
    scale: each output point gets the rotation that best carries the nearby output control points onto the source
    ones, weighted by the inverse fourth power of the distance (the inverse square bends a forearm laid across the
    chest far more); it interpolates the control points exactly."""
    out_points, src_points = control_points(pose, part)
    v = points[:, 0] + 1j * points[:, 1]
    p = out_points[:, 0] + 1j * out_points[:, 1]
    q = src_points[:, 0] + 1j * src_points[:, 1]
    if pose.mirror:  # rotations cannot flip: fit them to the mirrored source, and mirror the result back
        q = np.conj(q)
    weights = 1.0 / (np.abs(v[:, None] - p[None]) ** 2 + (0.01 * pose.torso_dst) ** 2) ** 2
    total = weights.sum(1)
    p_mean = np.einsum("nm,m->n", weights, p) / total
    q_mean = np.einsum("nm,m->n", weights, q) / total
    rotation = (weights * np.conj(p[None] - p_mean[:, None]) * (q[None] - q_mean[:, None])).sum(1)
    rotation /= np.maximum(np.abs(rotation), 1e-12)
    mapped = rotation * (v - p_mean) / max(pose.scale, 1e-9) + q_mean
    if pose.mirror:
        mapped = np.conj(mapped)
    return np.stack([mapped.real, mapped.imag], 1)


def tps_map(points: np.ndarray, pose: Pose, inverse: bool = False) -> np.ndarray:
    """Backward map by a thin-plate spline through the whole skeleton's control points (output -> source), lightly
    smoothed so that crowded points do not make it ring; inverse=True: the forward one (source -> output)."""
    out_points, src_points = control_points(pose, None, per_bone=2)
    unit = pose.torso_dst
    if inverse:
        out_points, src_points, unit = src_points, out_points, pose.torso_src
    centre = out_points.mean(0)
    p, v = (out_points - centre) / unit, (points - centre) / unit

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        r2 = ((a[:, None, :] - b[None]) ** 2).sum(-1)
        return r2 * np.log(np.maximum(r2, 1e-12))

    count = len(p)
    system = np.zeros((count + 3, count + 3))
    system[:count, :count] = kernel(p, p) + 1e-3 * np.eye(count)
    system[:count, count] = system[count, :count] = 1.0
    system[:count, count + 1 :] = p
    system[count + 1 :, :count] = p.T
    rhs = np.zeros((count + 3, 2))
    rhs[:count] = src_points
    coefficients = np.linalg.lstsq(system, rhs, rcond=None)[0]
    linear = np.einsum("nd,dj->nj", v, coefficients[count + 1 :])
    return np.einsum("nm,mj->nj", kernel(v, p), coefficients[:count]) + coefficients[count] + linear
