"""Classification metrics: binary ones for two classes (the positive class at index 1), multiclass for N.

Two classes keep the binary figures a run has always reported; binary metrics are fed class-1
probabilities, never raw two-column logits: torchmetrics' binary metrics would squash values outside
[0, 1] with a sigmoid. N classes get torchmetrics' multiclass metrics on the N-column probabilities.
The confusion matrix is kept out of the logged collection (a matrix is not a scalar to log) and read
once for the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    BinaryAccuracy,
    BinaryAUROC,
    BinaryAveragePrecision,
    BinaryConfusionMatrix,
    BinaryF1Score,
    BinaryPrecision,
    BinaryRecall,
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)
from torchmetrics.functional.classification import (
    binary_precision_recall_curve,
    multiclass_f1_score,
    multiclass_precision,
    multiclass_recall,
)


def classification_metrics(prefix: str, threshold: float = 0.5) -> MetricCollection:
    return MetricCollection(
        {
            "precision": BinaryPrecision(threshold=threshold),
            "recall": BinaryRecall(threshold=threshold),
            "f1": BinaryF1Score(threshold=threshold),
            "accuracy": BinaryAccuracy(threshold=threshold),
            "roc_auc": BinaryAUROC(),
            "pr_auc": BinaryAveragePrecision(),
        },
        prefix=prefix,
    )


TOP_K = 3  # top-k accuracy, reported where there are more than TOP_K_FROM classes
TOP_K_FROM = 5


def multiclass_metrics(prefix: str, num_classes: int) -> MetricCollection:
    """``MULTICLASS_SCORES`` of N-column probabilities (argmax decides), plus top-3 accuracy where N > 5."""
    n = num_classes
    metrics: dict[str, Any] = {
        "accuracy": MulticlassAccuracy(n, average="micro"),
        "macro_f1": MulticlassF1Score(n, average="macro"),
        "weighted_f1": MulticlassF1Score(n, average="weighted"),
        "macro_precision": MulticlassPrecision(n, average="macro"),
        "macro_recall": MulticlassRecall(n, average="macro"),
    }
    if n > TOP_K_FROM:
        metrics[f"top{TOP_K}_accuracy"] = MulticlassAccuracy(n, top_k=TOP_K, average="micro")
    return MetricCollection(metrics, prefix=prefix)


def metrics_for(prefix: str, num_classes: int) -> MetricCollection:
    """The logged metrics of a split: the binary set for two classes, the multiclass set for more."""
    return classification_metrics(prefix) if num_classes == 2 else multiclass_metrics(prefix, num_classes)


def default_monitor(num_classes: int) -> str:
    """What picks the best epoch: validation F1 of the positive class for two, macro-F1 for more."""
    return "val/f1" if num_classes == 2 else "val/macro_f1"


def check_monitor(monitor: str, num_classes: int) -> str:
    """``evaluation.monitor`` as given, if a validation run logs it; else one line listing what does."""
    logged = ["val/loss", *(f"val/{name}" for name in metrics_for("", num_classes).keys())]
    if monitor not in logged:
        raise ValueError(
            f"evaluation.monitor={monitor} is not a metric this {num_classes}-class run logs; "
            f"use one of {', '.join(logged)} (or null for {default_monitor(num_classes)})"
        )
    return monitor


def confusion_matrix(
    threshold: float = 0.5, num_classes: int = 2
) -> BinaryConfusionMatrix | MulticlassConfusionMatrix:
    """Rows are true labels, columns predictions: [[tn, fp], [fn, tp]] for two classes, N x N for more."""
    if num_classes == 2:
        return BinaryConfusionMatrix(threshold=threshold)
    return MulticlassConfusionMatrix(num_classes)


def choose_threshold(probs: Tensor, labels: Tensor) -> float:
    """The decision threshold that maximises F1 on ``probs`` (use validation data, never test).

    Candidates are 0.5 and the midpoints between consecutive distinct probabilities, so the choice
    does not sit on any one example's probability; ties go to the candidate nearest 0.5, so a model
    that is already calibrated keeps its default. One exact precision-recall curve scores them all.
    """
    precision, recall, values = binary_precision_recall_curve(probs, labels.long())
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


def class_scores(
    probs: Tensor, labels: Tensor, label_names: Sequence[str], threshold: float = 0.5
) -> dict[str, dict[str, float]]:
    """Precision, recall and F1 of each class, and their macro average.

    ``probs``: class-1 probabilities (two classes, decided at ``threshold``) or N-column probabilities
    (N classes, decided by argmax). Each class is scored as if it were the positive one, so the majority
    class's figures show too, and the macro average weighs a rare class as much as a common one. It is
    the plain mean of the classes: torchmetrics' ``average="macro"`` would leave out a class absent from
    labels and predictions alike, where this report has always counted it as 0. A class never predicted
    has precision 0. Figures are rounded to 6 decimals, as every other score in ``metrics.json``.
    """
    n = len(label_names)
    # two classes: as the binary metrics threshold, strictly above
    predicted = (probs > threshold).long() if probs.dim() == 1 else probs.argmax(dim=-1)
    kwargs: dict[str, Any] = {"num_classes": n, "average": None, "zero_division": 0}
    columns = {
        "precision": multiclass_precision(predicted, labels, **kwargs),
        "recall": multiclass_recall(predicted, labels, **kwargs),
        "f1": multiclass_f1_score(predicted, labels, **kwargs),
    }
    support = torch.bincount(labels, minlength=n).tolist()
    per: dict[str, dict[str, float]] = {
        name: {**{k: round(float(v[i]), 6) for k, v in columns.items()}, "support": support[i]}
        for i, name in enumerate(label_names)
    }
    per["macro"] = {k: round(float(v.mean()), 6) for k, v in columns.items()}
    return per


def multiclass_scores(probs: Tensor, labels: Tensor) -> dict[str, Any]:
    """The multiclass figures of N-column probabilities (argmax decides) and the N x N confusion matrix,
    from the same metrics training logs."""
    n = probs.shape[1]
    metrics = multiclass_metrics("", n)
    metrics.update(probs, labels)
    cm = confusion_matrix(num_classes=n)
    cm.update(probs, labels)
    return {
        **{k: round(float(v), 6) for k, v in metrics.compute().items()},
        "confusion_matrix": cm.compute().tolist(),
    }


def scores_at(probs: Tensor, labels: Tensor, threshold: float) -> dict[str, Any]:
    """Binary figures at one threshold, and the confusion matrix [[tn, fp], [fn, tp]]."""
    metrics = classification_metrics("", threshold)
    metrics.update(probs, labels)
    cm = confusion_matrix(threshold)
    cm.update(probs, labels)
    return {
        "threshold": threshold,
        **{k: round(float(v), 6) for k, v in metrics.compute().items()},
        "confusion_matrix": cm.compute().tolist(),
    }
