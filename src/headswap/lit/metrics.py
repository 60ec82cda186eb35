"""Binary classification metrics with the positive class (spam) at index 1.

Metrics are fed class-1 probabilities, never raw two-column logits: torchmetrics' binary metrics
would squash values outside [0, 1] with a sigmoid. The confusion matrix is kept out of the logged
collection (a 2x2 tensor is not a scalar to log) and read once for the report.
"""

from __future__ import annotations

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
from torchmetrics.functional.classification import binary_f1_score


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

    Candidates are midpoints between consecutive distinct probabilities; ties go to the candidate
    nearest 0.5, so a model that is already calibrated keeps its default.
    """
    values = torch.unique(probs)
    candidates = torch.cat([torch.tensor([0.5]), (values[1:] + values[:-1]) / 2])
    f1 = torch.stack([binary_f1_score(probs, labels, threshold=float(t)) for t in candidates])
    best = torch.nonzero(f1 == f1.max()).flatten()
    return float(candidates[best[torch.argmin((candidates[best] - 0.5).abs())]])


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
