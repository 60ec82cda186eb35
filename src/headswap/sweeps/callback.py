"""Hydra callback: the last thing a multirun prints is the comparison of its jobs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from headswap.errors import UserError
from headswap.sweeps.comparison import compare_and_report

log = logging.getLogger(__name__)


class CompareOnMultirunEnd(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            compare_and_report(sweep_dir)
        except (UserError, OSError) as e:  # a report problem must not hide the jobs' own results
            log.error("comparison of %s failed: %s", sweep_dir, e)
