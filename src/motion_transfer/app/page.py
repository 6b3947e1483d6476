"""The web page (`make app`): pick or upload a target and a source clip, a model and a trained
run, and watch the transfer; compare the runs of a target in its report; train a model for a
time budget. This module serves it (`run_app`); `layout` lays it out, `actions` holds what its
lists and buttons do, `commands` the command lines of its jobs, `settings` its checked options.

Every job runs an entry point (src/demo.py, report.py, train.py, evaluate.py) in a process of its own
(jobs.EntryPointJob), so a failing job shows its `error:` line in the page and never stops
the server. Everything the page writes stays under paths.output_dir: a folder per job with an
unguessable name (`app/jobs/<job>/`: its uploads, its demo's run folder), Gradio's temporary files
in `app/gradio/`; nothing is fetched from the internet and no share link is made. Beyond loopback
the page asks for a login, and whatever the address it serves only those folders (`door`).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from omegaconf import DictConfig

from motion_transfer.app.actions import PageActions
from motion_transfer.app.door import blocked_paths, is_loopback, served_paths
from motion_transfer.app.layout import build_page
from motion_transfer.app.settings import AppSettings, check_listening

log = logging.getLogger(__name__)


def prepare_gradio_environment(app_dir: Path) -> None:
    """Before gradio is imported: its temporary files under outputs/, no analytics or version check."""
    temp = app_dir / "gradio"
    temp.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(temp)
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(temp / "examples")  # served as Gradio's own files: kept with them
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def launch_page(settings: AppSettings, actions: PageActions):
    """Build the page for `actions` and serve it in the background (Gradio's threads); returns its
    gr.Blocks. Jobs beyond max_jobs wait in Gradio's queue, their place shown on the page; beyond
    max_queued waiting, one more is refused with Gradio's "queue is full" message."""
    import gradio as gr

    blocks = build_page(actions)
    blocks.queue(default_concurrency_limit=settings.max_jobs, max_size=settings.max_queued)
    # System fonts only: the default theme would ask Google Fonts for its typeface.
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )
    blocks.launch(
        server_name=settings.server_name,
        server_port=settings.server_port,
        share=False,
        prevent_thread_lock=True,
        quiet=True,
        auth=settings.credentials.check if settings.credentials else None,
        auth_message="The motion transfer page: log in with the user and password its server was started with.",
        allowed_paths=served_paths(settings.jobs_dir),
        blocked_paths=blocked_paths(settings.output_dir, settings.app_dir, settings.cache_dir, settings.train_dir),
        max_file_size=int(settings.max_upload_mb * 1e6),
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        enable_monitoring=False,
        run_history=False,  # its page offers to save runs to a Hugging Face bucket
        footer_links=["api", "settings"],
        theme=theme,
    )
    return blocks


def run_app(cfg: DictConfig) -> str:
    """Serve the page until Ctrl-C or SIGTERM; prints `url: <address>` once it listens."""
    settings = AppSettings.from_config(cfg)
    check_listening(settings.server_name, settings.server_port)
    prepare_gradio_environment(settings.app_dir)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's requests to itself, one line each
    actions = PageActions(settings)
    blocks = launch_page(settings, actions)
    shown = "127.0.0.1" if settings.server_name in ("0.0.0.0", "::") else settings.server_name
    url = f"http://{shown}:{settings.server_port}"
    if not is_loopback(settings.server_name):
        log.warning(
            "listening beyond this machine on port %d, behind a login (user %s, password from %s); "
            "the password crosses the network unencrypted",
            settings.server_port,
            settings.credentials.user,
            settings.credentials.origin,
        )
    print(f"url: {url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:  # Ctrl-C or SIGTERM: the jobs in progress stop too (they keep what they finished)
        actions.jobs.stop_all()
        actions.live.stop()
        blocks.close()
    return url
