"""The process a job runs in: torch threads, the warnings we silence knowingly, seeding, Hydra's run mode."""

from __future__ import annotations

import logging
import warnings

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict

from headswap.app import threads
from headswap.app.checks import SEED_RANGE, int_setting


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def overrides() -> list[str]:
    """The command line's overrides of this job (empty outside a Hydra run)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def thread_choice(cfg: DictConfig) -> threads.ThreadChoice:
    """``threads=N`` if set; under a parallel launcher, the CPUs shared among its jobs; else the CPUs other
    work leaves free (``headswap.app.threads``)."""
    setting = int_setting(cfg, "threads", 1, nullable=True) if cfg.get("threads") is not None else None
    jobs = HydraConfig.get().launcher.get("n_jobs") if in_multirun() else None
    return threads.choose(setting, jobs)


def configure_runtime(cfg: DictConfig) -> threads.ThreadChoice:
    """Threads for this job (``thread_choice``), a valid seed, and warnings we silence knowingly. Returns
    the threads chosen, and why, for the settings line."""
    int_setting(cfg, "seed", *SEED_RANGE, nullable=True)
    choice = threads.use(thread_choice(cfg))
    with open_dict(cfg):
        cfg.threads_chosen = f"{choice.threads} ({choice.why})"  # what the settings line prints
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
    return choice


def seed_everything(seed: int | None) -> None:
    """Seed Python, NumPy and torch; ``seed=0`` is a seed like any other (only ``null`` skips)."""
    if seed is not None:
        L.seed_everything(int(seed), workers=True, verbose=False)
