"""How a job ends on bad input: one line naming the problem, or an ``error.txt`` in a sweep's job folder."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from omegaconf import DictConfig
from omegaconf.errors import InterpolationResolutionError

from headswap.io import atomic_write
from headswap.jobs.runtime import in_multirun

log = logging.getLogger(__name__)


def run_job(run: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """What a script's ``@hydra.main`` calls. A bad input in a single run ends in one line naming it
    (``HYDRA_FULL_ERROR=1`` shows the traceback); in a multirun a failing job writes ``error.txt`` to its
    folder and returns nan, so the other jobs go on and ``compare.py`` lists the failure."""
    try:
        return run(cfg)
    except Exception as raised:
        e = root_cause(raised)
        if in_multirun():
            output_dir = HydraConfig.get().runtime.output_dir
            text = f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}"
            atomic_write(os.path.join(output_dir, "error.txt"), lambda f: f.write(text.encode()))
            log.error("job failed (%s: %s); the sweep goes on", type(e).__name__, e)
            return float("nan")
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not isinstance(e, (ValueError, OSError, ImportError)):
            raise
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
