"""What a training run records in ``metrics.json``: the names of its scores."""

from __future__ import annotations

THRESHOLD_METRICS = ("precision", "recall", "f1", "accuracy")
"""Scores of hard decisions at a threshold. Every classifier has them, the TF-IDF baselines (a linear SVM
gives no probabilities) included, so these are the scores runs, groups and baselines are compared on."""

RANKING_METRICS = ("pr_auc", "roc_auc")
"""Scores of the ranking by class-1 probability, free of any threshold."""

SCORES = THRESHOLD_METRICS + RANKING_METRICS
"""Every score a run records for its test split and its best validation epoch, in the report's order."""
