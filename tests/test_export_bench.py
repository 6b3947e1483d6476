"""ONNX export reproduces PyTorch; the benchmark suite runs (quick mode, timings not asserted)."""

import json

import hydra
import numpy as np
import onnxruntime as ort
import pytest
import torch

from conftest import compose, user_error
from motion_transfer.bench.timings import run_bench
from motion_transfer.models import NearestNeighbourGenerator
from motion_transfer.models.export import GeneratorNetwork, export_onnx, run_export
from motion_transfer.models.loading import model_config
from motion_transfer.runtime.errors import UserError


def _onnx_matches_pytorch(model, path, batch=3):
    """ONNX Runtime's output for the exported file equals the model's network, on another batch size."""
    network = GeneratorNetwork(model).eval()
    inputs = {
        name: torch.randn(batch, *example.shape[1:]) for name, example in zip(network.input_names, network.example)
    }
    with torch.no_grad():
        expected = network(*inputs.values())
    expected = expected if isinstance(expected, tuple) else (expected,)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == network.output_names
    got = session.run(None, {k: v.numpy() for k, v in inputs.items()})
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == tuple(e.shape) and np.abs(g - e.numpy()).max() < 1e-4
    return list(inputs)


@pytest.mark.parametrize(
    "name,placement",
    [("vanilla", False), ("vanilla_image", False), ("gan", False), ("vanilla", True), ("vanilla_image", True)],
)
def test_onnx_runtime_reproduces_pytorch(name, placement, tmp_path):
    torch.manual_seed(0)
    extra = {"d_base_filters": 8} if name == "gan" else {}
    model = hydra.utils.instantiate(model_config(name), image_size=32, base_filters=8, placement=placement, **extra)
    model.eval()
    if placement:
        model.default_placement = torch.tensor([0.1, -0.2, 0.3])
    if model.ema_decay > 0:  # the weight average draws, so it is what is exported: make it differ from the live one
        with torch.no_grad():
            for p in model.ema_generator.parameters():
                p.add_(0.01 * torch.randn_like(p))
    path = export_onnx(model, tmp_path / f"{name}.onnx")
    assert _onnx_matches_pytorch(model, path) == (["pose", "placement"] if placement else ["pose"])
    assert not list(tmp_path.glob(".*partial*"))


def test_nearest_has_nothing_to_export(tmp_path):
    with pytest.raises(UserError, match="nearest"):
        export_onnx(NearestNeighbourGenerator(image_size=32), tmp_path / "n.onnx")
    assert not list(tmp_path.iterdir())


def test_export_a_trained_checkpoint(trained):
    from motion_transfer.models.checkpoints import load_generator

    ckpt = trained.ckpts["vanilla_image"]
    path = run_export(trained.small.compose("export", f"ckpt_path={ckpt}", model="vanilla_image"))
    assert path.name == "vanilla_image.onnx" and (path.parent / "config_resolved.yaml").is_file()
    model, _ = load_generator(ckpt, "vanilla_image", 32)
    assert _onnx_matches_pytorch(model, path) == ["pose", "placement"]


@pytest.mark.real_data
@pytest.mark.slow
def test_quick_benchmark_runs_and_writes_its_json(shared_data, real_outputs, capsys):
    cfg = compose(
        "bench",
        [
            "bench=quick",
            f"paths.output_dir={real_outputs}",
            f"data.target_video={shared_data / 'taichi2.mp4'}",
            f"bench.source_video={shared_data / 'karate1.mp4'}",
            f"bench.preprocess_video={shared_data / 'karate1.mp4'}",
            "bench.nn_sizes=[1000]",
            # The vector decoder and the GAN: both inputs (vector, stick figure with placement)
            # and both training steps; vanilla_image adds nothing the bench treats apart.
            "bench.models=[vanilla,gan]",
        ],
    )
    bench = json.loads(run_bench(cfg).read_text())
    assert {"machine", "nearest", "preprocess", "generation", "demo", "training"} <= set(bench)
    assert bench["machine"]["cpu_count"] >= 1 and bench["nearest"]["speedup"] > 0
    assert all(v["onnxruntime_fps"] > 0 for v in bench["generation"].values())
    for section in ("generation", "demo", "training"):
        assert all(v["ratio"] > 0 for v in bench[section].values())
    assert "nearest neighbour" in capsys.readouterr().out  # the table


@pytest.mark.parametrize(
    "override, words", [("bench.device=tpu", ["bench.device"]), ("bench.models=[nearest]", ["bench.models", "learned"])]
)
def test_bad_benchmark_options(override, words, tmp_path):
    message = user_error(run_bench, compose("bench", ["bench=quick", f"paths.output_dir={tmp_path}", override]))
    assert all(w in message for w in words), message


def test_the_benchmark_on_cuda_says_clearly_when_there_is_no_gpu(tmp_path, request):
    overrides = ["bench=quick", f"paths.output_dir={tmp_path}", "bench.device=cuda"]
    if torch.cuda.is_available():  # a GPU machine runs the quick suite on it instead (on the real clips)
        request.getfixturevalue("shared_data")
        bench = json.loads(run_bench(compose("bench", [*overrides, "bench.preprocess_video=null"])).read_text())
        assert bench["machine"]["device"].startswith("cuda")
    else:
        assert "bench.device=cuda" in user_error(run_bench, compose("bench", overrides))


def test_compared_times_in_alternating_pairs_and_takes_the_median_pair_ratio(monkeypatch):
    """On a fake clock: each call advances it by a set time, so the figures are exact."""
    from motion_transfer.bench import timings as bench

    clock = [0.0]
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock[0])
    calls = []
    ours_times = iter([5.0, 1.0, 1.0, 4.0, 1.0])  # the warm-up, then four pairs, one of them slow

    def baseline():
        calls.append("b")
        clock[0] += 2.0

    def ours():
        calls.append("o")
        clock[0] += next(ours_times)

    c = bench.compared(baseline, ours, repeats=4, warmup=1)
    assert calls == ["b", "o", "b", "o", "o", "b", "b", "o", "o", "b"]
    assert c["ratio"] == 2.0 and c["ratio_range"] == [0.5, 2.0]  # the median pair, not the ratio of sums
    assert c["baseline_s"] == 2.0 and c["ours_s"] == 1.0
    assert bench.timed(baseline, repeats=3, warmup=2) == 2.0 and calls.count("b") == 10
