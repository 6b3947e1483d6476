"""ONNX export reproduces PyTorch; the benchmark suite runs (quick mode: its figures checked against
the times it recorded, the timings themselves not asserted)."""

import json
import statistics

import hydra
import numpy as np
import onnxruntime as ort
import pytest
import torch

from conftest import compose, user_error
from motion_transfer.bench.native_demo import native_models
from motion_transfer.bench.suite import run_bench
from motion_transfer.models import NearestNeighbourGenerator
from motion_transfer.models.export import GeneratorNetwork, export_onnx, run_export
from motion_transfer.models.kinds import model_kinds, model_names
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
    cfg = model_config(name)
    extra = {"d_base_filters": 8} if "d_base_filters" in cfg else {}
    model = hydra.utils.instantiate(cfg, image_size=32, base_filters=8, placement=placement, **extra)
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


#: What bench.json holds besides the sections: the run's record.
BENCH_RECORD = {"date", "command", "settings", "machine", "peak_rss_mb"}


def check_pairs(figures: dict) -> None:
    """A path timed against its baseline: its seconds and ratio are the medians of the pairs it
    recorded, the ratio of each pair being the baseline's time over the path's."""
    pairs = figures["pairs_s"]
    assert pairs and all(b > 0 and o > 0 for b, o in pairs)
    ratios = [b / o for b, o in pairs]
    assert figures["baseline_s"] == statistics.median(b for b, _ in pairs)
    assert figures["ours_s"] == statistics.median(o for _, o in pairs)
    assert figures["ratio"] == pytest.approx(statistics.median(ratios))
    assert figures["ratio_range"] == [min(ratios), max(ratios)]
    if len(pairs) == 1:
        assert figures["ratio"] == pytest.approx(figures["baseline_s"] / figures["ours_s"])


def check_quick_bench(bench: dict, cfg, out: str) -> None:
    """bench.json of a quick run with a source video and a live model: every section, each figure
    consistent with the times it recorded, and the printed table."""
    settings = bench["settings"]
    assert settings["quick"] and settings["models"] == list(cfg.bench.models)
    assert bench["command"].startswith("python src/bench.py ") and "bench=quick" in bench["command"]
    sections = {"nearest_neighbour", "generation", "demo", "full_frame_demo", "native_demo", "training"}
    sections |= {"training_settings"}
    sections |= {"preprocess"} if settings["preprocess_video"] else set()
    sections |= {"live"} if settings["live_model"] else set()
    assert set(bench) == BENCH_RECORD | sections

    nearest = bench["nearest_neighbour"]
    lab, batched = nearest["lab_loop_33_joints_us_per_query"], nearest["batched_us_per_query"]
    assert nearest["speedup"] == pytest.approx(lab / batched)
    assert list(nearest["scaling"]) == [str(n) for n in settings["nn_sizes"]]
    if "preprocess" in bench:
        check_pairs(bench["preprocess"])
        frames = bench["preprocess"]["frames"]
        assert bench["preprocess"]["bare_fps"] == pytest.approx(frames / bench["preprocess"]["baseline_s"])
        assert bench["preprocess"]["preprocess_fps"] == pytest.approx(frames / bench["preprocess"]["ours_s"])

    generation = bench["generation"]
    assert set(generation) == {
        f"{m}@{s}/b{b}" for m in settings["models"] for s in settings["sizes"] for b in settings["batches"]
    }
    for key, figures in generation.items():
        check_pairs(figures)
        batch = int(key.rsplit("/b", 1)[1])
        assert figures["module_fps"] == pytest.approx(batch / figures["ours_s"])
        assert figures["bare_forward_fps"] == pytest.approx(batch / figures["baseline_s"])
        on_cpu = bench["machine"]["device"] == "cpu"
        assert (figures["onnxruntime_fps"] > 0) if on_cpu else figures["onnxruntime_fps"] is None

    full_frame = {k: v for k, v in bench["full_frame_demo"].items() if k != "frame_size"}
    for section in (bench["demo"], full_frame):
        assert list(section) == settings["models"]
        for figures in section.values():
            check_pairs(figures)
            assert figures["demo_fps"] == pytest.approx(figures["frames"] / figures["ours_s"])
            assert figures["generation_fps"] == pytest.approx(figures["frames"] / figures["baseline_s"])
            assert all(ms > 0 for ms in figures["stage_ms_per_frame"].values())
    for figures in bench["demo"].values():
        assert figures["stage_ms_per_frame"]["generation"] == pytest.approx(
            1e3 * figures["baseline_s"] / figures["frames"]
        )

    native = bench["native_demo"]
    assert list(native) == ["source_fps", *native_models()]
    for per_height in (v for k, v in native.items() if k != "source_fps"):
        # The target's own height (720 for taichi2), then the larger ones asked for, each with its own output.
        assert [v["output_size"][1] for v in per_height.values()] == sorted({720, *settings["native_heights"]})
        for figures in per_height.values():
            check_pairs(figures)
            assert figures["frames"] == settings["native_frames"]
            assert figures["demo_fps"] == pytest.approx(figures["frames"] / figures["ours_s"])
            assert figures["drawing_fps"] == pytest.approx(figures["frames"] / figures["baseline_s"])
            assert figures["real_time"] == pytest.approx(figures["demo_fps"] / native["source_fps"])
    assert "native full-frame demo" in out

    images = settings["train_steps"] * cfg.data.batch_size
    assert list(bench["training"]) == settings["models"]
    for figures in bench["training"].values():
        check_pairs(figures)
        assert figures["plain_images_per_s"] == pytest.approx(images / figures["baseline_s"])
        assert figures["lightning_images_per_s"] == pytest.approx(images / figures["ours_s"])

    check_training_settings(bench["training_settings"], settings["models"], out)

    if "live" in bench:
        runs = {k: v for k, v in bench["live"].items() if isinstance(v, dict)}
        assert bench["live"]["model"] == settings["live_model"] and set(runs) == {
            "onnx_paced",
            "onnx_unpaced",
            "torch_unpaced",
        }
        assert all(0 < run["frames"] <= settings["live_frames"] for run in runs.values())

    assert "nearest neighbour" in out and all(key in out for key in generation)  # the table, a line a path


def check_training_settings(section: dict, models: list[str], out: str) -> None:
    """Each model's training settings timed in rotation against float32 NCHW, with its FLOPs and its
    share of the reference convolution's FLOP/s, and the table's lines."""
    from motion_transfer.bench.train_settings import SETTINGS

    assert [key.split("@")[0] for key in section["models"]] == models
    assert set(section["conv_gflops_per_s"]) == set(SETTINGS) and min(section["conv_gflops_per_s"].values()) > 0
    for figures in section["models"].values():
        assert figures["gflop_per_step"] > 0 and list(figures["settings"]) == list(SETTINGS)
        baseline = figures["settings"]["float32 NCHW"]
        assert baseline["ratio"] == pytest.approx(1.0)
        for setting, f in figures["settings"].items():
            rounds = f["rounds_s"]
            assert f["seconds"] == statistics.median(rounds)
            ratios = [b / s for b, s in zip(baseline["rounds_s"], rounds)]
            assert f["ratio"] == pytest.approx(statistics.median(ratios))
            flop_rate = 1e9 * figures["gflop_per_step"] * section["steps"] / f["seconds"]
            assert f["conv_share"] == pytest.approx(flop_rate / (1e9 * section["conv_gflops_per_s"][setting]))
    assert "training settings" in out and "GFLOP a step" in out


@pytest.mark.slow
def test_training_settings_are_timed_against_float32_nchw(small, capsys):
    from motion_transfer.bench.train_settings import bench_training_settings, settings_lines

    section = bench_training_settings(small.datamodule(), ["vanilla", "gan"], steps=1, repeats=2)
    print("\n".join(settings_lines(section)))
    check_training_settings(section, ["vanilla", "gan"], capsys.readouterr().out)


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
            # The warp's demo on a few frames, at the target's size and at 1080p.
            "bench.native_frames=8",
        ],
    )
    bench = json.loads(run_bench(cfg).read_text())
    check_quick_bench(bench, cfg, capsys.readouterr().out)
    assert "bench.models=[vanilla,gan]" in bench["command"]


#: Models the timed sections cannot build: built when used, or trained from another run.
NOT_TIMED = (*model_names(learns=False), *(name for name, kind in model_kinds().items() if kind.trains_from))


@pytest.mark.parametrize(
    "override, words",
    [
        ("bench.device=tpu", ["bench.device"]),
        *((f"bench.models=[{name}]", ["bench.models", "learned", "train alone"]) for name in NOT_TIMED),
        *((f"bench.live_model={name}", ["bench.live_model", "train alone"]) for name in NOT_TIMED),
        ("bench.models=[]", ["bench.models=[]"]),
    ],
)
def test_bad_benchmark_options(override, words, tmp_path):
    message = user_error(run_bench, compose("bench", ["bench=quick", f"paths.output_dir={tmp_path}", override]))
    assert all(w in message for w in words), message


def test_the_benchmark_on_cuda_says_clearly_when_there_is_no_gpu(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    overrides = ["bench=quick", f"paths.output_dir={tmp_path}", "bench.device=cuda"]
    assert "bench.device=cuda" in user_error(run_bench, compose("bench", overrides))
    assert not list(tmp_path.rglob("config_resolved.yaml"))  # refused before the run started


@pytest.mark.real_data
@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_quick_benchmark_runs_on_cuda(shared_data, real_outputs, capsys):
    overrides = ["bench=quick", f"paths.output_dir={real_outputs}", "bench.device=cuda", "bench.preprocess_video=null"]
    cfg = compose("bench", overrides)
    bench = json.loads(run_bench(cfg).read_text())
    assert bench["machine"]["device"].startswith("cuda")
    check_quick_bench(bench, cfg, capsys.readouterr().out)


def test_compared_times_in_alternating_pairs_and_takes_the_median_pair_ratio(monkeypatch):
    """On a fake clock: each call advances it by a set time, so the figures are exact."""
    from motion_transfer.bench import measure as bench

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
    assert c["pairs_s"] == [[2.0, 1.0], [2.0, 1.0], [2.0, 4.0], [2.0, 1.0]]  # each pair's times, as timed
    assert bench.timed(baseline, repeats=3, warmup=2) == 2.0 and calls.count("b") == 10
