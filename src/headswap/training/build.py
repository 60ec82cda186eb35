"""Objects built from the composed config: the data module and groups of ``_target_`` entries."""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from headswap.lit import TextDataModule


def build_datamodule(cfg: DictConfig) -> TextDataModule:
    """The body's tokenizer feeds the data module, so a body choice brings its own tokenizer along."""
    tokenizer = instantiate(cfg.body.tokenizer)
    datamodule = instantiate(cfg.data, tokenizer=tokenizer, shuffle_seed=cfg.get("seed"))
    datamodule.setup()
    return datamodule


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """A config group of several ``_target_`` entries (callbacks, loggers) -> their instances."""
    return [instantiate(node) for node in (group or {}).values() if node is not None and "_target_" in node]
