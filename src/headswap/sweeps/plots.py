"""Plots of a comparison: F1 by group, F1 against train time (cost/benefit), confusion matrices."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt

from headswap.io import write_png
from headswap.sweeps.multirun import Comparison


def _save(fig: plt.Figure, path: Path) -> Path:
    write_png(fig, path)
    plt.close(fig)
    return path


def _err(half_width: float) -> float:
    return 0.0 if math.isnan(half_width) else half_width


def f1_by_group(c: Comparison, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(c.groups) + 2), 3.5))
    names = [g.name for g in c.groups]
    means = [g.scores["f1"].mean for g in c.groups]
    ax.bar(names, means, yerr=[_err(g.scores["f1"].half_width) for g in c.groups], capsize=4, color="#8fb3d9")
    for i, g in enumerate(c.groups):
        ax.scatter([i] * len(g.jobs), [j.metrics["test"]["f1"] for j in g.jobs], color="k", s=10, zorder=3)
    ax.set_ylabel("test F1 (mean, 95% CI, runs)")
    ax.set_ylim(max(0.0, min(means) - 0.15), 1.0)
    ax.tick_params(axis="x", labelrotation=30)
    return _save(fig, path)


def f1_vs_time(c: Comparison, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for g in c.groups:
        x = g.mean_of("cost", "train_seconds")
        if math.isnan(x):  # run without the cost monitor: nothing to place it at
            continue
        ax.errorbar(
            x, g.scores["f1"].mean, yerr=_err(g.scores["f1"].half_width), fmt="o", capsize=4, label=g.name
        )
    # beside the plot: labels never overlap
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    ax.set_xlabel("train time per run (s, mean)")
    ax.set_ylabel("test F1 (mean, 95% CI)")
    ax.set_title("what each choice buys and what it costs")
    return _save(fig, path)


def confusion_matrices(c: Comparison, path: Path) -> Path:
    n = len(c.groups)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.8), squeeze=False)
    for ax, g in zip(axes[0], c.groups):
        total = [[sum(j.metrics["confusion_matrix"][r][k] for j in g.jobs) for k in (0, 1)] for r in (0, 1)]
        labels = g.jobs[0].metrics["labels"]
        ax.imshow(total, cmap="Blues")
        for r in (0, 1):
            for k in (0, 1):
                ax.text(k, r, str(total[r][k]), ha="center", va="center")
        ax.set_xticks([0, 1], [f"pred {x}" for x in labels])
        ax.set_yticks([0, 1], [f"true {x}" for x in labels])
        ax.set_title(f"{g.name}\n(sum of {len(g.jobs)} runs)", fontsize=8)
    return _save(fig, path)


def draw_all(c: Comparison, out_dir: Path) -> list[Path]:
    return [
        f1_by_group(c, out_dir / "f1_by_group.png"),
        f1_vs_time(c, out_dir / "f1_vs_time.png"),
        confusion_matrices(c, out_dir / "confusion_matrices.png"),
    ]
