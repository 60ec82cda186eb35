"""Config checks that need more than one setting, run before any data is read or model trained."""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig

from headswap.model.regime import resolve_parts


def check_config(cfg: DictConfig) -> None:
    """Build the cheap parts once so a bad value stops the job before any data loading or training.

    Single values are checked where they are defined (the dataclasses' ``__post_init__``); this adds
    the checks across settings.
    """
    regime = instantiate(cfg.regime)
    body = instantiate(cfg.body.model)
    pool = instantiate(cfg.pool)
    instantiate(cfg.pretrain)
    for stage in regime.unfreeze:  # a typo in a late stage must not end a run halfway
        resolve_parts(body.parts(), stage["parts"])
    if pool.name == "cls" and body.causal:
        raise ValueError(
            "pool=cls reads the first token, which a causal body lets see only itself: "
            "set body.model.causal=false, or choose pool=lasttoken"
        )
    if cfg.data.max_len > body.max_len:
        raise ValueError(
            f"data.max_len={cfg.data.max_len} exceeds the body's position table ({body.max_len} tokens): "
            "lower data.max_len or enlarge the body"
        )
