"""Calibration maths on probability matrices [n, N]: ECE and its bins, Brier score, the fitted temperature."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from headswap.calibration import (
    TEMPERATURE_BOUNDS,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)
from headswap.task import Task

BINARY = Task(["ham", "spam"])


def tasks(n: int) -> Task:
    return Task([f"c{i}" for i in range(n)])


def two_class(p1: list[float]) -> torch.Tensor:
    p = torch.tensor(p1)
    return torch.stack([1 - p, p], dim=1)  # n x 2


def test_binary_ece_by_hand() -> None:
    # bin of 0.9: 2 examples, half spam -> gap 0.4; bin of 0.1: 2 examples, no spam -> gap 0.1
    probs, labels = two_class([0.9, 0.9, 0.1, 0.1]), torch.tensor([1, 0, 0, 0])
    assert expected_calibration_error(probs, labels, BINARY) == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)


def test_multiclass_ece_by_hand_uses_the_top_class() -> None:
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.7, 0.2], [0.2, 0.1, 0.7], [0.1, 0.1, 0.8]])
    labels = torch.tensor([0, 0, 2, 2])  # top class right: yes, no, yes, yes
    # bin of 0.7 (three examples, two right): |2/3 - 0.7|; bin of 0.8 (one, right): |1 - 0.8|
    assert expected_calibration_error(probs, labels, tasks(3)) == pytest.approx(
        0.75 * abs(2 / 3 - 0.7) + 0.25 * 0.2
    )


@pytest.mark.parametrize(("n_classes", "seed"), [(2, 0), (2, 1), (3, 2), (5, 3)])
def test_the_diagram_bins_add_up_to_the_ece(n_classes: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    probs = torch.randn(200, n_classes, generator=g).mul(2).softmax(dim=1)
    probs[0] = F.one_hot(torch.tensor(1), n_classes).float()  # a confidence of exactly 1: the last bin
    labels = torch.randint(n_classes, (200,), generator=g)
    confidence, frequency, count = reliability_bins(probs, labels, tasks(n_classes))
    assert count.sum() == 200
    gaps = (count / 200 * (frequency - confidence).abs()).sum()
    assert float(gaps) == pytest.approx(expected_calibration_error(probs, labels, tasks(n_classes)), abs=1e-6)


def test_brier_by_hand() -> None:
    assert brier_score(two_class([0.8, 0.3]), torch.tensor([1, 1])) == pytest.approx((0.08 + 0.98) / 2)
    three = torch.tensor([[0.5, 0.3, 0.2]])  # label 1: 0.25 + 0.49 + 0.04
    assert brier_score(three, torch.tensor([1])) == pytest.approx(0.78)
    assert brier_score(torch.eye(3), torch.tensor([0, 1, 2])) == 0.0


@pytest.mark.parametrize(("n_classes", "overconfidence"), [(2, 3.0), (4, 0.5)])
def test_the_fitted_temperature_undoes_a_known_scaling(n_classes: int, overconfidence: float) -> None:
    """Labels drawn from softmax(z); the model says z * c; the temperature that calibrates it is c."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(20_000, n_classes, generator=g)
    labels = torch.multinomial(z.softmax(dim=1), 1, generator=g).squeeze(1)
    temperature = fit_temperature(z * overconfidence, labels)
    assert temperature == pytest.approx(overconfidence, rel=0.05)
    before = brier_score((z * overconfidence).softmax(dim=1), labels)
    assert brier_score((z * overconfidence / temperature).softmax(dim=1), labels) < before


def test_a_separable_split_stops_the_temperature_at_its_bound() -> None:
    logits = torch.tensor([[2.0, -2.0], [-1.0, 1.0], [3.0, 0.0]])
    assert fit_temperature(logits, torch.tensor([0, 1, 0])) == pytest.approx(TEMPERATURE_BOUNDS[0], rel=1e-3)
