"""The resolvers a config names (``${hf_hidden_size:...}``, ``${package_model_dir:...}``, the folder names'),
in a module of their own: loading a saved run config needs them, and must not import Lightning to get them."""

from __future__ import annotations

from omegaconf import OmegaConf

from headswap.app import job_dirs
from headswap.app.precision import auto_precision
from headswap.model.hf_body import hidden_size, package_model_dir
from headswap.task import minimised


def sweep_direction(monitor: str | None) -> str:
    """What a sweeper does with the figure ``scripts/train.py`` returns (``evaluation.monitor``'s best
    validation value): ``minimize`` a loss, ``maximize`` a score."""
    return "minimize" if minimised(monitor) else "maximize"


def register_resolvers() -> None:
    """``${hf_hidden_size:PATH}`` sizes the pool from a model's config.json before the model loads;
    ``${package_model_dir:PACKAGE}`` finds the model directory an installed package ships; the folder
    names' resolvers (``job_dirs``); ``${auto_precision:ACCELERATOR,BODY_BF16}`` picks bf16 mixed precision
    where the hardware has it (``headswap.app.precision``); ``${sweep_direction:MONITOR}`` the Optuna
    sweeper's direction. A saved run config needs these to load again."""
    job_dirs.register_resolvers()
    resolvers = {
        "hf_hidden_size": hidden_size,
        "package_model_dir": package_model_dir,
        "auto_precision": auto_precision,
        "sweep_direction": sweep_direction,
    }
    for name, resolver in resolvers.items():
        OmegaConf.register_new_resolver(name, resolver, replace=True)
