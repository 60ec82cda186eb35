"""Every figure of a split, from its logits and labels, by one function: ``score``.

A run scores its validation split each epoch (what picks the best checkpoint) and, once training is done,
the best model's validation and test splits; the baselines and the int8 export score theirs the same way,
so a figure means one thing wherever it is shown. Pure functions of tensors: no model, no Lightning.
Binary metrics are fed the positive class's probability, never raw logits: torchmetrics' binary metrics
would squash values outside [0, 1] with a sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics.functional.classification import (
    binary_accuracy,
    binary_auroc,
    binary_average_precision,
    binary_confusion_matrix,
    binary_f1_score,
    binary_precision,
    binary_precision_recall_curve,
    binary_recall,
    multiclass_accuracy,
    multiclass_confusion_matrix,
    multiclass_f1_score,
    multiclass_precision,
    multiclass_recall,
)

from headswap.calibration import brier_score, expected_calibration_error
from headswap.task import TOP_K, Task


@dataclass(frozen=True)
class Scores:
    """One split's figures. ``figures`` holds the task's scores and the mean cross-entropy (``loss``),
    unrounded; ``per_class`` each class scored as if it were the positive one, ``macro_average`` their
    plain mean (kept apart, so no class name can collide with it)."""

    figures: dict[str, float]
    confusion_matrix: list[list[int]]  # rows true, columns predicted: [[tn, fp], [fn, tp]] for two
    per_class: dict[str, dict[str, Any]]
    macro_average: dict[str, float]
    ece: float
    brier: float
    threshold: float | None  # what decided the positive class (two classes)


def score(
    logits: Tensor,
    labels: Tensor,
    task: Task,
    threshold: float | None = None,
    class_weights: Tensor | None = None,
) -> Scores:
    """The figures of logits [n, N] against labels [n]; two classes decided at ``threshold`` (default 0.5,
    the positive class strictly above it), N classes by the most probable."""
    logits = logits.float()
    probs = logits.softmax(dim=-1)
    threshold = task.default_threshold if threshold is None else threshold
    if task.binary:
        figures, matrix = _binary(probs[:, 1].contiguous(), labels, threshold)
    else:
        figures, matrix = _multiclass(probs, labels, task)
    figures["loss"] = float(F.cross_entropy(logits, labels, weight=class_weights))
    return Scores(
        figures=figures,
        confusion_matrix=matrix,
        **class_scores(decisions(probs, task, threshold), labels, task),
        ece=expected_calibration_error(probs, labels, task),
        brier=brier_score(probs, labels),
        threshold=threshold,
    )


def decisions(probs: Tensor, task: Task, threshold: float | None = None) -> Tensor:
    """The decided class of each row of probabilities [n, N], by ``Task.decide``'s rule, vectorised."""
    if task.binary:
        return (probs[:, 1] > (task.default_threshold if threshold is None else threshold)).long()
    return probs.argmax(dim=-1)


def _binary(positive: Tensor, labels: Tensor, threshold: float) -> tuple[dict[str, float], list[list[int]]]:
    at = {"threshold": threshold}
    figures = {
        "precision": binary_precision(positive, labels, **at),
        "recall": binary_recall(positive, labels, **at),
        "f1": binary_f1_score(positive, labels, **at),
        "accuracy": binary_accuracy(positive, labels, **at),
        "pr_auc": binary_average_precision(positive, labels),
        "roc_auc": binary_auroc(positive, labels),
    }
    matrix = binary_confusion_matrix(positive, labels, **at).tolist()
    return {k: float(v) for k, v in figures.items()}, matrix


def _multiclass(probs: Tensor, labels: Tensor, task: Task) -> tuple[dict[str, float], list[list[int]]]:
    n = {"num_classes": task.num_classes}
    figures = {
        "accuracy": multiclass_accuracy(probs, labels, **n, average="micro"),
        "macro_f1": multiclass_f1_score(probs, labels, **n, average="macro"),
        "weighted_f1": multiclass_f1_score(probs, labels, **n, average="weighted"),
        "macro_precision": multiclass_precision(probs, labels, **n, average="macro"),
        "macro_recall": multiclass_recall(probs, labels, **n, average="macro"),
    }
    if f"top{TOP_K}_accuracy" in task.score_names:
        figures[f"top{TOP_K}_accuracy"] = multiclass_accuracy(
            probs, labels, **n, top_k=TOP_K, average="micro"
        )
    return {k: float(v) for k, v in figures.items()}, multiclass_confusion_matrix(probs, labels, **n).tolist()


def class_scores(predicted: Tensor, labels: Tensor, task: Task) -> dict[str, dict[str, Any]]:
    """``per_class``: precision, recall, F1 and support of each class; ``macro_average``: their mean.

    Each class is scored as if it were the positive one, so the majority class's figures show too, and
    the macro average weighs a rare class as much as a common one. It is the plain mean of the classes:
    torchmetrics' ``average="macro"`` would leave out a class absent from labels and predictions alike,
    where this report counts it as 0. A class never predicted has precision 0.
    """
    kwargs: dict[str, Any] = {"num_classes": task.num_classes, "average": None, "zero_division": 0}
    columns = {
        "precision": multiclass_precision(predicted, labels, **kwargs),
        "recall": multiclass_recall(predicted, labels, **kwargs),
        "f1": multiclass_f1_score(predicted, labels, **kwargs),
    }
    support = torch.bincount(labels, minlength=task.num_classes).tolist()
    per_class = {
        name: {**{k: float(v[i]) for k, v in columns.items()}, "support": support[i]}
        for i, name in enumerate(task.labels)
    }
    return {"per_class": per_class, "macro_average": {k: float(v.mean()) for k, v in columns.items()}}


def choose_threshold(positive: Tensor, labels: Tensor) -> float:
    """The decision threshold that maximises F1 on the positive probabilities (validation, never test).

    Candidates are 0.5 and the midpoints between consecutive distinct probabilities, so the choice
    does not sit on any one example's probability; ties go to the candidate nearest 0.5, so a model
    that is already calibrated keeps its default. One exact precision-recall curve scores them all.
    """
    precision, recall, values = binary_precision_recall_curve(positive, labels.long())
    # Entry i predicts positive where probs >= values[i] (the last: none); F1 = 2 tp / (predicted + positives)
    # from whole counts, so candidates with equal F1 tie exactly, as counts compared one by one would.
    positives = float(labels.sum())
    tp = (recall.double() * positives).round()
    predicted = torch.where(tp > 0, tp / precision.double(), 1.0).round()
    f1 = torch.where(tp > 0, 2 * tp / (predicted + positives), 0.0)
    at_default = int(torch.searchsorted(values, torch.tensor(0.5, dtype=values.dtype), right=True))
    candidates = torch.cat([torch.tensor([0.5], dtype=values.dtype), (values[1:] + values[:-1]) / 2])
    scores = torch.cat([f1[at_default : at_default + 1], f1[1 : len(values)]])
    best = torch.nonzero(scores == scores.max()).flatten()
    return float(candidates[best[torch.argmin((candidates[best] - 0.5).abs())]])


def rounded(value: Any, digits: int = 6) -> Any:
    """Floats rounded to ``digits`` decimals, through dicts and lists: how every figure is recorded."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value
