"""The process a job runs in: torch threads, the warnings we silence knowingly, seeding, Hydra's run mode."""

from __future__ import annotations

import logging
import os
import warnings

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from headswap.app.checks import SEED_RANGE, int_setting


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def overrides() -> list[str]:
    """The command line's overrides of this job (empty outside a Hydra run)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def threads_per_job(cfg: DictConfig) -> int | None:
    """``threads`` if set; under a parallel launcher, cores shared among its jobs; else torch's."""
    if cfg.get("threads") is not None:
        return int_setting(cfg, "threads", 1, nullable=True)
    if not in_multirun():
        return None
    n_jobs = HydraConfig.get().launcher.get("n_jobs")
    if n_jobs is None:
        return None
    cores = os.cpu_count() or 1
    return max(1, cores // (cores if n_jobs < 1 else n_jobs))


def configure_runtime(cfg: DictConfig) -> None:
    """Threads per process (so parallel jobs do not oversubscribe cores), a valid seed, and warnings we
    silence knowingly."""
    int_setting(cfg, "seed", *SEED_RANGE, nullable=True)
    threads = threads_per_job(cfg)
    if threads is not None:
        torch.set_num_threads(threads)
    # The data is a few thousand pre-tokenized tensors: worker processes would cost more than they save.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # Tiny validation sets give batches smaller than the batch size; the count is passed explicitly.
    warnings.filterwarnings("ignore", message=r".*Trying to infer the `batch_size`.*")
    # Frozen body parts run in eval mode on purpose (no dropout, cacheable features).
    warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode at the start of training.*")
    # Raised inside Lightning 2.6 on torch >= 2.10; nothing in this project to change.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # Lightning's info lines (GPU/TPU available, a litlogger tip, checkpoint restores) on every Trainer;
    # its warnings go through the same logger at WARNING and still show.
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)


def seed_everything(seed: int | None) -> None:
    """Seed Python, NumPy and torch; ``seed=0`` is a seed like any other (only ``null`` skips)."""
    if seed is not None:
        L.seed_everything(int(seed), workers=True, verbose=False)
