"""The bench's printed table: one line a timed path, its figures beside its baseline's and the ratio
with its range over the pairs."""

from __future__ import annotations

from motion_transfer.bench.native_demo import native_demo_lines
from motion_transfer.bench.train_settings import settings_lines


def _ratio(figures: dict) -> str:
    low, high = figures["ratio_range"]
    return f"{figures['ratio']:.2f}x, pairs {low:.2f}-{high:.2f}"


def format_table(result: dict) -> str:
    """bench.json's figures (`result`) as the table `make bench` prints."""
    m = result["machine"]
    lines = [
        f"bench {result['date']} on {m['cpu_count']} CPUs, {m['torch_threads']} torch threads, device {m['device']}",
        "",
    ]
    nn = result["nearest_neighbour"]
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
    if result.get("native_demo"):
        lines += native_demo_lines(result["native_demo"])
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
    if result.get("training_settings"):
        lines += settings_lines(result["training_settings"])
    lines.append(f"peak RSS {result['peak_rss_mb']:.0f} MB")
    return "\n".join(lines)
