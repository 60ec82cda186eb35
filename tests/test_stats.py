import math

import pytest
from scipy.stats import t as student_t

from headswap.stats import estimate


def test_interval_uses_the_textbook_t_quantile() -> None:
    """t_{0.975, 4} = 2.776445 (tables): five values' half-width is that times std / sqrt(5)."""
    e = estimate([1.0, 2.0, 3.0, 4.0, 5.0])
    assert e.half_width == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), abs=1e-6)


@pytest.mark.parametrize("values", [[0.8, 0.9], [0.91, 0.93, 0.92], [0.5, 0.7, 0.6, 0.9, 0.95, 0.99, 0.4]])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_interval_matches_scipy(values: list[float], confidence: float) -> None:
    e = estimate(values, confidence)
    low, high = student_t.interval(
        confidence, len(values) - 1, loc=e.mean, scale=e.std / math.sqrt(len(values))
    )
    assert (e.low, e.high) == pytest.approx((low, high), rel=1e-12)


def test_estimate_by_hand() -> None:
    e = estimate([1.0, 2.0, 3.0, 4.0, 5.0])
    assert e.mean == 3.0
    assert e.std == pytest.approx(math.sqrt(2.5))
    assert (e.low, e.high) == pytest.approx((3.0 - e.half_width, 3.0 + e.half_width))


def test_single_value_has_no_interval() -> None:
    e = estimate([0.9])
    assert e.mean == 0.9 and math.isnan(e.std) and math.isnan(e.half_width)


def test_no_values_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        estimate([])
