"""The fine-tuning recipe, top to bottom: pretrained body -> head swap -> fine-tune -> test -> report.

``train_and_test`` is what ``scripts/train.py`` runs for one config and what the demo runs for each of
its regimes; the helpers below it are the recipe's steps.
"""

from __future__ import annotations

import os
import time
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.callbacks.early_stopping import EarlyStoppingReason
from omegaconf import DictConfig, OmegaConf, open_dict

from headswap.app.runtime import overrides, seed_everything
from headswap.confusion import write_confusion_files
from headswap.io import safe_load
from headswap.lit import CostMonitor, HeadSwapClassifier, TextDataModule
from headswap.lit.callbacks import SettingsInCheckpoint
from headswap.lit.metrics import (
    check_monitor,
    choose_threshold,
    class_scores,
    default_monitor,
    scores_at,
)
from headswap.mistakes import read_mistakes
from headswap.model.regime import trains
from headswap.report import MISTAKES_SHOWN, print_report
from headswap.run_record import FORMAT_VERSION, RunRecord, monitor_mode, read_run_record, write_run_record
from headswap.training.announce import announce
from headswap.training.bodies import pretrained_body
from headswap.training.build import build_datamodule, instantiate_all
from headswap.training.evaluation import Predictions, predict_split, predict_test_split, write_test_outputs
from headswap.training.resume import checked_resume, resume_checkpoint, training_settings


def train_and_test(cfg: DictConfig) -> RunRecord:
    """Train and test one regime; write ``metrics.json`` to the run's output directory and return it.

    The process that writes it reports and returns what reads back from the file, so the report shows
    what every later reader will see.
    """
    started = time.time()
    datamodule = build_datamodule(cfg)
    monitor = select_by(cfg, datamodule.num_classes)  # a metric no run logs fails here, before any training
    announce(cfg, datamodule)
    settings = training_settings(cfg, datamodule)
    checkpoint = checked_resume(cfg.get("ckpt_path"), settings)  # before a body is pre-trained or loaded
    body, pretrain_info = pretrained_body(cfg, datamodule)
    seed_everything(cfg.seed)  # after pre-training: a cached and a fresh body give the same run
    model: HeadSwapClassifier = instantiate(
        cfg.model,
        body=body,
        class_weights=class_weights(cfg.model.class_weights, datamodule),
        num_classes=datamodule.num_classes,
    )

    callbacks = [*instantiate_all(cfg.get("callbacks")), SettingsInCheckpoint(settings)]
    resume = resume_checkpoint(cfg.get("ckpt_path"), checkpoint, model, callbacks)
    loggers = instantiate_all(cfg.get("logger"))
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    trainer.fit(model, datamodule=datamodule, ckpt_path=resume)
    early_stopping = early_stopping_record(trainer)  # now: loading the best checkpoint restores its state

    best = "best" if trainer.checkpoint_callback and trainer.checkpoint_callback.best_model_path else None
    val = trainer.validate(model, datamodule=datamodule, ckpt_path=best, verbose=False)[0]
    test = trainer.test(model, datamodule=datamodule, ckpt_path=best, verbose=False)[0]
    calibrate = cfg.evaluation.calibrate
    tune = cfg.evaluation.tune_threshold and datamodule.num_classes == 2  # a threshold is a two-class notion
    validation = predict_split(model, datamodule, "val") if calibrate or tune else None  # one pass, both uses
    predictions = predict_test_split(model, datamodule, validation if calibrate else None)

    result = assemble_result(cfg, model, trainer, datamodule, val, test, predictions, pretrain_info)
    result["test"].update(predictions.figures())
    result["calibration"] = predictions.calibration()
    result["early_stopping"] = early_stopping
    result["monitor"] = monitor
    if tune:
        result["test_at_val_threshold"] = at_validation_threshold(validation, predictions)
    result["time"] = {"started": started, "finished": time.time(), "pid": os.getpid()}
    if trainer.is_global_zero:  # under DDP every process runs this job; one reports
        write_test_outputs(cfg.paths.output_dir, predictions, datamodule)
        write_confusion_files(cfg.paths.output_dir, result)
        result = read_run_record(write_run_record(cfg.paths.output_dir, result))  # metrics.json comes last
        print_report(result, read_mistakes(cfg.paths.output_dir, limit=MISTAKES_SHOWN))
    return result


def select_by(cfg: DictConfig, num_classes: int) -> str:
    """``evaluation.monitor`` (null: the default for ``num_classes``), checked against what validation
    logs, and set on every callback that watches a metric (the checkpoint that keeps the best epoch,
    early stopping), so that the one setting decides them all."""
    monitor = check_monitor(
        OmegaConf.select(cfg, "evaluation.monitor") or default_monitor(num_classes), num_classes
    )
    with open_dict(cfg):
        for callback in (cfg.get("callbacks") or {}).values():
            if isinstance(callback, DictConfig) and "monitor" in callback:
                callback.monitor = monitor
                if "mode" in callback:
                    callback.mode = monitor_mode(monitor)
    return monitor


def class_weights(setting: Any, datamodule: TextDataModule) -> list[float] | None:
    """``model.class_weights``: null, one weight per class ([negative, positive] for two), or ``balanced``
    (n / (N n_class), on train)."""
    if setting is None:
        return None
    n = datamodule.num_classes
    if setting == "balanced":
        counts = torch.bincount(datamodule.parts["train"].labels, minlength=n).tolist()
        return [sum(counts) / (n * c) for c in counts]
    try:
        weights = [float(w) for w in setting]
    except (TypeError, ValueError):
        weights = []
    if len(weights) != n or min(weights) <= 0:
        raise ValueError(
            f"model.class_weights={setting} must be null, balanced or {n} positive numbers (one per class)"
        )
    return weights


def at_validation_threshold(validation: Predictions, test: Predictions) -> dict[str, Any]:
    """Test figures at the threshold that maximises validation F1: chosen on validation, applied to the
    test predictions the run already made."""
    threshold = choose_threshold(validation.raw[:, 1], validation.labels)
    return scores_at(test.raw[:, 1], test.labels, threshold)


def _strip(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {k.removeprefix(prefix): round(float(v), 6) for k, v in metrics.items() if k.startswith(prefix)}


def _best_epoch(trainer: L.Trainer) -> int | None:
    """The epoch stored in the best checkpoint."""
    ckpt = trainer.checkpoint_callback
    if not isinstance(ckpt, ModelCheckpoint) or not ckpt.best_model_path:
        return None
    return int(safe_load(ckpt.best_model_path)["epoch"])


def early_stopping_record(trainer: L.Trainer) -> dict[str, Any] | None:
    """``callbacks.early_stopping`` as it ran: None when not configured."""
    stopper = trainer.early_stopping_callback
    if stopper is None:
        return None
    stopped = stopper.stopping_reason != EarlyStoppingReason.NOT_STOPPED
    return {
        "monitor": stopper.monitor,
        "patience": stopper.patience,
        "stopped_epoch": stopper.stopped_epoch if stopped else None,
    }


def assemble_result(
    cfg: DictConfig,
    model: HeadSwapClassifier,
    trainer: L.Trainer,
    datamodule: TextDataModule,
    val: dict[str, float],
    test: dict[str, float],
    predictions: Predictions,
    pretrain_info: dict[str, Any],
) -> dict[str, Any]:
    trainable, total = model.parameter_counts()
    cost = next((c for c in trainer.callbacks if isinstance(c, CostMonitor)), None)
    # a body from the cache, or one that arrived pretrained, cost this run no pre-training
    pretrain_seconds = 0.0 if pretrain_info.get("cached", True) else pretrain_info["seconds"]
    return {
        "format_version": FORMAT_VERSION,
        "body": model.body.name,
        "regime": model.regime.name,
        "pool": model.pool.name,
        "schedule": model.schedule_name,
        "seed": cfg.seed,
        "overrides": overrides(),
        "labels": list(datamodule.label_names),
        "test": _strip(test, "test/"),
        "best_val": {**_strip(val, "val/"), "epoch": _best_epoch(trainer)},
        "confusion_matrix": model.confusion,
        "per_class": class_scores(
            model.metric_input(predictions.raw), predictions.labels, datamodule.label_names
        ),
        "params": {
            "trainable": trainable,
            "total": total,
            "body_trainable_parts": [  # at the end of training: gradual unfreezing may have added parts
                name for name, part in model.body.parts().items() if trains(part)
            ],
        },
        "cost": (
            {**cost.summary(model), "pretrain_seconds": pretrain_seconds, "precision": str(trainer.precision)}
            if cost
            else {}
        ),
        "data": datamodule.stats,
        "pretrained_body": pretrain_info,
        "output_dir": str(cfg.paths.output_dir),
    }
