"""`python src/live.py`: live mode's options checked, its pipeline built from the config and run."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from motion_transfer.live.generator import RUNTIMES, LiveGenerator
from motion_transfer.live.mapping import LivePoseMapper, check_causal_smoothing
from motion_transfer.live.pipeline import LivePipeline
from motion_transfer.live.source import open_source
from motion_transfer.render.output import OutputOptions, output_for
from motion_transfer.render.scene_video import target_floor
from motion_transfer.render.window import want_window
from motion_transfer.runtime.errors import UserError

log = logging.getLogger(__name__)


def run_live(cfg: DictConfig) -> Path:
    """Transfer from `source` live; print `fps: N`, write live.mp4 and live.json into the run folder,
    return the video's path."""
    from motion_transfer.models.loading import prepare_data_and_model
    from motion_transfer.pose.retarget import check_smoothing
    from motion_transfer.runtime.atomic import write_json_atomically
    from motion_transfer.runtime.config import start_run

    check_smoothing(cfg.smoothing)
    check_causal_smoothing(cfg.smoothing)
    options = OutputOptions.from_config(cfg.output)
    if int(cfg.max_frames) < 0:
        raise UserError(f"max_frames={cfg.max_frames} must be 0 (the whole source) or more.")
    if str(cfg.runtime) not in RUNTIMES:
        raise UserError(f"runtime={cfg.runtime!r} is not known; use one of {', '.join(RUNTIMES)}.")
    synthetic = (int(cfg.synthetic_source_frames), int(cfg.seed) + 1) if cfg.data.kind == "synthetic" else None
    source = open_source(cfg.get("source"), synthetic)
    try:
        out_dir = start_run(cfg)
        datamodule, model = prepare_data_and_model(cfg)
        mapper = LivePoseMapper(target_floor(datamodule), source.fps, cfg.smoothing)
        generator = LiveGenerator(model, str(cfg.runtime), out_dir, int(cfg.threads))
    except BaseException:
        source.close()
        raise
    pipeline = LivePipeline(
        source,
        mapper,
        generator,
        output_for(options, datamodule, model.draws_alpha),
        out_dir / "live.mp4",
        pace=bool(cfg.pace),
        max_frames=int(cfg.max_frames),
        show=want_window(cfg.show),
        preset=options.video_preset,
        person=datamodule.crop_params.person,
    )
    log.info(
        "live: %s at %.2f fps -> %s (%s, runtime=%s)", source.name, source.fps, out_dir, model.model_name, cfg.runtime
    )
    result = pipeline.run()
    summary = result.summary()
    write_json_atomically(out_dir / "live.json", summary)
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
