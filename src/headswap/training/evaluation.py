"""After training: the best model's validation and test splits, each through the model once.

Every figure of the record is derived from those logits by ``headswap.scoring.score``: the test scores,
the best epoch's validation scores, the test figures at the validation-tuned threshold and, with
``evaluation.calibrate=true``, at a temperature fitted on the validation logits (the test split never
feeds either). Every run writes its test mistakes (``errors.jsonl``) and the reliability diagram
(``reliability.png``) beside ``metrics.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from torch import Tensor

from headswap.calibration import TEMPERATURE_BOUNDS, fit_temperature
from headswap.io import safe_load
from headswap.lit import HeadSwapClassifier, TextDataModule
from headswap.lit.datamodule import in_input_order
from headswap.mistakes import find_mistakes, write_mistakes
from headswap.model.classifier import Classifier
from headswap.scoring import Scores, choose_threshold, score
from headswap.task import Task
from headswap.training import reliability

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Predictions:
    """One split's logits [n, N] and labels [n], in the split's order."""

    logits: Tensor
    labels: Tensor


@torch.no_grad()
def split_logits(net: Classifier, loader: Iterable[dict[str, Tensor]], device: torch.device) -> Predictions:
    """Every example of ``loader`` through ``net`` once, in eval mode on ``device``; back on the CPU in the
    part's order whatever order the batches came in. A frozen part's output comes from the cache."""
    net.eval()
    logits, labels, index = [], [], []
    for batch in loader:
        ids, mask, keys = (batch[k].to(device) for k in ("input_ids", "attention_mask", "keys"))
        logits.append(net(ids, mask, keys).float().cpu())
        labels.append(batch["labels"])
        index.append(batch["index"])
    order = torch.cat(index)
    return Predictions(in_input_order(order, torch.cat(logits)), in_input_order(order, torch.cat(labels)))


@dataclass(frozen=True)
class Evaluation:
    """The best model's figures; what a run records, reports and writes beside its record."""

    task: Task
    epoch: int | None  # the best checkpoint's; None when none was kept (the last weights were scored)
    checkpoint: str | None  # its file; None when none was kept
    val: Scores | None  # None: the run had no validation part (its last epoch is the one kept)
    test: Scores
    test_predictions: Predictions
    at_val_threshold: Scores | None  # two classes, with evaluation.tune_threshold
    fitted: float | None  # the temperature fitted on validation, with evaluation.calibrate
    calibrated: Scores | None  # the test split at the applied temperature

    @property
    def temperature(self) -> float | None:
        return applied_temperature(self.fitted)


def evaluate(trainer: L.Trainer, model: HeadSwapClassifier, dm: TextDataModule, settings: dict) -> Evaluation:
    """Load the best checkpoint, run validation and test through it once each, under the trainer's
    precision, and score them. ``settings``: the ``evaluation`` config (``calibrate``, ``tune_threshold``)."""
    epoch, checkpoint = load_best(trainer, model)
    device = trainer.strategy.root_device
    net = model.classifier.to(device)
    parts = ("val", "test") if len(dm.parts["val"]) else ("test",)  # a run may train without validation
    with trainer.precision_plugin.forward_context():  # the logits validation scored during training
        logits = {part: split_logits(net, dm.loader(part), device) for part in parts}
    val, test = logits.get("val"), logits["test"]
    task = model.task
    weights = None if model.class_weights is None else model.class_weights.cpu()
    threshold = None
    if val is not None and settings["tune_threshold"] and task.binary:  # a threshold is a two-class notion
        threshold = choose_threshold(val.logits.softmax(dim=-1)[:, 1], val.labels)
    fitted = fitted_temperature(val) if val is not None and settings["calibrate"] else None
    applied = applied_temperature(fitted)
    return Evaluation(
        task=task,
        epoch=epoch,
        checkpoint=checkpoint,
        val=None if val is None else score(val.logits, val.labels, task, class_weights=weights),
        test=score(test.logits, test.labels, task, class_weights=weights),
        test_predictions=test,
        at_val_threshold=None if threshold is None else score(test.logits, test.labels, task, threshold),
        fitted=fitted,
        calibrated=None if applied is None else score(test.logits / applied, test.labels, task),
    )


def load_best(trainer: L.Trainer, model: HeadSwapClassifier) -> tuple[int | None, str | None]:
    """The best checkpoint's weights into ``model``, its epoch and file; without one the last weights stay.
    (Without ``callbacks.model_checkpoint`` Lightning's own keeps the last epoch: that one is "best".)"""
    path = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if not path:
        return None, None
    checkpoint = safe_load(path)
    model.load_state_dict(checkpoint["state_dict"])
    return int(checkpoint["epoch"]), path


def at_bound(temperature: float) -> bool:
    return temperature in (round(bound, 6) for bound in TEMPERATURE_BOUNDS)


def applied_temperature(fitted: float | None) -> float | None:
    """The fitted temperature, or 1.0 when the fit ended at a bound of its search (a validation split too
    small or too easy to fit it; a bound is no estimate)."""
    return None if fitted is None else 1.0 if at_bound(fitted) else fitted


def fitted_temperature(validation: Predictions) -> float:
    """The temperature fitted on the validation split's logits, said when it sits at a bound."""
    temperature = fit_temperature(validation.logits, validation.labels)
    if at_bound(temperature):
        log.warning(
            "calibration: the temperature fitted on validation, %s, is at the end of its range %s: the "
            "split is too small or too easy to fit it, so none is applied (T = 1)",
            temperature,
            TEMPERATURE_BOUNDS,
        )
    return temperature


def write_test_outputs(output_dir: str | Path, evaluation: Evaluation, texts: list[str]) -> None:
    """``errors.jsonl`` (with the probabilities the run reports: calibrated when it was) and
    ``reliability.png`` (before and after the temperature)."""
    task, temperature = evaluation.task, evaluation.temperature
    logits, labels = evaluation.test_predictions.logits, evaluation.test_predictions.labels
    calibrated = (logits / (temperature or 1.0)).softmax(dim=-1)
    write_mistakes(output_dir, find_mistakes(texts, calibrated.tolist(), labels.tolist(), task))
    raw = logits.softmax(dim=-1)
    curves = {"test": raw}
    if temperature is not None:
        curves = {"before": raw, f"after, T={temperature:.3g}": calibrated}
    reliability.reliability_diagram(curves, labels, task, Path(output_dir) / reliability.FILE_NAME)
