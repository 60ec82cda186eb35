"""How a command ends: one line ``error: ...`` and exit code 2 for what the user can fix, a traceback for a
bug, and 128 + the signal's number when it was interrupted. Light on purpose (no Lightning): predict,
export and serve end here too."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

from hydra.errors import InstantiationException
from omegaconf.errors import InterpolationResolutionError

from headswap.errors import UserError

ONE_LINE = (UserError, OSError, ModuleNotFoundError)
"""What a user fixes: ``headswap.errors``' own, the operating system's (a missing file, a full disk, a port
in use) and a module that is not installed. Everything else is a bug and keeps its traceback."""

INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


def is_user_error(e: BaseException) -> bool:
    return isinstance(e, ONE_LINE)


def fail_in_one_line(e: BaseException) -> NoReturn:
    """``error: <message>`` and exit code 2; ``HYDRA_FULL_ERROR=1`` re-raises for the traceback."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        raise e
    print(f"error: {e}", file=sys.stderr)
    raise SystemExit(2) from None


def root_cause(e: BaseException) -> BaseException:
    """Hydra wraps an error raised while instantiating a config, OmegaConf one raised by a resolver
    (such as ``body.path``'s checks); the user needs the original one."""
    while True:
        if isinstance(e, InstantiationException) and e.__cause__ is not None:
            e = e.__cause__
        elif isinstance(e, InterpolationResolutionError) and e.__context__ is not None:
            e = e.__context__  # OmegaConf re-raises a resolver's error without ``from``
        else:
            return e


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A user error inside ends the command in one line (exit 2); a bug propagates with its traceback."""
    try:
        yield
    except Exception as raised:
        e = root_cause(raised)
        if not is_user_error(e):
            raise
        fail_in_one_line(e)


@contextmanager
def exit_code_on_interrupt() -> Iterator[None]:
    """End a job that received Ctrl-C or SIGTERM with 128 + the signal's number, as a shell reports it.

    Left alone, Lightning stops training on SIGTERM at its next safe point (checkpoints complete) and then
    exits 0, and turns Ctrl-C into exit 1: a scheduler could not tell either from a finished run. Here the
    signal is recorded, Lightning still stops where it chooses (while a trainer runs it calls this handler
    from its own), and whatever exit follows becomes 128 + signal. Outside a trainer the signal stops the
    job at once; files are written atomically, so nothing is left half-written.
    """
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    received: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if signum == signal.SIGINT or signal.getsignal(signum) is record:  # no trainer wraps this handler
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, record) for s in INTERRUPTS}
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        if not received:
            raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if received:
        code = 128 + received[0]
        print(f"interrupted by {signal.Signals(received[0]).name}: exit {code}", file=sys.stderr)
        raise SystemExit(code)
