import numpy as np
import torch

from motion_transfer.models import NearestNeighbourGenerator
from motion_transfer.pose.drawing import images_to_tensor, tensor_to_images
from motion_transfer.pose.skeleton import to_vector


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


def test_queries_split_into_tiles_give_the_same_answer(monkeypatch):
    from motion_transfer.models import nearest

    model, skeletons, _ = _index(300)
    queries = torch.from_numpy(to_vector(np.random.default_rng(3).uniform(0.1, 0.9, (40, 13, 2)).astype(np.float32)))
    whole = model.nearest_indices(queries)
    # 300 rows pad to 320: tiles of 128, 128 and 64 rows, the last group half padding.
    monkeypatch.setattr(nearest, "QUERY_BLOCK", 7)
    monkeypatch.setattr(nearest, "INDEX_TILE", 128)
    assert model.nearest_indices(queries).tolist() == whole.tolist()
    q, db = queries.numpy(), to_vector(skeletons)
    assert whole.tolist() == [int(np.argmin(((db - v) ** 2).sum(axis=1))) for v in q]
    assert model.nearest_indices(queries[:0]).shape == (0,)


def test_ties_go_to_the_first_row_across_tiles(monkeypatch):
    from motion_transfer.models import nearest

    monkeypatch.setattr(nearest, "INDEX_TILE", 64)
    rng = np.random.default_rng(4)
    vectors = torch.from_numpy(rng.uniform(-1, 1, (200, 26)).astype(np.float32))
    vectors[150] = vectors[30]  # the same skeleton in two tiles
    vectors[199] = vectors[130]  # and once in the last tile, which ends in padding
    model = NearestNeighbourGenerator(image_size=4)
    model.set_index(vectors, torch.zeros(200, 3, 4, 4, dtype=torch.uint8), torch.arange(200))
    assert model.nearest_indices(vectors[[150, 199, 30]]).tolist() == [30, 130, 30]


def test_a_new_index_replaces_the_cached_one():
    model, skeletons, _ = _index(100)
    first = model.nearest_indices(torch.from_numpy(to_vector(skeletons[:3])))
    assert first.tolist() == [0, 1, 2]
    model.set_index(
        torch.from_numpy(to_vector(skeletons[::-1].copy())),
        torch.zeros(100, 3, 16, 16, dtype=torch.uint8),
        torch.arange(100),
    )
    assert model.nearest_indices(torch.from_numpy(to_vector(skeletons[:3]))).tolist() == [99, 98, 97]
    with torch.no_grad():
        model.index_vectors.copy_(torch.from_numpy(to_vector(skeletons)))  # changed in place
    assert model.nearest_indices(torch.from_numpy(to_vector(skeletons[:3]))).tolist() == [0, 1, 2]


def test_nearest_keeps_its_frames_unjittered(small):
    """data.jitter moves training pairs for learned models; the nearest index keeps the real frames."""
    from motion_transfer.training import run_training

    best = run_training(small.compose("train", "data.jitter=0.2", model="nearest"))
    state = torch.load(best, weights_only=True)["state_dict"]
    reference = NearestNeighbourGenerator.indexed_on(small.datamodule())
    assert reference.model_name == "nearest" and len(reference.index_frames) == len(state["index_frames"])
    assert torch.equal(state["index_images"], reference.index_images)
    assert torch.equal(state["index_vectors"], reference.index_vectors)
    assert torch.equal(state["index_frames"], reference.index_frames)  # every training frame, the last short batch too


def test_nearest_draws_the_stored_person_at_the_size_asked(small):
    """With the target's person store, a training pose gives its own frame's stored person at the stored
    side (its torso maps onto itself), and a turned pose turns the person with it."""
    from motion_transfer.models.loading import prepare_data_and_model

    _, model = prepare_data_and_model(small.compose("demo", "model=nearest"))
    assert model.draws_native and model.store is not None
    row = 5
    frame = int(model.index_frames[row])
    stored, stored_mask = model.store.person(frame)
    side = stored.shape[0]
    skeleton = model.frame_skeletons[frame]
    (person, alpha), (small_person, _) = model.native_layers(np.stack([skeleton, skeleton]), [side, 40])
    assert person.shape == stored.shape and small_person.shape == (40, 40, 3)
    inside = stored_mask > 200
    assert np.abs(person.astype(int) - stored.astype(int))[inside].mean() < 4
    assert np.abs(alpha * 255 - stored_mask)[inside].mean() < 8

    # The same pose turned by 30 degrees about the square's centre: the person's axis turns with it.
    turn = np.deg2rad(30)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    turned = (skeleton - 0.5) @ rotation.T + 0.5
    assert model.nearest_indices(torch.from_numpy(to_vector(turned[None]).astype(np.float32))).item() >= 0
    ((_, turned_alpha),) = model.native_layers(turned[None], [side])

    def axis_angle(a):
        ys, xs = np.nonzero(a > 0.5)
        cov = np.cov(np.stack([xs, ys]))
        vals, vecs = np.linalg.eigh(cov)
        return np.degrees(np.arctan2(vecs[1, -1], vecs[0, -1])) % 180

    change = (axis_angle(turned_alpha) - axis_angle(alpha)) % 180
    assert min(abs(change - 30), abs(change - 30 - 180)) < 12


def test_nearest_without_a_store_scales_its_crops(small):
    from motion_transfer.models.loading import prepare_data_and_model

    _, model = prepare_data_and_model(small.compose("demo", "model=nearest"))
    model.store = None
    skeleton = model.frame_skeletons[int(model.index_frames[0])]
    ((person, alpha),) = model.native_layers(skeleton[None], [90])
    assert person.shape == (90, 90, 3) and alpha.shape == (90, 90)
