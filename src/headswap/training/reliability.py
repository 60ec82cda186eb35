"""The reliability diagram of a run's test split: how often the label came true against how sure it was."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from torch import Tensor

from headswap.calibration import N_BINS, expected_calibration_error, reliability_bins
from headswap.io import write_png
from headswap.task import Task

FILE_NAME = "reliability.png"


def reliability_diagram(curves: dict[str, Tensor], labels: Tensor, task: Task, path: str | Path) -> Path:
    """One line per name -> probabilities [n, N] (before and after a temperature), written to ``path``.

    Two classes: the positive class's probability against how often it was the label; more: the top
    class's probability against how often it was right. A ``Figure`` of its own rather than pyplot's:
    nothing global is left open in the training process.
    """
    figure = Figure(figsize=(4.5, 4.5))
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="calibrated")
    for name, probs in curves.items():
        confidence, frequency, count = reliability_bins(probs, labels, task)
        filled = count > 0
        label = f"{name} (ECE {expected_calibration_error(probs, labels, task):.3f})"
        ax.plot(confidence[filled].tolist(), frequency[filled].tolist(), marker="o", label=label)
    positive = task.positive
    if positive is None:
        x, y = "top class probability", "fraction right"
    else:
        x, y = f"predicted P({positive})", f"fraction {positive}"
    ax.set(xlabel=f"{x} ({N_BINS} bins)", ylabel=y, xlim=(0, 1), ylim=(0, 1))
    ax.set_title(f"test reliability ({len(labels)} examples)")
    ax.legend(loc="upper left", fontsize="small")
    return write_png(figure, path)
