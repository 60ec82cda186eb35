"""Two classes or N: decided once, from the class names, by ``Task``; everything that differs asks it.

Two classes are a detection task: the second class is the positive one (spam), decided by a threshold on
its probability, scored by precision, recall and F1 of that class, and by the ranking (PR-AUC, ROC-AUC).
More classes are decided by the most probable class and scored by accuracy and macro/weighted averages.
"""

from __future__ import annotations

from collections.abc import Sequence

from headswap.errors import ConfigError

BINARY_SCORES = ("precision", "recall", "f1", "accuracy", "pr_auc", "roc_auc")
"""A two-class run's scores, in the report's order: at a threshold, then the two that need none."""

THRESHOLD_SCORES = BINARY_SCORES[:4]
"""Scores of hard decisions: every classifier has them (a linear SVM gives no probabilities), so runs,
groups and baselines of two classes are compared on these."""

MULTICLASS_SCORES = ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")
"""A run of more than two classes' scores, in the report's order (and top-3 accuracy past five classes)."""

TOP_K, TOP_K_FROM = 3, 5  # top-3 accuracy is reported where there are more than five classes


class Task:
    """The classes of a run, index = class id; two classes: (negative, positive). A plain class, not a
    dataclass: Hydra would turn a dataclass passed to ``instantiate`` into a config."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = tuple(str(label) for label in labels)
        self.num_classes = len(self.labels)
        self.binary = self.num_classes == 2
        self.positive = self.labels[1] if self.binary else None  # the class a threshold decides for

    def __repr__(self) -> str:
        return f"Task({list(self.labels)})"

    @property
    def score_names(self) -> tuple[str, ...]:
        """Every score a split gets, in the report's order."""
        if self.binary:
            return BINARY_SCORES
        return MULTICLASS_SCORES + ((f"top{TOP_K}_accuracy",) if self.num_classes > TOP_K_FROM else ())

    @property
    def compared(self) -> tuple[str, ...]:
        """The test scores a comparison of runs (or baselines) shows."""
        return THRESHOLD_SCORES if self.binary else ("accuracy", "macro_f1")

    @property
    def headline(self) -> str:
        """The one score that ranks, pairs and selects: the positive class's F1, or macro-F1."""
        return "f1" if self.binary else "macro_f1"

    @property
    def monitor(self) -> str:
        """What picks the best epoch unless ``evaluation.monitor`` says otherwise."""
        return f"val/{self.headline}"

    @property
    def default_threshold(self) -> float | None:
        """The positive class wins above 0.5; N classes have no threshold (the most probable wins)."""
        return 0.5 if self.binary else None

    def decide(self, probabilities: Sequence[float], threshold: float | None = None) -> int:
        """The class one text's probabilities decide: two classes, the positive one when its probability
        is strictly above ``threshold`` (default 0.5; torchmetrics' rule); N, the most probable (the first
        of equals, as ``argmax``)."""
        if self.binary:
            return int(probabilities[1] > (self.default_threshold if threshold is None else threshold))
        return max(range(len(probabilities)), key=probabilities.__getitem__)

    def shown_probability(self, probabilities: Sequence[float], decided: int) -> float:
        """The probability a prediction shows: the positive class's (two classes), the decided one's."""
        return probabilities[1] if self.binary else probabilities[decided]

    def monitors(self) -> tuple[str, ...]:
        """Every figure a validation epoch logs, so any may pick the best epoch."""
        return ("val/loss", *(f"val/{name}" for name in self.score_names))

    def check_monitor(self, monitor: str | None) -> str:
        """``evaluation.monitor`` (None: the default) if validation logs it; else one line naming what may."""
        chosen = monitor or self.monitor
        if chosen not in self.monitors():
            raise ConfigError(
                f"evaluation.monitor={chosen} is not a metric this {self.num_classes}-class run logs; "
                f"use one of {', '.join(self.monitors())} (or null for {self.monitor})"
            )
        return chosen


def minimised(metric: str | None) -> bool:
    """A loss is better low; every other figure (an F1, an accuracy; None is the default, an F1) high."""
    return bool(metric) and metric.endswith("loss")
