"""The fine-tuning recipe, top to bottom: pretrained body -> head swap -> fine-tune -> evaluate -> record.

``train_and_test`` is what ``scripts/train.py`` runs for one config and what the demo runs for each of
its regimes; the functions below it are its steps, in order.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks.early_stopping import EarlyStoppingReason
from omegaconf import DictConfig, OmegaConf, open_dict

from headswap.app.checks import positive_numbers
from headswap.app.runtime import overrides, seed_everything
from headswap.confusion import write_confusion_files
from headswap.data.config import validates
from headswap.errors import ConfigError
from headswap.io import atomic_write
from headswap.lit import CostMonitor, HeadSwapClassifier, TextDataModule
from headswap.lit.callbacks import SettingsInCheckpoint, reset_peak_rss
from headswap.mistakes import read_mistakes
from headswap.model.regime import trains
from headswap.report import MISTAKES_SHOWN, print_report
from headswap.run_record import FORMAT_VERSION, RunRecord, read_run_record, write_run_record
from headswap.scoring import rounded
from headswap.task import Task, minimised
from headswap.training.announce import announce
from headswap.training.bodies import pretrained_body, tuned_body
from headswap.training.build import build_datamodule, instantiate_all
from headswap.training.evaluation import Evaluation, evaluate, write_test_outputs
from headswap.training.resume import checked_resume, resume_checkpoint, training_settings


def train_and_test(cfg: DictConfig) -> RunRecord:
    """Train and test one regime; write ``metrics.json`` to the run's output directory and return it.

    The process that writes it reports and returns what reads back from the file, so the report shows
    what every later reader will see.
    """
    started = time.time()
    reset_peak_rss()  # a sweep runs its jobs in one process: each reports its own peak memory
    datamodule = build_datamodule(cfg)
    task = datamodule.task
    monitor = select_by(cfg, task)  # a metric no run logs fails here, before any training
    check_full_batch(cfg, datamodule)
    save_config_as_run(cfg)
    announce(cfg, datamodule)
    weights = class_weights(cfg.model.class_weights, datamodule)  # known once the classes are
    settings = training_settings(cfg, datamodule)
    checkpoint = checked_resume(cfg.get("ckpt_path"), settings)  # before a body is pre-trained or loaded
    body, pretrain_info = pretrained_body(cfg, datamodule)
    pretrain_info |= tuned_body(cfg, body, datamodule, checkpoint)  # regime.pairs: SetFit's step
    seed_everything(cfg.seed)  # after pre-training: a cached and a fresh body give the same run
    model: HeadSwapClassifier = instantiate(cfg.model, body=body, task=task, class_weights=weights)
    done_before = {k: v for k, v in pretrain_info.items() if k == "pair_tuning"}  # what a resume skips
    trainer, resume = build_trainer(cfg, model, SettingsInCheckpoint(settings, done_before), checkpoint)
    trainer.fit(model, datamodule=datamodule, ckpt_path=resume)
    early_stopping = early_stopping_record(trainer)  # now: loading the best checkpoint restores its state
    evaluation = evaluate(trainer, model, datamodule, cfg.evaluation)
    log_best(trainer, evaluation)
    record = run_record(cfg, trainer, model, datamodule, evaluation, pretrain_info)
    record.update(monitor=monitor, early_stopping=early_stopping)
    record["time"] = {"started": started, "finished": time.time(), "pid": os.getpid()}
    if trainer.is_global_zero:  # under DDP every process runs this job; one reports
        output_dir = cfg.paths.output_dir
        write_test_outputs(output_dir, evaluation, datamodule.texts("test"))
        write_confusion_files(output_dir, record)
        record = read_run_record(write_run_record(output_dir, record))  # metrics.json comes last
        print_report(record, read_mistakes(output_dir, limit=MISTAKES_SHOWN))
    return record


def select_by(cfg: DictConfig, task: Task) -> str | None:
    """``evaluation.monitor`` (null: the task's), checked against what validation logs, and set on every
    callback that watches a metric (the checkpoint that keeps the best epoch, early stopping), so that the
    one setting decides them all. Without a validation part (``validates``) nothing is monitored:
    the checkpoint keeps the last epoch and the trainer runs no validation loop."""
    validated = validates(cfg.data)
    monitor = task.check_monitor(OmegaConf.select(cfg, "evaluation.monitor")) if validated else None
    with open_dict(cfg):
        for callback in (cfg.get("callbacks") or {}).values():
            if isinstance(callback, DictConfig) and "monitor" in callback:
                callback.monitor = monitor
                if "mode" in callback:  # null (the default monitor, an F1) is a score
                    callback.mode = "min" if minimised(monitor) else "max"
        if not validated:
            cfg.trainer.limit_val_batches = 0
            cfg.trainer.num_sanity_val_steps = 0
    return monitor


def check_full_batch(cfg: DictConfig, datamodule: TextDataModule) -> None:
    """``optimizer=lbfgs`` minimises the loss over the whole training part, so one batch must hold it."""
    examples = len(datamodule.parts["train"])
    if OmegaConf.select(cfg, "optimizer._target_") == "torch.optim.LBFGS" and examples > cfg.data.batch_size:
        raise ConfigError(
            f"optimizer=lbfgs fits on the whole training part in one batch, and its {examples:,} examples "
            f"exceed data.batch_size={cfg.data.batch_size}: raise data.batch_size to {examples} or more, "
            "or set data.train_per_class",
            key="data.batch_size",
        )


def save_config_as_run(cfg: DictConfig) -> None:
    """``.hydra/config.yaml`` as this run uses it: Hydra saved it before ``select_by`` set what the
    callbacks watch (``val/macro_f1``, ``val/loss``); a reader of the folder must not be told ``val/f1``."""
    saved = Path(cfg.paths.output_dir) / ".hydra" / "config.yaml"
    if saved.is_file():
        text = OmegaConf.to_yaml(cfg)
        atomic_write(saved, lambda f: f.write(text.encode()))


def class_weights(setting: Any, datamodule: TextDataModule) -> list[float] | None:
    """``model.class_weights``: null, one weight per class ([negative, positive] for two), or ``balanced``
    (n / (N n_class), on train)."""
    if setting is None:
        return None
    n = datamodule.num_classes
    if setting == "balanced":
        counts = torch.bincount(datamodule.parts["train"].labels, minlength=n).tolist()
        return [sum(counts) / (n * c) for c in counts]
    if not positive_numbers(setting) or len(setting) != n:
        raise ConfigError(
            f"model.class_weights={setting} must be null, balanced or {n} positive numbers (one per class)",
            key="model.class_weights",
        )
    return [float(w) for w in setting]


def build_trainer(
    cfg: DictConfig, model: HeadSwapClassifier, settings: L.Callback, checkpoint: dict | None
) -> tuple[L.Trainer, str | None]:
    """The configured trainer with its callbacks and loggers, and the checkpoint copy to resume from."""
    callbacks = [*instantiate_all(cfg.get("callbacks")), settings]
    resume = resume_checkpoint(cfg.get("ckpt_path"), checkpoint, model, callbacks)
    loggers = instantiate_all(cfg.get("logger"))
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    return trainer, resume


def early_stopping_record(trainer: L.Trainer) -> dict[str, Any] | None:
    """``callbacks.early_stopping`` as it ran: None when not configured."""
    stopper = trainer.early_stopping_callback
    if stopper is None:
        return None
    stopped = stopper.stopping_reason != EarlyStoppingReason.NOT_STOPPED
    epoch = stopper.stopped_epoch if stopped else None
    return {"monitor": stopper.monitor, "patience": stopper.patience, "stopped_epoch": epoch}


def log_best(trainer: L.Trainer, evaluation: Evaluation) -> None:
    """The best model's validation and test figures to every logger (CSV, TensorBoard, MLflow), one row."""
    test = {**evaluation.test.figures, "ece": evaluation.test.ece, "brier": evaluation.test.brier}
    val = evaluation.val.figures if evaluation.val else {}
    figures = {f"val/{k}": v for k, v in val.items()} | {f"test/{k}": v for k, v in test.items()}
    for logger in trainer.loggers:
        logger.log_metrics(figures, step=trainer.global_step)
        logger.finalize("success")


def run_record(
    cfg: DictConfig,
    trainer: L.Trainer,
    model: HeadSwapClassifier,
    datamodule: TextDataModule,
    evaluation: Evaluation,
    pretrain_info: dict[str, Any],
) -> dict[str, Any]:
    """What the run did and scored, as ``metrics.json`` holds it (``headswap.run_record.RunRecord``)."""
    trainable, total = model.parameter_counts()
    trainable += pretrain_info.get("pair_tuning", {}).get("params", 0)  # the body, trained on pairs first
    # at the end of training: gradual unfreezing may have added parts
    parts = [name for name, part in model.body.parts().items() if trains(part)]
    test, val = evaluation.test, evaluation.val
    return {
        "format_version": FORMAT_VERSION,
        "body": model.body.name,
        "regime": model.regime.name,
        "pool": model.classifier.pool.name,
        "schedule": model.schedule_name,
        "seed": cfg.seed,
        "overrides": overrides(),
        "labels": list(evaluation.task.labels),
        "test": rounded({**test.figures, "ece": test.ece, "brier": test.brier}),
        "best_val": {**rounded(val.figures), "epoch": evaluation.epoch} if val else None,
        "confusion_matrix": test.confusion_matrix,
        "per_class": rounded(test.per_class),
        "macro_average": rounded(test.macro_average),
        "params": {"trainable": trainable, "total": total, "body_trainable_parts": parts},
        "cost": cost(trainer, model, pretrain_info),
        "data": datamodule.stats,
        "pretrained_body": pretrain_info,
        "checkpoint": in_run_folder(evaluation.checkpoint, cfg.paths.output_dir),
        "output_dir": str(cfg.paths.output_dir),
        "calibration": calibration(evaluation),
        **({"test_at_val_threshold": at_threshold(evaluation)} if evaluation.at_val_threshold else {}),
    }


def at_threshold(evaluation: Evaluation) -> dict[str, Any]:
    """Test figures at the threshold that maximised validation F1 (the threshold itself unrounded)."""
    scores = evaluation.at_val_threshold
    figures = {k: v for k, v in scores.figures.items() if k != "loss"}
    return {"threshold": scores.threshold, **rounded(figures), "confusion_matrix": scores.confusion_matrix}


def calibration(evaluation: Evaluation) -> dict[str, Any] | None:
    """The temperature applied (the fitted one, or 1.0 when the fit ended at a bound), the fitted one, and
    the test split's ECE and Brier score before and after; None: not calibrated."""
    before, after = evaluation.test, evaluation.calibrated
    if after is None:
        return None
    figures = {"ece_before": before.ece, "ece_after": after.ece}
    figures |= {"brier_before": before.brier, "brier_after": after.brier}
    applied = {"temperature": evaluation.temperature, "fitted": evaluation.fitted}
    return {**applied, "applied": evaluation.temperature == evaluation.fitted, **rounded(figures)}


def in_run_folder(path: str | None, output_dir: str) -> str | None:
    """``path`` relative to the run's folder, so the folder can move; absolute when it lies elsewhere."""
    if path is None:
        return None
    resolved, folder = Path(path).resolve(), Path(output_dir).resolve()
    return str(resolved.relative_to(folder)) if resolved.is_relative_to(folder) else str(resolved)


def cost(trainer: L.Trainer, model: HeadSwapClassifier, pretrain_info: dict[str, Any]) -> dict[str, Any]:
    """What training took (``CostMonitor``), or {} when the cost monitor was off."""
    monitor = next((c for c in trainer.callbacks if isinstance(c, CostMonitor)), None)
    if monitor is None:
        return {}
    # a body from the cache, or one that arrived pretrained, cost this run no pre-training
    pretrain_seconds = 0.0 if pretrain_info.get("cached", True) else pretrain_info["seconds"]
    summary = monitor.summary(model)
    if "pair_tuning" in pretrain_info:  # training the body on pairs is training: it counts as such
        tuning = pretrain_info["pair_tuning"]
        _, total = model.parameter_counts()
        state = round(4 * (total + 3 * tuning["params"]) / 2**20, 3)  # as CostMonitor's, for that step
        seconds = 0.0 if tuning.get("resumed") else tuning["seconds"]  # a resume counts its own work
        summary |= {
            "train_seconds": round(summary["train_seconds"] + seconds, 4),
            "fit_seconds": round(summary["fit_seconds"] + seconds, 4),
            "train_state_mb": max(summary["train_state_mb"], state),
            "pair_tuning_seconds": seconds,
        }
    return {**summary, "pretrain_seconds": pretrain_seconds, "precision": str(trainer.precision)}
