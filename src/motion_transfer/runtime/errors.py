"""User-facing errors: one sentence on stderr and a documented exit status, no traceback."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TypeVar

#: Exit status for a user's mistake (bad path, bad option, unusable video). A crash exits with 1.
USER_ERROR_EXIT = 2
#: Exit status after Ctrl-C, as shells report SIGINT.
INTERRUPTED_EXIT = 130
#: Exit status after SIGTERM (what schedulers and container stops send), as shells report it.
TERMINATED_EXIT = 128 + 15
#: Set to 1 to get the full Python traceback instead of the one-sentence message.
DEBUG_ENV = "MOTION_TRANSFER_DEBUG"


class UserError(Exception):
    """A mistake the user can fix; the message names the file or option and says what to do."""


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM): handled as Ctrl-C is (signals.py)."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def terminate_like_interrupt() -> None:
    """From now on SIGTERM raises `Terminated` in the main thread (signals.py: during training it
    stops the run after the current batch instead)."""
    import signal

    signal.signal(signal.SIGTERM, _raise_terminated)


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0", "false")


T = TypeVar("T")


def user_message(err: BaseException) -> str | None:
    """The one-sentence message if `err` is a user's mistake, else None (a crash).

    Hydra's instantiate wraps errors raised while building an object; the cause is what counts.
    A missing mandatory config value (`???`) is a user's mistake too.
    """
    from omegaconf.errors import MissingMandatoryValue

    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, UserError):
            return str(err)
        if isinstance(err, MissingMandatoryValue):
            key = getattr(err, "full_key", None) or "a required option"
            return f"{key} is required: set it on the command line, e.g. {key}=..."
        if type(err).__name__ == "InstantiationException" and isinstance(err.__cause__, ValueError):
            return str(err.__cause__)
        err = err.__cause__ or err.__context__
    return None


def report_user_errors(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn a UserError raised by `fn` into one line on stderr and exit status USER_ERROR_EXIT."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - only user mistakes are caught, the rest re-raised
            message = user_message(err)
            if message is None or debug_enabled():
                raise
            print(f"error: {message}", file=sys.stderr, flush=True)
            sys.exit(USER_ERROR_EXIT)
        except KeyboardInterrupt as interrupt:
            if debug_enabled():
                raise
            terminated = isinstance(interrupt, Terminated)
            print("terminated." if terminated else "interrupted.", file=sys.stderr, flush=True)
            sys.exit(TERMINATED_EXIT if terminated else INTERRUPTED_EXIT)

    return wrapper
