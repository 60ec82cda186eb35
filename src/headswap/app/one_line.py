"""How a bad input ends a command: one line ``error: ...`` and exit code 2. Light on purpose (no Lightning):
predict and export end their errors here too."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from hydra.errors import InstantiationException
from omegaconf.errors import InterpolationResolutionError

BAD_INPUT = (ValueError, OSError, ImportError)  # what a user can fix: ends in one line, exit 2


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
