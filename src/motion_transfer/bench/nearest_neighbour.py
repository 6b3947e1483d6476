"""The nearest-neighbour search timed: the lab's Python loop over the 33 landmarks of each frame
against the batched query over the reduced skeletons, and how the batched query scales with the
number of frames it searches."""

from __future__ import annotations

import numpy as np
import torch

from motion_transfer.bench.measure import timed
from motion_transfer.models import NearestNeighbourGenerator
from motion_transfer.pose.skeleton import to_vector


def lab_nearest(query: np.ndarray, database: np.ndarray) -> int:
    """The lab's GenNearest, faithfully: a Python loop over the database skeletons (numpy arrays)
    and, inside, over the joints, summing each joint's Euclidean distance; returns the best frame."""
    best, best_distance = -1, float("inf")
    for i in range(len(database)):
        ske = database[i]
        distance = 0.0
        for j in range(len(query)):
            distance += np.linalg.norm(query[j] - ske[j])
        if distance < best_distance:
            best, best_distance = i, distance
    return best


def bench_nearest(
    target_landmarks: np.ndarray,
    target_skeletons: np.ndarray,
    queries: np.ndarray,
    query_skeletons: np.ndarray,
    repeats: int,
    sizes: list[int],
    device: str = "cpu",
) -> dict:
    """The lab's loop over 33 landmarks per frame against our batched query over the reduced
    skeletons, on the target's frames as the database and the source's poses as queries."""
    db33 = list(target_landmarks[:, :, :2].astype(np.float64))
    q33 = list(np.nan_to_num(queries[:, :, :2]).astype(np.float64))
    n_lab = max(2, repeats)
    lab_33 = timed(lambda: [lab_nearest(q, db33) for q in q33[:n_lab]], 1, 0) / n_lab
    model = NearestNeighbourGenerator(image_size=8).to(device)
    vectors = torch.from_numpy(to_vector(target_skeletons))
    model.set_index(vectors, torch.zeros(len(vectors), 3, 8, 8, dtype=torch.uint8), torch.arange(len(vectors)))
    qv = torch.from_numpy(to_vector(query_skeletons)).to(device)
    ours = timed(lambda: model.nearest_indices(qv), repeats, device=device) / len(qv)
    scaling = {}
    rng = np.random.default_rng(0)
    for size in sizes:
        m = NearestNeighbourGenerator(image_size=8).to(device)
        m.set_index(
            torch.from_numpy(rng.uniform(-1, 1, (size, 26)).astype(np.float32)),
            torch.zeros(size, 3, 8, 8, dtype=torch.uint8),
            torch.arange(size),
        )
        q = torch.from_numpy(rng.uniform(-1, 1, (256, 26)).astype(np.float32)).to(device)
        scaling[str(size)] = {
            "us_per_query": 1e6 * timed(lambda: m.nearest_indices(q), repeats, device=device) / len(q)
        }
    return {
        "database_frames": len(db33),
        "lab_loop_33_joints_us_per_query": 1e6 * lab_33,
        "batched_us_per_query": 1e6 * ours,
        "speedup": lab_33 / ours,
        "scaling": scaling,
    }
