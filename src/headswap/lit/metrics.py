"""Binary classification metrics with the positive class (spam) at index 1.

Metrics are fed class-1 probabilities, never raw two-column logits: torchmetrics' binary metrics
would squash values outside [0, 1] with a sigmoid. The confusion matrix is kept out of the logged
collection (a 2x2 tensor is not a scalar to log) and read once for the report.
"""

from __future__ import annotations

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
