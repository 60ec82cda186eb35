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
    bounds: tuple[float, float] = (-math.inf, math.inf)  # what the figure can be: an F1 lies in [0, 1]

    @property
    def low(self) -> float:
        return max(self.mean - self.half_width, self.bounds[0])

    @property
    def high(self) -> float:
        return min(self.mean + self.half_width, self.bounds[1])


def estimate(
    values: Sequence[float], confidence: float = 0.95, bounds: tuple[float, float] = (-math.inf, math.inf)
) -> Estimate:
    """Mean, std and t-interval of a few seeds' values: the t quantile, not 1.96, because n is small. The
    interval is cut to ``bounds``, the figure's own range: a t-interval knows nothing of it."""
    n = len(values)
    if n == 0:
        raise ValueError("no values to estimate from")
    mean = sum(values) / n
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n, bounds)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    quantile = float(student_t.ppf(0.5 + confidence / 2, n - 1))
    return Estimate(mean, std, quantile * std / math.sqrt(n), n, bounds)
