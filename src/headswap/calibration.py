"""Whether a probability can be taken at its word: calibration error, Brier score, temperature scaling.

Everything works on a probability matrix [n, N] and labels [n]. Two classes are binned by the positive
class's probability (does a spam score of 0.9 mean 90% spam?), more by the top class's probability (Guo
et al. 2017). ``reliability_bins`` bins exactly as torchmetrics does, so a diagram's gaps add up to the ECE.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar
from torch import Tensor
from torchmetrics.functional.classification import binary_calibration_error, multiclass_calibration_error

from headswap.task import Task

N_BINS = 15
TEMPERATURE_BOUNDS = (0.05, 20.0)
"""A validation split the model separates perfectly pulls the temperature towards 0 (ever sharper
probabilities lower its NLL without end); the search stops at these bounds instead."""


def expected_calibration_error(probs: Tensor, labels: Tensor, task: Task, n_bins: int = N_BINS) -> float:
    """ECE (l1, ``n_bins`` equal-width bins) of probabilities [n, N] against labels [n], by torchmetrics."""
    if task.binary:
        return float(binary_calibration_error(probs[:, 1].contiguous(), labels, n_bins=n_bins, norm="l1"))
    n = task.num_classes
    return float(multiclass_calibration_error(probs, labels, num_classes=n, n_bins=n_bins, norm="l1"))


def brier_score(probs: Tensor, labels: Tensor) -> float:
    """Mean over examples of the squared distance between the probability vector [N] and the one-hot label.

    torchmetrics has no Brier score. This is Brier's own multi-class form: with two classes it is twice
    the ``(p - y)**2`` form some libraries give, and it ranges from 0 (certain and right) to 2.
    """
    one_hot = F.one_hot(labels, probs.shape[1]).to(probs.dtype)  # n x N
    return float(((probs - one_hot) ** 2).sum(dim=1).mean())


def reliability_bins(
    probs: Tensor, labels: Tensor, task: Task, n_bins: int = N_BINS
) -> tuple[Tensor, Tensor, Tensor]:
    """Per bin [n_bins]: mean confidence, observed frequency, and count (empty bins: 0, 0, 0).

    Bin edges and the rule at an edge are torchmetrics': bin i holds confidences in [i/n, (i+1)/n), and
    a confidence of exactly 1 falls in the last bin.
    """
    if task.binary:  # binned: the positive probability, against whether the label is positive
        confidence, hit = probs[:, 1].contiguous(), (labels == 1).to(probs.dtype)
    else:  # the top probability, against whether the top class is right
        confidence, predicted = probs.max(dim=1)
        hit = (predicted == labels).to(probs.dtype)
    edges = torch.linspace(0, 1, n_bins + 1, dtype=confidence.dtype)
    index = (torch.bucketize(confidence, edges, right=True) - 1).clamp(0, n_bins - 1)
    count = torch.zeros(n_bins, dtype=confidence.dtype).scatter_add_(0, index, torch.ones_like(confidence))
    total_confidence = torch.zeros(n_bins, dtype=confidence.dtype).scatter_add_(0, index, confidence)
    total_hit = torch.zeros(n_bins, dtype=confidence.dtype).scatter_add_(0, index, hit)
    filled = count.clamp(min=1)
    return total_confidence / filled, total_hit / filled, count


def fit_temperature(logits: Tensor, labels: Tensor) -> float:
    """The temperature T that minimises the NLL of ``softmax(logits / T)`` on logits [n, N] and labels [n].

    Use validation logits, never test. One scalar changes no prediction (argmax, and the 0.5 threshold
    of two classes, are the same for every T > 0), only how sure the probabilities are. The NLL is convex
    in 1/T, so a bounded one-dimensional search over log T finds its minimum (scipy's bounded Brent).
    """
    logits64 = logits.double()

    def nll(log_temperature: float) -> float:
        return float(F.cross_entropy(logits64 / math.exp(log_temperature), labels))

    low, high = (math.log(bound) for bound in TEMPERATURE_BOUNDS)
    best = minimize_scalar(nll, bounds=(low, high), method="bounded", options={"xatol": 1e-5})
    # Brent never evaluates the bounds themselves, where a separable split's minimum lies
    return round(math.exp(min((best.x, low, high), key=nll)), 6)
