"""What users already have keeps working when the code moves: checkpoints and caches written by
the flat layout of the package (before its subpackages) load and are found as before."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
#: A GAN (32 px, 8 filters, placement, weight average) trained one epoch on the tiny synthetic clip
#: by the flat layout's `src/train.py`, its optimiser state dropped to keep the file small.
OLD_GAN = FIXTURES / "gan_32px_before_subpackages.ckpt"


@pytest.mark.parametrize(
    ("identity", "params", "key"),
    [
        # Keys computed by the flat layout's cache._cache_key for the same inputs.
        ({"synthetic": "target", "n_frames": 80, "seed": 0}, {}, "efb636f379deba1f"),
        ({"synthetic": "source", "n_frames": 30, "seed": 1}, {"person": "left"}, "68f7a7af3101f6c3"),
        ({"sha256": "0" * 64}, {}, "4e4774bb7b91a823"),
    ],
)
def test_cache_keys_are_those_of_the_flat_layout(identity, params, key):
    from motion_transfer.data.cache import _cache_key
    from motion_transfer.pose.crop import CropParams

    assert _cache_key(identity, CropParams(**params)) == key


def test_a_cache_folder_is_found_under_the_flat_layouts_name(small):
    from motion_transfer.data.cache import load_or_build_synthetic_cache

    cache = load_or_build_synthetic_cache("target", 80, 0, small.outputs / "cache")
    assert cache.path.name == "synthetic-target-efb636f379deba1f"


def test_a_checkpoint_of_the_flat_layout_draws_and_exports(small):
    from motion_transfer.demo import run_demo
    from motion_transfer.models.checkpoints import load_generator
    from motion_transfer.models.export import run_export

    model, _ = load_generator(OLD_GAN, "gan", 32, "efb636f379deba1f")
    assert type(model).__name__ == "GANGenerator" and model.image_size == 32
    overrides = (f"ckpt_path={OLD_GAN}", "model.base_filters=8", "model.d_base_filters=8")
    video = run_demo(small.compose("demo", *overrides, model="gan"))
    assert Path(video).stat().st_size > 0
    onnx = run_export(small.compose("export", *overrides, model="gan"))
    assert Path(onnx).stat().st_size > 0
