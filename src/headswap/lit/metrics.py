"""Binary classification metrics with the positive class (spam) at index 1.

Metrics are fed class-1 probabilities, never raw two-column logits: torchmetrics' binary metrics
would squash values outside [0, 1] with a sigmoid. The confusion matrix is kept out of the logged
collection (a 2x2 tensor is not a scalar to log) and read once for the report.
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


def confusion_matrix(threshold: float = 0.5) -> BinaryConfusionMatrix:
    """Rows are true labels, columns predictions: [[tn, fp], [fn, tp]]."""
    return BinaryConfusionMatrix(threshold=threshold)


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
    """Precision, recall and F1 of each class at ``threshold``, and their macro average.

    Each class is scored as if it were the positive one, so the majority class's figures show too,
    and the macro average weighs a rare class as much as a common one. It is the plain mean of the two
    classes: torchmetrics' ``average="macro"`` would leave out a class absent from labels and predictions
    alike, where this report has always counted it as 0. A class never predicted has precision 0.
    Figures are rounded to 6 decimals, as every other score in ``metrics.json``.
    """
    predicted = (probs > threshold).long()  # as the binary metrics threshold: strictly above
    kwargs: dict[str, Any] = {"num_classes": 2, "average": None, "zero_division": 0}
    columns = {
        "precision": multiclass_precision(predicted, labels, **kwargs),
        "recall": multiclass_recall(predicted, labels, **kwargs),
        "f1": multiclass_f1_score(predicted, labels, **kwargs),
    }
    support = torch.bincount(labels, minlength=2).tolist()
    per: dict[str, dict[str, float]] = {
        name: {**{k: round(float(v[i]), 6) for k, v in columns.items()}, "support": support[i]}
        for i, name in enumerate(label_names)
    }
    per["macro"] = {k: round(float(v.mean()), 6) for k, v in columns.items()}
    return per


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
