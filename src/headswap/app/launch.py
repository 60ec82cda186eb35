"""How a job ends: one line naming a bad input, an ``error.txt`` in a sweep's job folder, or, when it was
interrupted, the exit code 128 + signal that tells a scheduler it did not finish."""

from __future__ import annotations

import logging
import os
import shutil
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from headswap.app.checks import check_writable
from headswap.app.one_line import exit_code_on_interrupt, fail_in_one_line, is_user_error, root_cause
from headswap.app.runtime import in_multirun
from headswap.io import atomic_write

log = logging.getLogger(__name__)


def run_job(run: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """What a script's ``@hydra.main`` calls. A bad input in a single run ends in one line naming it
    (``HYDRA_FULL_ERROR=1`` shows the traceback); in a multirun a failing job writes ``error.txt`` to its
    folder and returns nan, so the other jobs go on and ``compare.py`` lists the failure. Ctrl-C and
    SIGTERM end the job with exit code 130 and 143."""
    with exit_code_on_interrupt():
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
            if not is_user_error(e):
                raise
            if HydraConfig.initialized():
                remove_if_unused(HydraConfig.get().runtime.output_dir)
            fail_in_one_line(e)


def remove_if_unused(folder: str | Path) -> None:
    """Remove a refused run's folder when it holds nothing but Hydra's record of the command (``.hydra/``,
    the job's ``.log``) and the empty folders the checks made: a refused run leaves nothing behind. A
    folder with anything else in it (a killed run's, resumed in place) is left as it is."""
    root = Path(folder)
    if not root.is_dir():
        return
    for path in root.rglob("*"):
        inside = path.relative_to(root)
        if (
            path.is_file()
            and inside.parts[0] != ".hydra"
            and not (len(inside.parts) == 1 and path.suffix == ".log")
        ):
            return
    shutil.rmtree(root, ignore_errors=True)


class CheckOutputFolder(Callback):
    """Hydra creates the run's (or the sweep's) folder before any job code runs, and fails in a traceback
    when it cannot: check the folder first and end in one line instead."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config.hydra.sweep.dir, "hydra.sweep.dir")

    @staticmethod
    def _check(folder: str, key: str) -> None:
        try:
            check_writable(folder, key)
        except OSError as e:
            fail_in_one_line(e)
