"""ONNX export reproduces PyTorch; the benchmark suite runs (quick mode, timings not asserted)."""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from conftest import last_line, run_script
from motion_transfer.errors import UserError
from motion_transfer.export import GeneratorNetwork, export_onnx
from motion_transfer.models import MODEL_CLASSES


@pytest.mark.parametrize("name,placement", [("vanilla", False), ("vanilla_image", False), ("gan", False), ("vanilla", True), ("vanilla_image", True)])
def test_onnx_runtime_reproduces_pytorch(name, placement, tmp_path):
    torch.manual_seed(0)
    model = MODEL_CLASSES[name](image_size=32, base_filters=8, placement=placement).eval()
    if placement:
        model.default_placement = torch.tensor([0.1, -0.2, 0.3])
    path = export_onnx(model, tmp_path / f"{name}.onnx")
    network = GeneratorNetwork(model).eval()
    inputs = {name: torch.randn(3, *example.shape[1:]) for name, example in zip(network.input_names, network.example)}  # another batch size than the export's
    with torch.no_grad():
        expected = network(*inputs.values()).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {k: v.numpy() for k, v in inputs.items()})[0]
    assert np.abs(got - expected).max() < 1e-4
    assert list(inputs) == (["pose", "placement"] if placement else ["pose"])


def test_nearest_has_nothing_to_export(tmp_path):
    with pytest.raises(UserError, match="nearest"):
        export_onnx(MODEL_CLASSES["nearest"](image_size=32), tmp_path / "n.onnx")


@pytest.mark.real_data
@pytest.mark.slow
def test_quick_benchmark_runs_and_writes_its_json(shared_data, tmp_path):
    result = run_script("bench", "bench=quick", f"data.target_video={shared_data / 'taichi2.mp4'}",
                        f"bench.source_video={shared_data / 'karate1.mp4'}", f"bench.preprocess_video={shared_data / 'karate1.mp4'}",
                        "bench.nn_sizes=[1000]", outputs=tmp_path, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    bench = json.loads(Path(last_line(result.stdout).split(": ", 1)[1]).read_text())
    assert {"machine", "nearest", "preprocess", "generation", "demo", "training"} <= set(bench)
    assert bench["machine"]["cpu_count"] >= 1 and bench["nearest"]["speedup"] > 0
    assert all(v["onnxruntime_fps"] > 0 for v in bench["generation"].values())
    for section in ("generation", "demo", "training"):
        assert all(v["ratio"] > 0 for v in bench[section].values())


@pytest.mark.parametrize("override, words", [("bench.device=tpu", ["bench.device"]), ("bench.models=[nearest]", ["bench.models", "vanilla"])])
def test_bad_benchmark_options(override, words, tmp_path):
    result = run_script("bench", "bench=quick", override, outputs=tmp_path)
    assert result.returncode == 2 and all(w in result.stderr for w in words), result.stderr[-2000:]


def test_the_benchmark_on_cuda_says_clearly_when_there_is_no_gpu(tmp_path):
    if torch.cuda.is_available():  # a GPU machine runs the quick suite on it instead
        result = run_script("bench", "bench=quick", "bench.device=cuda", "bench.preprocess_video=null", outputs=tmp_path, timeout=1200)
        assert result.returncode == 0, result.stderr[-3000:]
        assert json.loads(Path(last_line(result.stdout).split(": ", 1)[1]).read_text())["machine"]["device"].startswith("cuda")
    else:
        result = run_script("bench", "bench=quick", "bench.device=cuda", outputs=tmp_path)
        assert result.returncode == 2 and "bench.device=cuda" in result.stderr and "Traceback" not in result.stderr


def test_compared_times_in_alternating_pairs_and_takes_the_median_pair_ratio():
    import time

    from motion_transfer.bench import compared

    calls = []

    def baseline():
        calls.append("b")
        time.sleep(0.02)

    def ours():
        calls.append("o")
        time.sleep(0.01)

    c = compared(baseline, ours, repeats=4, warmup=1)
    assert calls == ["b", "o", "b", "o", "o", "b", "b", "o", "o", "b"]
    assert 1.5 < c["ratio"] < 2.5
    assert c["ratio_range"][0] <= c["ratio"] <= c["ratio_range"][1]
    assert c["baseline_s"] > c["ours_s"]
