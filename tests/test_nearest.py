import numpy as np
import torch

from motion_transfer.drawing import images_to_tensor, tensor_to_images
from motion_transfer.models import NearestNeighbourGenerator
from motion_transfer.skeleton import to_vector


def _index(n=50, size=16, seed=0):
    rng = np.random.default_rng(seed)
    skeletons = rng.uniform(0.1, 0.9, (n, 13, 2)).astype(np.float32)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    model = NearestNeighbourGenerator(image_size=size)
    model.set_index(torch.from_numpy(to_vector(skeletons)), images_to_tensor(images), torch.arange(n) * 3)
    return model, skeletons, images


def test_a_training_skeleton_returns_its_own_frame():
    model, skeletons, images = _index()
    out = tensor_to_images(model.generate_from_skeletons(skeletons))
    np.testing.assert_array_equal(out, images)


def test_a_slightly_moved_skeleton_still_finds_its_frame():
    model, skeletons, images = _index()
    moved = skeletons + np.random.default_rng(1).normal(0, 0.002, skeletons.shape).astype(np.float32)
    rows = model.nearest_indices(torch.from_numpy(to_vector(moved)))
    assert rows.tolist() == list(range(len(skeletons)))


def test_nearest_matches_a_brute_force_search():
    model, skeletons, _ = _index(200)
    queries = np.random.default_rng(2).uniform(0.1, 0.9, (30, 13, 2)).astype(np.float32)
    q, db = to_vector(queries), to_vector(skeletons)
    brute = [int(np.argmin(((db - v) ** 2).sum(axis=1))) for v in q]
    assert model.nearest_indices(torch.from_numpy(q)).tolist() == brute


def test_index_survives_a_state_dict_round_trip():
    model, skeletons, images = _index()
    state = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}
    fresh = NearestNeighbourGenerator(**state["hyper_parameters"])
    fresh.on_load_checkpoint(state)
    fresh.load_state_dict(state["state_dict"])
    np.testing.assert_array_equal(tensor_to_images(fresh.generate_from_skeletons(skeletons[:5])), images[:5])


def test_queries_split_into_blocks_give_the_same_answer(monkeypatch):
    from motion_transfer.models import nearest

    model, skeletons, _ = _index(300)
    queries = torch.from_numpy(to_vector(np.random.default_rng(3).uniform(0.1, 0.9, (40, 13, 2)).astype(np.float32)))
    whole = model.nearest_indices(queries)
    monkeypatch.setattr(nearest, "DISTANCE_BLOCK", 301)  # one query per block
    assert model.nearest_indices(queries).tolist() == whole.tolist()
    assert model.nearest_indices(queries[:0]).shape == (0,)


def test_nearest_keeps_its_frames_unjittered(tmp_path):
    """data.jitter moves training pairs for learned models; the nearest index keeps the real frames."""
    from conftest import compose
    from motion_transfer.training import run_training

    overrides = ["model=nearest", f"paths.output_dir={tmp_path}", "data.synthetic_frames=80", "data.image_size=32", "data.crop.crop_size=64",
                 "data.progress=false", "trainer.enable_progress_bar=false", "logger=none", "data.jitter=0.2"]
    best = run_training(compose("train", overrides, tmp_path / "run"))
    state = torch.load(best, weights_only=True)["state_dict"]
    from motion_transfer.loading import build_nearest, prepare_datamodule

    reference = build_nearest(prepare_datamodule(compose("train", overrides, tmp_path / "ref").data))
    assert torch.equal(state["index_images"], reference.index_images)
    assert torch.equal(state["index_vectors"], reference.index_vectors)
