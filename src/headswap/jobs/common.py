"""What every job does first: runtime settings, the data module, and the shared pretrained body."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from filelock import FileLock
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from headswap.io import atomic_write, load_state_dict, save_state_dict, write_json
from headswap.lit import SMSDataModule, pretrain_quick
from headswap.model import TransformerBody
from headswap.model.regime import resolve_parts

log = logging.getLogger(__name__)


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def threads_per_job(cfg: DictConfig) -> int | None:
    """``threads`` if set; under a parallel launcher, the cores shared out among its jobs; else torch's default."""
    if cfg.get("threads") is not None:
        return int(cfg.threads)
    if not in_multirun():
        return None
    n_jobs = HydraConfig.get().launcher.get("n_jobs")
    if n_jobs is None:
        return None
    cores = os.cpu_count() or 1
    return max(1, cores // (cores if n_jobs < 1 else n_jobs))


def configure_runtime(cfg: DictConfig) -> None:
    """Threads per process (so parallel jobs do not oversubscribe cores) and warnings we silence knowingly."""
    threads = threads_per_job(cfg)
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads={threads} must be >= 1 (or null for torch's default)")
        torch.set_num_threads(threads)
    # The data is a few thousand pre-tokenized tensors: worker processes would cost more than they save.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # Tiny validation sets give batches smaller than the batch size; the count is passed explicitly.
    warnings.filterwarnings("ignore", message=r".*Trying to infer the `batch_size`.*")
    # Raised inside Lightning 2.6 on torch >= 2.10; nothing in this project to change.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


def seed_everything(seed: int | None) -> None:
    """Seed Python, NumPy and torch; ``seed=0`` is a seed like any other (only ``null`` skips)."""
    if seed is not None:
        L.seed_everything(int(seed), workers=True, verbose=False)


def build_datamodule(cfg: DictConfig) -> SMSDataModule:
    """The body's tokenizer feeds the data module, so a body choice brings its own tokenizer along."""
    tokenizer = instantiate(cfg.body.tokenizer)
    datamodule = instantiate(cfg.data, tokenizer=tokenizer, shuffle_seed=cfg.get("seed"))
    datamodule.setup()
    return datamodule


def pretrain_key(cfg: DictConfig, datamodule: SMSDataModule) -> str:
    """Hash of everything that determines the pretrained body: data, split, tokenizer, body, pre-training."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    data.pop("batch_size", None)  # fine-tuning batch size; pre-training has its own
    data.pop("path", None)  # a file's contents count (the source's fingerprint), not where it lies
    body = OmegaConf.to_container(cfg.body.model, resolve=True)
    body["causal"] = True  # pre-training is always causal: a bidirectional fine-tune starts from the same body
    determinants = {
        "source": datamodule.source.fingerprint(),
        "data": data,
        "tokenizer": OmegaConf.to_container(cfg.body.tokenizer, resolve=True),
        "body": body,
        "pretrain": OmegaConf.to_container(cfg.pretrain, resolve=True),
    }
    return hashlib.sha256(json.dumps(determinants, sort_keys=True).encode()).hexdigest()[:16]


def pretrained_body(cfg: DictConfig, datamodule: SMSDataModule, force: bool = False) -> tuple[TransformerBody, dict[str, Any]]:
    """Load the cached pretrained body for this config, pre-training it first if it is missing.

    A file lock makes parallel jobs of a sweep wait for one pre-training instead of racing; the
    checkpoint is written atomically, after its metadata, so its presence means it is complete.
    """
    seed_everything(cfg.pretrain.seed)  # the body's initial weights are part of what pre-training determines
    body = instantiate(cfg.body.model)
    path = Path(cfg.paths.cache_dir) / "bodies" / f"{pretrain_key(cfg, datamodule)}.pt"
    meta = path.with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):
        if force or not path.exists():
            log.info("pre-training the body (%d epochs) -> %s", cfg.pretrain.epochs, path)
            info = run_pretraining(cfg, datamodule, body)
            write_json(meta, info)
            save_state_dict(body, path)
            info["cached"] = False
        else:
            load_state_dict(body, path)
            info = json.loads(meta.read_text())
            info["cached"] = True
    info["path"] = str(path)
    return body, info


def run_pretraining(cfg: DictConfig, datamodule: SMSDataModule, body: TransformerBody) -> dict[str, Any]:
    trainer = instantiate(
        cfg.trainer,
        devices=1,  # pre-training runs in one process; under DDP, run scripts/pretrain.py first
        num_nodes=1,
        strategy="auto",
        max_epochs=cfg.pretrain.epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        callbacks=None,
    )
    stats = pretrain_quick(
        body,
        datamodule,
        trainer,
        lr=cfg.pretrain.lr,
        weight_decay=cfg.pretrain.weight_decay,
        cosine=cfg.pretrain.cosine,
        batch_size=cfg.pretrain.batch_size,
        seed=cfg.pretrain.seed,
    )
    return {"epochs": cfg.pretrain.epochs, "texts": len(datamodule.parts["train"]), **stats}


def main(run: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
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
    """Hydra wraps an error raised while instantiating a config; the user needs the original one."""
    while isinstance(e, InstantiationException) and e.__cause__ is not None:
        e = e.__cause__
    return e


def check_config(cfg: DictConfig) -> None:
    """Build the cheap parts once so a bad value stops the job before any data loading or training."""
    regime = instantiate(cfg.regime)
    body = instantiate(cfg.body.model)
    pool = instantiate(cfg.pool)
    for stage in regime.unfreeze:  # a typo in a late stage must not end a run halfway
        resolve_parts(body.parameter_groups(), stage["parts"])
    if pool.name == "cls" and body.cfg.causal:
        raise ValueError(
            "pool=cls reads the first token, which a causal body lets see only itself: "
            "set body.model.causal=false, or choose pool=lasttoken"
        )
    if cfg.data.max_len > body.cfg.max_len:
        raise ValueError(
            f"data.max_len={cfg.data.max_len} exceeds body.model.max_len={body.cfg.max_len}, "
            "the body's position table: lower data.max_len or enlarge the body"
        )
