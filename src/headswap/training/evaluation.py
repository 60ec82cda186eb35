"""After the test: how far the best model's probabilities can be trusted, and what it got wrong.

The test split's calibration error and Brier score are measured on every run; with
``evaluation.calibrate=true`` a temperature is fitted on the validation split's logits (the test split
never feeds it) and the test figures are given before and after it. Every run writes its test mistakes
(``errors.jsonl``) and the reliability diagram (``reliability.png``) beside ``metrics.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from headswap.lit import HeadSwapClassifier, TextDataModule
from headswap.lit.calibration import TEMPERATURE_BOUNDS, calibration_figures, fit_temperature
from headswap.mistakes import find_mistakes, write_mistakes
from headswap.training import reliability

log = logging.getLogger(__name__)


@dataclass
class Predictions:
    """One split's logits and labels as the loaded (best) model gives them, and the run's temperature."""

    logits: Tensor  # n x N
    labels: Tensor  # n
    temperature: float | None = None  # fitted on validation; None: not calibrated

    @property
    def raw(self) -> Tensor:
        """n x N: the softmax of the logits, what every other test figure is computed from."""
        return self.logits.softmax(dim=-1)

    @property
    def calibrated(self) -> Tensor:
        """n x N: the softmax of logits / T (the raw probabilities when not calibrated)."""
        return (self.logits / (self.temperature or 1.0)).softmax(dim=-1)

    def figures(self) -> dict[str, float]:
        """``test.ece`` and ``test.brier``: of the raw probabilities, so runs compare calibrated or not."""
        return calibration_figures(self.raw, self.labels)

    def calibration(self) -> dict[str, float] | None:
        """``metrics.json``'s ``calibration``: the temperature and the test figures before and after it."""
        if self.temperature is None:
            return None
        before, after = self.figures(), calibration_figures(self.calibrated, self.labels)
        return {
            "temperature": self.temperature,
            "ece_before": before["ece"],
            "ece_after": after["ece"],
            "brier_before": before["brier"],
            "brier_after": after["brier"],
        }


def predict_split(model: HeadSwapClassifier, datamodule: TextDataModule, part: str) -> Predictions:
    """The loaded model's logits and labels for one split, in the split's order."""
    return Predictions(*model.predict_logits(datamodule.loader(part)))


def predict_test_split(
    model: HeadSwapClassifier, datamodule: TextDataModule, validation: Predictions | None
) -> Predictions:
    """The loaded model's test logits; given the ``validation`` split's, the temperature fitted on them."""
    predictions = predict_split(model, datamodule, "test")
    if validation is not None:
        predictions.temperature = fit_temperature(validation.logits, validation.labels)
        if predictions.temperature in (round(bound, 6) for bound in TEMPERATURE_BOUNDS):
            log.warning(
                "calibration: the temperature %s is at the end of its range %s: the validation split is "
                "too small or too easy to fit it",
                predictions.temperature,
                TEMPERATURE_BOUNDS,
            )
    return predictions


def write_test_outputs(output_dir: str | Path, predictions: Predictions, datamodule: TextDataModule) -> None:
    """``errors.jsonl`` (with the probabilities the run reports: calibrated when it was) and
    ``reliability.png`` (before and after the temperature)."""
    names = list(datamodule.label_names)
    mistakes = find_mistakes(
        datamodule.texts("test"), predictions.calibrated.tolist(), predictions.labels.tolist(), names
    )
    write_mistakes(output_dir, mistakes)
    curves = {"test": predictions.raw}
    if predictions.temperature is not None:
        after = f"after, T={predictions.temperature:.3g}"
        curves = {"before": predictions.raw, after: predictions.calibrated}
    positive = names[1] if len(names) == 2 else None
    diagram = Path(output_dir) / reliability.FILE_NAME
    reliability.reliability_diagram(curves, predictions.labels, positive, diagram)
