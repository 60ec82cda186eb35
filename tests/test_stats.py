import math

import pytest

from headswap.stats import class_scores, estimate, t_cdf, t_quantile


@pytest.mark.parametrize(
    ("df", "expected"),  # two-sided 95% critical values from standard t tables
    [(1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (30, 2.0423), (1000, 1.9623)],
)
def test_t_quantile_matches_tables(df: int, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)


def test_t_cdf_is_symmetric_and_centred() -> None:
    assert t_cdf(0.0, 5) == pytest.approx(0.5)
    assert t_cdf(-1.3, 7) == pytest.approx(1 - t_cdf(1.3, 7))


def test_estimate_by_hand() -> None:
    e = estimate([1.0, 2.0, 3.0, 4.0, 5.0])
    assert e.mean == 3.0
    assert e.std == pytest.approx(math.sqrt(2.5))
    assert e.half_width == pytest.approx(2.7764 * math.sqrt(2.5) / math.sqrt(5), abs=1e-4)
    assert (e.low, e.high) == pytest.approx((3.0 - e.half_width, 3.0 + e.half_width))


def test_single_value_has_no_interval() -> None:
    e = estimate([0.9])
    assert e.mean == 0.9 and math.isnan(e.std) and math.isnan(e.half_width)


def test_class_scores_by_hand() -> None:
    scores = class_scores([[50, 10], [5, 35]], ["ham", "spam"])  # tn fp / fn tp
    assert scores["spam"]["precision"] == pytest.approx(35 / 45)
    assert scores["spam"]["recall"] == pytest.approx(35 / 40)
    assert scores["ham"]["precision"] == pytest.approx(50 / 55)
    assert scores["ham"]["recall"] == pytest.approx(50 / 60)
    assert scores["ham"]["support"] == 60 and scores["spam"]["support"] == 40
    f1 = {c: 2 * scores[c]["precision"] * scores[c]["recall"] / (scores[c]["precision"] + scores[c]["recall"])
          for c in ("ham", "spam")}
    assert scores["spam"]["f1"] == pytest.approx(f1["spam"])
    assert scores["macro"]["f1"] == pytest.approx((f1["ham"] + f1["spam"]) / 2)
