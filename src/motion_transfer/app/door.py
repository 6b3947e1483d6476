"""Who may open the page and which files it hands out.

On a loopback address only this machine reaches the page. Any other address (0.0.0.0, a LAN
address) reaches the network, so the page asks for a password there and will not start without
one: it comes from an environment variable or a file the user names, never from the configs.
Whatever the address, the page serves only its job folders and Gradio's copies of uploads and
results; caches (every frame of every person filmed), checkpoints, the runs of other commands
and their logs are refused, even where Gradio would take the working directory.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from motion_transfer.runtime.config import CONFIG_DIR
from motion_transfer.runtime.errors import UserError

#: Shorter passwords are refused: a page on a network is tried by guessing.
MIN_PASSWORD_LENGTH = 8


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) reaches only this machine."""
    name = host.strip("[]")
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, None)
    except OSError:
        return False  # unresolvable: check_listening refuses it with its own sentence
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


@dataclass(frozen=True)
class Credentials:
    """The page's login: a user name and the password it was given."""

    user: str
    password: str
    origin: str  # where the password came from, for messages

    def check(self, user: str, password: str) -> bool:
        """Gradio's auth callable: both compared in constant time."""
        same_user = secrets.compare_digest(user.encode(), self.user.encode())
        same_password = secrets.compare_digest(password.encode(), self.password.encode())
        return same_user and same_password


def read_password(password_env: str, password_file: str | None) -> tuple[str, str] | None:
    """(password, where it came from): password_file's first line when named, else the environment
    variable `password_env`; None when neither gives one."""
    if password_file:
        path = Path(password_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = getattr(err, "strerror", None) or "not a text file"
            raise UserError(
                f"password_file={password_file} cannot be read ({reason.lower()}); name a file holding the password."
            ) from err
        password = text.splitlines()[0].strip() if text.strip() else ""
        if not password:
            raise UserError(f"password_file={password_file} is empty; write the page's password on its first line.")
        return password, f"password_file={password_file}"
    password = os.environ.get(password_env, "").strip() if password_env else ""
    return (password, f"the environment variable {password_env}") if password else None


def credentials_for(host: str, user: str, password_env: str, password_file: str | None) -> Credentials | None:
    """The login the page asks for: required beyond loopback, used on loopback when one is given."""
    found = read_password(password_env, password_file)
    if found is None:
        if is_loopback(host):
            return None
        raise UserError(
            f"server_name={host} opens the page to the network, so it needs a password: set the environment "
            f"variable {password_env or 'MOTION_TRANSFER_PASSWORD'} or pass password_file=<a file holding it> "
            "(or use server_name=127.0.0.1 for this machine only)."
        )
    password, origin = found
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"The page's password (from {origin}) is shorter than {MIN_PASSWORD_LENGTH} characters; "
            "choose a longer one."
        )
    if not user.strip():
        raise UserError("auth_user is empty; name the user the page's login asks for, e.g. auth_user=motion.")
    return Credentials(user.strip(), password, origin)


def served_paths(jobs_dir: Path) -> list[str]:
    """Gradio's allowed_paths: the job folders only (uploads copied there, results written there)."""
    return [str(jobs_dir)]


def blocked_paths(output_dir: Path, app_dir: Path, cache_dir: Path, train_dir: Path) -> list[str]:
    """Gradio's blocked_paths (stronger than its allowed ones and its working directory): caches,
    checkpoints, and every command's run folders under output_dir (those there now, and those of
    every entry point's config, made later)."""
    output_dir, app_dir = Path(output_dir).resolve(), Path(app_dir).resolve()
    folders = {Path(cache_dir).resolve(), Path(train_dir).resolve()}
    folders |= {output_dir / config.stem for config in CONFIG_DIR.glob("*.yaml")}
    if output_dir.is_dir():
        folders |= {child.resolve() for child in output_dir.iterdir()}
    # The page's own folder, and the folders holding it, stay servable.
    kept = {app_dir, *app_dir.parents}
    return sorted(str(folder) for folder in folders if folder not in kept and not app_dir.is_relative_to(folder))
