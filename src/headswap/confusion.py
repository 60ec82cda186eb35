"""A run's test confusion matrix as files: ``confusion_matrix.csv`` and a ``confusion_matrix.png`` heatmap.

Written for every run, so an N-class matrix too large to print (N > 20) can still be read; plain Python
and matplotlib, imported only when a file is drawn.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from headswap.io import atomic_write, write_png

CSV_NAME, PNG_NAME = "confusion_matrix.csv", "confusion_matrix.png"


def confusion_csv(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> str:
    """Rows are true classes, columns predicted ones, both headed by their label."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["true \\ predicted", *labels])
    for label, row in zip(labels, matrix):
        writer.writerow([label, *row])
    return out.getvalue()


def draw_confusion(ax: Any, matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> None:
    """A heatmap on ``ax``, counts written in the cells while they stay legible (N <= 20)."""
    n = len(labels)
    ax.imshow(matrix, cmap="Blues")
    if n <= 20:
        for r in range(n):
            for k in range(n):
                ax.text(k, r, str(matrix[r][k]), ha="center", va="center", fontsize=8 if n > 6 else 10)
    rotation = 90 if n > 2 else 0
    ax.set_xticks(range(n), [f"pred {x}" for x in labels], rotation=rotation, fontsize=7 if n > 6 else 9)
    ax.set_yticks(range(n), [f"true {x}" for x in labels], fontsize=7 if n > 6 else 9)


def write_confusion_files(output_dir: str | Path, record: dict[str, Any]) -> list[Path]:
    """The record's test confusion matrix as CSV and PNG in ``output_dir``, each written atomically."""
    from matplotlib.figure import Figure  # not pyplot's: no display needed, nothing global left open

    matrix, labels = record["confusion_matrix"], record["labels"]
    size = max(3.0, 0.45 * len(labels) + 1.5)
    figure = Figure(figsize=(size, size))
    ax = figure.add_subplot()
    draw_confusion(ax, matrix, labels)
    ax.set_title(f"test confusion matrix ({record['regime']}, seed {record['seed']})", fontsize=9)
    png = write_png(figure, Path(output_dir) / PNG_NAME)
    text = confusion_csv(matrix, labels).encode()
    return [atomic_write(Path(output_dir) / CSV_NAME, lambda f: f.write(text)), png]
