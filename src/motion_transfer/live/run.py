"""`python src/live.py`: live mode's options checked, its pipeline built from the config and run."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from motion_transfer.live.generator import RUNTIMES, LiveGenerator
from motion_transfer.live.mapping import LivePoseMapper, check_causal_smoothing
from motion_transfer.live.pipeline import LivePipeline
from motion_transfer.live.source import FrameSource, open_source
from motion_transfer.render.output import OutputOptions, output_for
from motion_transfer.render.scene_video import target_floor
from motion_transfer.render.window import want_window
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)


def check_live_options(cfg: DictConfig) -> OutputOptions:
    """Live mode's own options, checked before a camera is opened or a model loaded."""
    from motion_transfer.pose.retarget import check_smoothing

    check_smoothing(cfg.smoothing)
    check_causal_smoothing(cfg.smoothing)
    options = OutputOptions.from_config(cfg.output)
    if int(cfg.max_frames) < 0:
        raise UserError(f"max_frames={cfg.max_frames} must be 0 (the whole source) or more.")
    if str(cfg.runtime) not in RUNTIMES:
        raise UserError(f"runtime={cfg.runtime!r} is not known; use one of {', '.join(RUNTIMES)}.")
    return options


def build_pipeline(cfg: DictConfig, source: FrameSource, out_dir: Path, show: bool = False, sink=None) -> LivePipeline:
    """The pipeline of `cfg` (its target, model and output) from `source` into out_dir/live.mp4:
    src/live.py's and the web page's Live tab's (which passes frames from the visitor's webcam and
    a `sink` that shows each result)."""
    from motion_transfer.models.loading import prepare_data_and_model

    options = check_live_options(cfg)
    datamodule, model = prepare_data_and_model(cfg)
    mapper = LivePoseMapper(target_floor(datamodule), source.fps, cfg.smoothing)
    generator = LiveGenerator(model, str(cfg.runtime), out_dir, int(cfg.threads))
    return LivePipeline(
        source,
        mapper,
        generator,
        output_for(options, datamodule, model.draws_alpha),
        out_dir / "live.mp4",
        pace=bool(cfg.pace),
        max_frames=int(cfg.max_frames),
        show=show,
        preset=options.video_preset,
        person=datamodule.crop_params.person,
        sink=sink,
    )


def run_live(cfg: DictConfig) -> Path:
    """Transfer from `source` live; print `fps: N`, write live.mp4 and live.json into the run folder,
    return the video's path."""
    from motion_transfer.runtime.atomic import write_json_atomically
    from motion_transfer.runtime.config import start_run

    check_live_options(cfg)
    synthetic = (int(cfg.synthetic_source_frames), int(cfg.seed) + 1) if cfg.data.kind == "synthetic" else None
    source = open_source(cfg.get("source"), synthetic, cfg.get("stall_timeout_s", 2.0))
    try:
        out_dir = start_run(cfg)
        pipeline = build_pipeline(cfg, source, out_dir, show=want_window(cfg.show))
    except BaseException:
        source.close()
        raise
    model = pipeline.generator.model
    log.info(
        "live: %s at %.2f fps -> %s (%s, runtime=%s)", source.name, source.fps, out_dir, model.model_name, cfg.runtime
    )
    result = pipeline.run()
    summary = result.summary()
    write_json_atomically(out_dir / "live.json", summary)
    if result.ended:  # a camera that stalled or closed: the run ended there, its frames kept
        log.warning(
            "source: %s %s; the run ended there, its %d frames kept in %s.",
            source.name,
            result.ended,
            result.frames,
            result.video.name,
        )
    log.info(
        "%d frames at %.1f fps (source %.2f fps); latency median %.0f ms, 95th percentile %.0f ms; "
        "%d dropped, %d without a person",
        result.frames,
        result.fps,
        result.source_fps,
        summary["latency_ms_median"],
        summary["latency_ms_p95"],
        result.dropped,
        result.without_person,
    )
    print(f"latency: {summary['latency_ms_median']:.0f} ms median, {summary['latency_ms_p95']:.0f} ms 95th percentile")
    print(f"fps: {result.fps:.1f}")
    return result.video
