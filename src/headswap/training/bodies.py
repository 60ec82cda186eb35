"""The body before the head trains: pre-trained (or loaded from the cache), then, for a regime with
``pairs``, tuned on contrastive pairs.

The cache holds one pre-training per (data, split, tokenizer, body, pre-training config): sweeps over
seeds and regimes start from the same body, so it is pre-trained once, written atomically under a file
lock, and loaded by every later job with the same determinants. Pair tuning is the run's own: it is
never cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from filelock import FileLock
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from headswap.app.runtime import seed_everything
from headswap.data import TableSource
from headswap.io import load_state_dict, save_state_dict, write_json
from headswap.lit import PretrainConfig, TextDataModule, pretrain_quick
from headswap.lit.callbacks import SettingsInCheckpoint
from headswap.lit.pair_tuning import tune_on_pairs
from headswap.model import TransformerBody
from headswap.seeding import mixed_seed

log = logging.getLogger(__name__)

PAIR_STREAM = 7  # mixed into the run's seed: pair tuning's own stream of random draws


PRETRAINING_READS = (
    "_target_",  # which kind of data module: a built-in corpus or a file
    "source",
    "max_len",
    "test_fraction",
    "val_fraction",
    "split_seed",
    *(f.name for f in dataclasses.fields(TableSource) if f.name not in ("path", "labels")),
)
"""The ``data`` settings pre-training reads: the corpus, how texts are cut and split, and a file's own
settings. Listed, not left over: a new setting stays out of the key unless it changes the texts in a way
the training rows (counted themselves) do not show. Where a file lies, its class order, batching and the
classes kept are out: the rows and the source's fingerprint already count what they change."""


def pretrain_key(cfg: DictConfig, datamodule: TextDataModule) -> str:
    """Hash of everything that determines the pretrained body: the training texts, tokenizer, body and
    pre-training settings.

    The training rows count as themselves, so a change in how the split assigns rows never reuses a body
    pre-trained on texts that are now validation or test texts."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    data = {key: data[key] for key in PRETRAINING_READS if key in data}
    body = OmegaConf.to_container(cfg.body.model, resolve=True)
    body["causal"] = (
        True  # pre-training is always causal: a bidirectional fine-tune starts from the same body
    )
    determinants = {
        "source": datamodule.source.fingerprint(),
        "train_rows": hashlib.sha256(str(datamodule.parts["train"].keys.tolist()).encode()).hexdigest(),
        "data": data,
        "tokenizer": OmegaConf.to_container(cfg.body.tokenizer, resolve=True),
        "body": body,
        "pretrain": dataclasses.asdict(instantiate(cfg.pretrain)),
    }
    return hashlib.sha256(json.dumps(determinants, sort_keys=True).encode()).hexdigest()[:16]


def pretrained_body(
    cfg: DictConfig, datamodule: TextDataModule, force: bool = False
) -> tuple[TransformerBody, dict[str, Any]]:
    """Load the cached pretrained body for this config, pre-training it first if it is missing.

    A file lock makes parallel jobs of a sweep wait for one pre-training instead of racing; the
    checkpoint is written atomically, after its metadata, so its presence means it is complete.
    With ``body.lm_pretraining=false`` the body is used as it is built: an HF body arrives pretrained;
    the tiny body starts from random weights (a baseline for what pre-training buys).
    """
    if not cfg.body.lm_pretraining:
        body = instantiate(cfg.body.model)
        return body, {"name": body.name, "path": cfg.body.get("path"), "lm_pretraining": False}
    settings: PretrainConfig = instantiate(cfg.pretrain)
    seed_everything(settings.seed)  # the body's initial weights are part of what pre-training determines
    body = instantiate(cfg.body.model)
    path = Path(cfg.paths.cache_dir) / "bodies" / f"{pretrain_key(cfg, datamodule)}.pt"
    meta = path.with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):
        cached = not force and path.exists() and meta.exists()  # a lost .json: pre-train again
        if cached:
            load_state_dict(body, path)
            info = json.loads(meta.read_text())
        else:
            log.info("pre-training the body (%d epochs) -> %s", settings.epochs, path)
            trainer = body_step_trainer(cfg, settings.epochs)
            started = time.perf_counter()
            stats = pretrain_quick(body, datamodule, trainer, settings)
            seconds = round(time.perf_counter() - started, 2)
            info = {"epochs": settings.epochs, "texts": len(datamodule.parts["train"])}
            info |= {"seconds": seconds, **stats}
            write_json(meta, info)
            save_state_dict(body, path)
    info |= {"cached": cached, "path": str(path)}
    log.info(
        "%s body: validation perplexity %s before pre-training, %s after",
        "cached" if cached else "pre-trained",
        *(figure(info[f"val_perplexity_{when}"], 2) for when in ("before", "after")),
    )
    return body, info


def body_step_trainer(cfg: DictConfig, epochs: int) -> L.Trainer:
    """The trainer of a step on the body before the head's fit (pre-training, pair tuning): the run's
    accelerator and precision, one process, no checkpoints, loggers or callbacks of its own."""
    return instantiate(
        cfg.trainer,
        devices=1,  # a body step runs in one process; under DDP, pre-train with scripts/pretrain.py first
        num_nodes=1,
        strategy="auto",
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,  # its progress bar follows trainer.enable_progress_bar, as fine-tuning's
        callbacks=None,
    )


def figure(value: float | None, digits: int) -> str:
    """A pre-training figure as shown; none without a validation part to measure it on."""
    return "n/a (no validation part)" if value is None else f"{value:.{digits}f}"


def tuned_body(
    cfg: DictConfig, body: nn.Module, datamodule: TextDataModule, checkpoint: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``regime.pairs``: the body learns from contrastive pairs of the training part before the head
    trains (``headswap.lit.pair_tuning``); ``{"pair_tuning": {pairs, steps, params, seconds}}``. Nothing
    (the body untouched) for every regime without pairs. A resumed run does not tune again: its
    ``checkpoint`` holds the tuned body, and the figures of the tuning are carried (``resumed``).

    The draws (pairs, dropout) come from the run's seed mixed with ``PAIR_STREAM``; the recipe seeds again
    after this step, so the head starts from the draws ``regime=head`` makes at that seed."""
    settings = instantiate(cfg.regime).pair_settings
    if settings is None:
        return {}
    done = (checkpoint or {}).get(SettingsInCheckpoint.DONE_KEY, {}).get("pair_tuning")
    if done is not None:
        return {"pair_tuning": {**done, "resumed": True}}
    seed = mixed_seed(cfg.seed, PAIR_STREAM) if cfg.seed is not None else secrets.randbits(31)
    torch.manual_seed(seed)
    started = time.perf_counter()
    trainer = body_step_trainer(cfg, settings.epochs)
    pad_id, texts = datamodule.collate.pad_id, datamodule.parts["train"]
    stats = tune_on_pairs(body, instantiate(cfg.pool), texts, pad_id, settings, trainer, seed)
    return {"pair_tuning": {**stats, "seconds": round(time.perf_counter() - started, 2)}}
