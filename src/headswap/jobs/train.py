"""The training job: one regime, from the cached pretrained body to the test report (``recipe.py``)."""

from __future__ import annotations

from omegaconf import DictConfig

from headswap.app.checks import check_config
from headswap.app.runtime import configure_runtime
from headswap.run_record import RunRecord
from headswap.training.recipe import train_and_test


def run(cfg: DictConfig) -> RunRecord:
    """Check the config, then train and test; returns what ``metrics.json`` holds."""
    configure_runtime(cfg)
    check_config(cfg)
    return train_and_test(cfg)
