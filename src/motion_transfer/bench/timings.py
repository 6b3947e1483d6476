"""`make bench`: side-by-side timings of the hot paths against their baselines, in one run.

Every figure is the median of `repeats` timed runs after a warm-up. A ratio compares a path
with its baseline on the same inputs, timed in alternation (baseline, path, path, baseline, ...):
it is the median of the per-pair ratios, so that the speed of a shared virtual machine drifting
during the run moves both sides of each pair alike. Its range over the pairs is kept beside it.
"""

from __future__ import annotations

import logging
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from motion_transfer.data.cache import load_or_build_video_cache
from motion_transfer.models import GANGenerator, NearestNeighbourGenerator
from motion_transfer.models.loading import model_class, model_config
from motion_transfer.pose.crop import CropParams
from motion_transfer.pose.skeleton import to_vector
from motion_transfer.runtime.atomic import write_json_atomically
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)

#: Pose smoothing in the timed demo paths: its cost is negligible next to generation and writing.
BENCH_SMOOTHING = {"method": "median", "window": 5}


def _time_once(fn: Callable[[], object], device: str) -> float:
    """Wall time of one fn() call; on a GPU it is waited for (CUDA kernels run asynchronously)."""
    start = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1, device: str = "cpu") -> float:
    """Median wall time of fn() in seconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        _time_once(fn, device)
    return statistics.median(_time_once(fn, device) for _ in range(repeats))


def compared(
    baseline: Callable[[], object], ours: Callable[[], object], repeats: int, warmup: int = 1, device: str = "cpu"
) -> dict:
    """Time `baseline` and `ours` in interleaved pairs (the order alternates from pair to pair).

    Returns the median seconds of each, and `ratio` = the median of baseline/ours over the pairs
    (above 1: ours is faster), with its lowest and highest pair.
    """
    for _ in range(warmup):
        _time_once(baseline, device)
        _time_once(ours, device)
    pairs = []
    for i in range(repeats):
        if i % 2:
            o = _time_once(ours, device)
            b = _time_once(baseline, device)
        else:
            b = _time_once(baseline, device)
            o = _time_once(ours, device)
        pairs.append((b, o))
    ratios = [b / o for b, o in pairs]
    return {
        "baseline_s": statistics.median(b for b, _ in pairs),
        "ours_s": statistics.median(o for _, o in pairs),
        "ratio": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- 1. nearest neighbour ------------------------------------------------------------------------
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


# -- 2. preprocessing ------------------------------------------------------------------------------
def bench_preprocess(video: Path, repeats: int) -> dict:
    from motion_transfer.data.video import iter_frames
    from motion_transfer.pose.detector import PoseExtractor

    def bare():
        n = 0
        with PoseExtractor() as extract:
            for frame in iter_frames(video):
                extract(frame)
                n += 1
        return n

    n_frames = bare()
    with tempfile.TemporaryDirectory() as tmp:
        c = compared(
            bare,
            lambda: load_or_build_video_cache(video, Path(tmp), CropParams(), force=True, progress=False),
            repeats,
            0,
        )
    return {
        "frames": n_frames,
        "bare_fps": n_frames / c["baseline_s"],
        "preprocess_fps": n_frames / c["ours_s"],
        "ratio": c["ratio"],
        "ratio_range": c["ratio_range"],
    }


# -- 3. generation -------------------------------------------------------------------------------
def _model(name: str, size: int, device: str = "cpu", training: bool = False):
    """A new, untrained generator as configs/model/<name>.yaml builds it, at `size` px."""
    import hydra

    extra = {"warmup": 0.0} if training and "warmup" in model_config(name) else {}  # time adversarial steps
    model = hydra.utils.instantiate(model_config(name), image_size=size, **extra).to(device)
    return model.train(training)


def bench_generation(
    skeletons: np.ndarray, sizes: list[int], batches: list[int], repeats: int, models: list[str], device: str = "cpu"
) -> dict:
    out = {}
    for name in models:
        for size in sizes:
            model = _model(name, size, device)
            net = model.inference_network()
            for batch in batches:
                sk = skeletons[:batch]
                vector, stick = model.make_inputs(sk)
                pose = vector if model.input_kind == "vector" else stick
                x = model.network_input(vector, stick)  # what the network reads, the placement included

                def bare():
                    with torch.no_grad():
                        net(x)

                c = compared(bare, lambda: model.generate_from_skeletons(sk, batch), repeats, device=device)
                # ONNX Runtime is measured on the CPU only (its CUDA provider is not installed).
                out[f"{name}@{size}/b{batch}"] = {
                    "module_fps": batch / c["ours_s"],
                    "bare_forward_fps": batch / c["baseline_s"],
                    "ratio": c["ratio"],
                    "ratio_range": c["ratio_range"],
                    "onnxruntime_fps": _onnxruntime_fps(model, pose, repeats) if device == "cpu" else None,
                }
    return out


def _onnxruntime_fps(model, pose: torch.Tensor, repeats: int) -> float:
    """Frames/s of the same network exported to ONNX and run by ONNX Runtime on the CPU."""
    import onnxruntime as ort

    from motion_transfer.models.export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        session = ort.InferenceSession(
            str(export_onnx(model, Path(tmp) / "generator.onnx")), providers=["CPUExecutionProvider"]
        )
        inputs = {"pose": pose.numpy()}
        if model.uses_placement:
            inputs["placement"] = model.default_placement.expand(len(pose), -1).numpy()
        return len(pose) / timed(lambda: session.run(None, inputs), repeats)


# -- 4. demo -------------------------------------------------------------------------------------
def bench_demo(
    source, target_reference: np.ndarray, models: list[str], size: int, repeats: int, device: str = "cpu"
) -> dict:
    from motion_transfer.demo import prepare_source_poses, write_transfer_videos

    raw, normalised, _ = prepare_source_poses(source, target_reference, "global", BENCH_SMOOTHING)
    crops = np.asarray(source.crops)
    out = {}
    for name in models:
        model = _model(name, size, device)
        with tempfile.TemporaryDirectory() as tmp:
            c = compared(
                lambda: model.generate_from_skeletons(normalised, 64),
                lambda: write_transfer_videos(
                    model, crops, raw, normalised, source.fps, Path(tmp), 64, 256, progress=False
                ),
                repeats,
                device=device,
            )
        n = len(raw)
        out[name] = {
            "frames": n,
            "demo_fps": n / c["ours_s"],
            "generation_fps": n / c["baseline_s"],
            "ratio": c["ratio"],
            "ratio_range": c["ratio_range"],
            "stage_ms_per_frame": {
                "generation": 1e3 * c["baseline_s"] / n,
                **_demo_stages(model, crops, raw, normalised, source.fps, repeats),
            },
        }
    return out


def bench_full_frame_demo(
    source, source_frames, datamodule, models: list[str], size: int, repeats: int, device: str = "cpu"
) -> dict:
    """The full-frame demo (the person pasted into the target's plate at the video's resolution,
    and the source | result panel) against generation alone. `source_frames()` gives a fresh
    iterator over the source's frames (decoding is part of the demo). The plate is used whether or
    not the target's camera was found static: the cost is the same."""
    from motion_transfer.demo import prepare_source_poses
    from motion_transfer.render.scene_video import source_points_in_frame, target_boxes_for, write_full_frame_videos

    raw, normalised, _ = prepare_source_poses(source, datamodule.training_skeletons(), "global", BENCH_SMOOTHING)
    points = source_points_in_frame(raw, np.asarray(source.boxes))
    boxes = target_boxes_for(points, datamodule)
    out = {"frame_size": list(datamodule.plate.shape[1::-1])}
    for name in models:
        model = _model(name, size, device)
        with tempfile.TemporaryDirectory() as tmp:
            c = compared(
                lambda: model.layers_from_skeletons(normalised, 64),
                lambda: write_full_frame_videos(
                    model,
                    source_frames(),
                    points,
                    normalised,
                    boxes,
                    datamodule.plate,
                    source.fps,
                    Path(tmp),
                    progress=False,
                ),
                repeats,
                device=device,
            )
        n = len(raw)
        out[name] = {
            "frames": n,
            "demo_fps": n / c["ours_s"],
            "generation_fps": n / c["baseline_s"],
            "ratio": c["ratio"],
            "ratio_range": c["ratio_range"],
            "stage_ms_per_frame": _full_frame_stages(
                model, source_frames, points, normalised, boxes, datamodule.plate, source.fps, repeats
            ),
        }
    return out


def _full_frame_stages(
    model, source_frames, points, normalised, boxes, plate, fps: float, repeats: int, batch: int = 64
) -> dict:
    """The full-frame demo's writer stages timed one by one on one core, in ms a frame, over the
    first `batch` frames: what the writer thread does beside generation."""
    from motion_transfer.data.video import VideoWriter
    from motion_transfer.pose.drawing import render_stick_figures, tensor_to_images
    from motion_transfer.render.paste import composite_frames, output_size
    from motion_transfer.render.scene_video import INSET, side_by_side

    n = min(batch, len(normalised))
    width, height = output_size((plate.shape[1], plate.shape[0]), 1280)
    rgb, alpha = model.layers_from_skeletons(normalised[:n], n)
    persons, alphas = tensor_to_images(rgb), alpha[:, 0].numpy().astype(np.float32)
    frames = composite_frames(plate, persons, alphas, boxes[:n], (width, height))
    sources = [frame for _, frame in zip(range(n), source_frames())]
    side = min(height, 360) // 2 * 2
    sticks = render_stick_figures(normalised[:n], max(16, int(INSET * side)))
    panels = np.stack([side_by_side(*args, side) for args in zip(sources, frames, sticks, points[:n])])

    def encode(images):
        with tempfile.TemporaryDirectory() as tmp:
            writer = VideoWriter(Path(tmp) / "v.mp4", fps, images.shape[2], images.shape[1], preset="ultrafast")
            writer.write(images)
            writer.close()

    stages = {
        "paste": lambda: composite_frames(plate, persons, alphas, boxes[:n], (width, height)),
        "encode_full_frame": lambda: encode(frames),
        "decode_source": lambda: [frame for _, frame in zip(range(n), source_frames())],
        "side_by_side": lambda: [side_by_side(*args, side) for args in zip(sources, frames, sticks, points[:n])],
        "encode_side_by_side": lambda: encode(panels),
    }
    import cv2

    cv2_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # CPU time a frame: what the stages take from the two cores
    try:
        return {name: 1e3 * timed(fn, repeats) / n for name, fn in stages.items()}
    finally:
        cv2.setNumThreads(cv2_threads)


def _demo_stages(
    model,
    crops: np.ndarray,
    raw: np.ndarray,
    normalised: np.ndarray,
    fps: float,
    repeats: int,
    batch: int = 64,
    size: int = 256,
) -> dict:
    """The demo's stages after generation timed one by one, in ms a frame: what the whole demo
    overlaps (generation alone is the baseline `bench_demo` already timed)."""
    from motion_transfer.data.video import VideoWriter
    from motion_transfer.demo import compose_panels, generate_panel_images

    n = len(raw)
    images = generate_panel_images(model, normalised, batch, size)
    panels = compose_panels(crops, raw, normalised, images, size)

    def encode():
        with tempfile.TemporaryDirectory() as tmp:
            for name, frames in (("transfer.mp4", panels), ("generated.mp4", panels[:, :, 2 * size :])):
                writer = VideoWriter(Path(tmp) / name, fps, frames.shape[2], size, preset="ultrafast")
                writer.write(frames)
                writer.close()

    stages = {
        "generation_and_upscale": lambda: generate_panel_images(model, normalised, batch, size),
        "drawing": lambda: compose_panels(crops, raw, normalised, images, size),
        "encoding": encode,
    }
    return {name: 1e3 * timed(fn, repeats) / n for name, fn in stages.items()}


# -- 5. training ---------------------------------------------------------------------------------
def bench_live(datamodule, source_video: Path, model_name: str, frames: int) -> dict:
    """Live mode (src/live.py) with a video file as the camera, into the target's full frame, with an
    untrained `model_name` at the target's image size (the same work as a trained one): read at the
    file's own rate (`paced`: what a camera would give; the sustained rate cannot beat the file's),
    then as fast as the pipeline goes (`unpaced`: its ceiling), in ONNX Runtime and in PyTorch."""
    from omegaconf import OmegaConf

    from motion_transfer.live.pipeline import LiveGenerator, LivePipeline, LivePoseMapper, open_source
    from motion_transfer.render.scene_video import target_floor
    from motion_transfer.runtime.config import CONFIG_DIR

    one_euro = OmegaConf.load(CONFIG_DIR / "smoothing" / "one_euro.yaml")  # live mode's default
    threads = torch.get_num_threads()  # LiveGenerator gives PyTorch one thread
    model = _model(model_name, datamodule.image_size)
    out = {"model": model_name, "image_size": datamodule.image_size}
    runs = {"onnx_paced": ("onnx", True), "onnx_unpaced": ("onnx", False), "torch_unpaced": ("torch", False)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, (runtime, pace) in runs.items():
                generator = LiveGenerator(model, runtime, Path(tmp))
                source = open_source(str(source_video))
                mapper = LivePoseMapper(target_floor(datamodule), source.fps, one_euro)
                pipeline = LivePipeline(
                    source, mapper, generator, datamodule.plate, Path(tmp) / f"{name}.mp4", pace=pace, max_frames=frames
                )
                out[name] = pipeline.run().summary()
                out["output_size"] = list(pipeline.size)
    finally:
        torch.set_num_threads(threads)
    return out


def bench_training(datamodule, models: list[str], steps: int, repeats: int, device: str = "cpu") -> dict:
    import lightning as L

    out = {}
    batch_size = datamodule.batch_size
    batches = [next(iter(datamodule.train_dataloader())) for _ in range(1)] * steps
    on_device = [{k: v.to(device) for k, v in batch.items()} for batch in batches]
    for name in models:

        def plain():
            torch.manual_seed(0)
            model = _model(name, datamodule.image_size, device, training=True)
            opts = model.configure_optimizers()
            opts = opts if isinstance(opts, (list, tuple)) else [opts]
            model.train()
            for batch in on_device:
                if isinstance(model, GANGenerator):
                    _plain_gan_step(model, batch, *opts)
                else:
                    loss = model.criterion(model.generate(batch["vector"], batch["stick"]), batch["image"])
                    opts[0].zero_grad(set_to_none=True)
                    loss.backward()
                    opts[0].step()

        def lightning():
            torch.manual_seed(0)
            model = _model(name, datamodule.image_size, training=True)
            # Manual optimisation counts each optimizer's step: a GAN step is two.
            trainer = L.Trainer(
                max_steps=steps if model.automatic_optimization else 2 * steps,
                limit_val_batches=0,
                accelerator="cpu" if device == "cpu" else "gpu",
                devices=1,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                num_sanity_val_steps=0,
            )
            trainer.fit(model, train_dataloaders=torch.utils.data.DataLoader(_Batches(batches), batch_size=None))

        c = compared(plain, lightning, repeats, 0, device)
        images = steps * batch_size
        out[name] = {
            "plain_images_per_s": images / c["baseline_s"],
            "lightning_images_per_s": images / c["ours_s"],
            "ratio": c["ratio"],
            "ratio_range": c["ratio_range"],
            "peak_rss_mb_so_far": peak_rss_mb(),
        }
    return out


class _Batches(torch.utils.data.Dataset):
    """The same pre-made batches for Lightning as for the plain loop."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.batches[i]


def _plain_gan_step(model, batch, opt_g, opt_d):
    """One adversarial step of the GAN's losses (the warm-up over: see bench_training) in a plain loop."""
    import torch.nn.functional as F

    stick, real = batch["stick"], batch["image"]
    fake = model.generate(batch["vector"], stick)
    d_real = model.discriminate(stick, real)
    d_loss = 0.5 * (
        model.adversarial_loss(d_real, True) + model.adversarial_loss(model.discriminate(stick, fake.detach()), False)
    )
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    g_fake = model.discriminate(stick, fake)
    g_loss = model.adversarial_loss(g_fake, True, for_d=False) + model.hparams.lambda_l1 * F.l1_loss(fake, real)
    if model.hparams.lambda_fm > 0:
        g_loss = g_loss + model.hparams.lambda_fm * model.feature_matching_loss(g_fake, d_real)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()


def run_bench(cfg: DictConfig) -> Path:
    """Time every section (the quick preset: a few seconds each); write bench.json, print the table."""
    from motion_transfer.models.loading import prepare_datamodule
    from motion_transfer.runtime.config import start_run

    b = cfg.bench
    device = str(b.device)
    if device not in ("cpu", "cuda"):
        raise UserError(f"bench.device={device!r} is not known; use cpu or cuda.")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("bench.device=cuda but PyTorch sees no CUDA GPU on this machine; use bench.device=cpu.")
    if not b.models or not all(model_class(model_config(name)).learns for name in b.models):
        raise UserError(f"bench.models={list(b.models)} must list learned generators (nearest has its own section).")
    torch.set_num_threads(int(b.threads) if b.threads else torch.get_num_threads())
    out_dir = start_run(cfg)
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "device": device if device == "cpu" else f"cuda ({torch.cuda.get_device_name()})",
            "torch": torch.__version__,
            "quick": bool(b.quick),
        },
    }
    repeats = int(b.repeats)
    datamodule = prepare_datamodule(cfg.data)
    target = datamodule.cache
    source = (
        load_or_build_video_cache(
            b.source_video,
            Path(cfg.paths.cache_dir),
            datamodule.crop_params,
            progress=False,
            option="bench.source_video",
        )
        if b.source_video
        else None
    )
    if source is None:
        from motion_transfer.data.cache import load_or_build_synthetic_cache

        source = load_or_build_synthetic_cache("source", 200, 1, Path(cfg.paths.cache_dir), datamodule.crop_params)
    log.info("nearest neighbour")
    result["nearest"] = bench_nearest(
        np.asarray(target.landmarks)[target.detected],
        np.asarray(target.skeletons)[target.detected],
        np.asarray(source.landmarks)[source.detected],
        np.asarray(source.skeletons)[source.detected],
        repeats,
        list(b.nn_sizes),
        device,
    )
    if b.preprocess_video:
        log.info("preprocessing")
        result["preprocess"] = bench_preprocess(Path(b.preprocess_video).resolve(), repeats)
    log.info("generation")
    result["generation"] = bench_generation(
        np.asarray(source.skeletons), list(b.sizes), list(b.batches), repeats, list(b.models), device
    )
    log.info("demo")
    result["demo"] = bench_demo(
        source, datamodule.training_skeletons(), list(b.models), datamodule.image_size, repeats, device
    )
    log.info("full-frame demo")
    if b.source_video:
        from motion_transfer.data.video import iter_frames

        frames = lambda: iter_frames(Path(b.source_video))  # noqa: E731
    else:
        from motion_transfer.data.synthetic import render_clip

        frames = lambda: iter(render_clip("source", 200, 1)[0])  # noqa: E731
    result["full_frame_demo"] = bench_full_frame_demo(
        source, frames, datamodule, list(b.models), datamodule.image_size, repeats, device
    )
    if b.source_video and b.live_model:
        log.info("live mode")
        result["live"] = bench_live(datamodule, Path(b.source_video), str(b.live_model), int(b.live_frames))
    log.info("training")
    result["training"] = bench_training(
        datamodule, list(b.models), int(b.train_steps), max(1, (repeats + 1) // 2), device
    )
    result["peak_rss_mb"] = peak_rss_mb()
    path = write_json_atomically(out_dir / "bench.json", result)
    print(format_table(result))
    return path


def _ratio(figures: dict) -> str:
    low, high = figures["ratio_range"]
    return f"{figures['ratio']:.2f}x, pairs {low:.2f}-{high:.2f}"


def format_table(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"bench {result['date']} on {m['cpu_count']} CPUs, {m['torch_threads']} torch threads, device {m['device']}",
        "",
    ]
    nn = result["nearest"]
    lines += [
        f"nearest neighbour ({nn['database_frames']} frames): lab loop "
        f"{nn['lab_loop_33_joints_us_per_query']:.0f} us/query, "
        f"batched {nn['batched_us_per_query']:.2f} us/query, {nn['speedup']:.0f}x",
        "  scaling: " + ", ".join(f"{k}: {v['us_per_query']:.2f} us" for k, v in nn["scaling"].items()),
    ]
    if "preprocess" in result:
        p = result["preprocess"]
        lines.append(
            f"preprocess: {p['preprocess_fps']:.1f} frames/s vs bare decode+MediaPipe {p['bare_fps']:.1f} ({_ratio(p)})"
        )
    lines.append("generation (module incl. stick rendering vs bare forward; ONNX Runtime):")
    lines += [
        f"  {k:28s} {v['module_fps']:8.1f} fps vs {v['bare_forward_fps']:8.1f} ({_ratio(v)})"
        + (f"; onnxruntime {v['onnxruntime_fps']:8.1f} fps" if v["onnxruntime_fps"] is not None else "")
        for k, v in result["generation"].items()
    ]
    lines.append("demo with cached poses vs generation alone:")
    for k, v in result["demo"].items():
        stages = ", ".join(f"{stage} {ms:.2f}" for stage, ms in v["stage_ms_per_frame"].items())
        lines.append(
            f"  {k:14s} {v['demo_fps']:7.1f} fps vs {v['generation_fps']:7.1f} ({_ratio(v)}); ms a frame alone: "
            f"{stages}"
        )
    full = result.get("full_frame_demo")
    if full:
        width, height = full["frame_size"]
        lines.append(f"full-frame demo ({width}x{height} output) vs generation alone:")
        for k, v in full.items():
            if k == "frame_size":
                continue
            stages = ", ".join(f"{stage} {ms:.2f}" for stage, ms in v.get("stage_ms_per_frame", {}).items())
            lines.append(
                f"  {k:14s} {v['demo_fps']:7.1f} fps vs {v['generation_fps']:7.1f} ({_ratio(v)}); writer ms a frame: "
                f"{stages}"
            )
    live = result.get("live")
    if live:
        width, height = live["output_size"]
        lines.append(
            f"live mode ({live['model']} at {live['image_size']} px, {width}x{height} output), a video as camera:"
        )
        for k, v in live.items():
            if isinstance(v, dict):
                lines.append(
                    f"  {k:14s} {v['fps']:6.1f} fps (source {v['source_fps']:.0f}), latency median "
                    f"{v['latency_ms_median']:.0f} ms, 95th percentile {v['latency_ms_p95']:.0f} ms, "
                    f"{v['frames']} frames, {v['dropped']} dropped"
                )
    lines.append("training, Lightning vs plain PyTorch loop (images/s):")
    lines += [
        f"  {k:14s} {v['lightning_images_per_s']:7.1f} vs {v['plain_images_per_s']:7.1f} ({_ratio(v)})"
        for k, v in result["training"].items()
    ]
    lines.append(f"peak RSS {result['peak_rss_mb']:.0f} MB")
    return "\n".join(lines)
