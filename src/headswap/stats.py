"""Small-sample statistics for comparing runs: means with Student-t intervals, paired differences."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import t as student_t


@dataclass(frozen=True)
class Estimate:
    """Mean of n values with sample standard deviation and a two-sided 95% t-interval half-width."""

    mean: float
    std: float
    half_width: float  # nan when n < 2: one run says nothing about its own variance
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def estimate(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean, std and t-interval of a few seeds' values: the t quantile, not 1.96, because n is small."""
    n = len(values)
    if n == 0:
        raise ValueError("no values to estimate from")
    mean = sum(values) / n
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    quantile = float(student_t.ppf(0.5 + confidence / 2, n - 1))
    return Estimate(mean, std, quantile * std / math.sqrt(n), n)
