"""The web page's options (configs/app.yaml) checked before anything is served: the address it
listens on, its limits, the folders it reads and writes, the models its tabs open with."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from motion_transfer.app.door import Credentials, credentials_for
from motion_transfer.app.jobs import override
from motion_transfer.models.kinds import model_names
from motion_transfer.runtime.errors import UserError


def _model_choice(cfg: DictConfig, key: str, allowed: tuple[str, ...], what: str) -> str:
    """The model named by option `key`, refused in one sentence unless it is one of `allowed`."""
    name = str(cfg.get(key) or "")
    if name not in allowed:
        raise UserError(f"{key}={name or 'null'} is not {what}; use one of {', '.join(allowed)}.")
    return name


@dataclass(frozen=True)
class AppSettings:
    """configs/app.yaml, checked."""

    server_name: str
    server_port: int
    max_upload_mb: float
    max_jobs: int
    clip_folders: tuple[Path, ...]
    app_dir: Path
    output_dir: Path
    cache_dir: Path
    train_dir: Path
    demo_overrides: tuple[str, ...]
    transfer_model: str
    train_model: str
    max_queued: int = 20
    credentials: Credentials | None = None
    live_fps: float = 10.0
    live_stall_s: float = 2.0
    live_overrides: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: DictConfig) -> AppSettings:
        def number(key: str, kind: type, low: float, high: float | None = None):
            value = cfg.get(key)
            try:
                number = kind(value)
                if kind is int and number != float(value):
                    raise ValueError
            except (TypeError, ValueError):
                number = None
            if number is None or number < low or (high is not None and number > high):
                limit = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise UserError(f"{key}={value} must be a number {limit}.")
            return number

        host = str(cfg.get("server_name") or "").strip()
        if not host:
            raise UserError("server_name is empty; use 127.0.0.1 (this machine only) or 0.0.0.0 (the network).")
        extra = cfg.get("demo_overrides") or []
        if not OmegaConf.is_list(extra) and not isinstance(extra, list | tuple):
            raise UserError(
                "demo_overrides must be a list of key=value overrides, e.g. \"demo_overrides=['output.max_side=720']\"."
            )
        return cls(
            server_name=host,
            server_port=number("server_port", int, 1, 65535),
            max_upload_mb=number("max_upload_mb", float, 0.001),
            max_jobs=number("max_jobs", int, 1),
            clip_folders=tuple(Path(str(p)).expanduser() for p in cfg.get("clip_folders") or []),
            app_dir=Path(str(cfg.app_dir)).expanduser().resolve(),
            output_dir=Path(str(cfg.paths.output_dir)).expanduser().resolve(),
            cache_dir=Path(str(cfg.paths.cache_dir)).expanduser().resolve(),
            train_dir=Path(str(cfg.paths.train_dir)).expanduser().resolve(),
            demo_overrides=tuple(str(o) for o in extra),
            transfer_model=_model_choice(cfg, "transfer_model", model_names(), "a model"),
            train_model=_model_choice(cfg, "train_model", model_names(learns=True), "a model that trains"),
            max_queued=number("max_queued", int, 1),
            live_fps=number("live_fps", float, 1, 60),
            live_stall_s=number("live_stall_timeout_s", float, 0.1),
            live_overrides=tuple(str(o) for o in cfg.get("live_overrides") or []),
            credentials=credentials_for(
                host,
                str(cfg.get("auth_user") or ""),
                str(cfg.get("password_env") or ""),
                str(cfg.password_file) if cfg.get("password_file") else None,
            ),
        )

    @property
    def jobs_dir(self) -> Path:
        return self.app_dir / "jobs"

    @property
    def evaluate_dir(self) -> Path:
        return self.output_dir / "evaluate"

    @property
    def report_dir(self) -> Path:
        return self.output_dir / "report"

    def paths_overrides(self) -> list[str]:
        """The page's paths for every job it runs: its results land where the page looks for them."""
        return [
            override("paths.output_dir", self.output_dir),
            override("paths.cache_dir", self.cache_dir),
            override("paths.train_dir", self.train_dir),
        ]


def check_listening(host: str, port: int) -> None:
    """Refuse, with one sentence, an address the server could not listen on (Gradio would print a traceback)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as err:
        reason = err.strerror or str(err)
        raise UserError(
            f"cannot listen on {host}:{port} ({reason.lower()}); pass another server_port= (or server_name=)."
        ) from err
