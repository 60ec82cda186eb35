"""Plots of a comparison: F1 by group, F1 against train time (cost/benefit), confusion matrices."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt

from headswap.confusion import draw_confusion
from headswap.io import write_png
from headswap.stats import Estimate
from headswap.sweeps.multirun import Comparison


def _save(fig: plt.Figure, path: Path) -> Path:
    write_png(fig, path)
    plt.close(fig)
    return path


def _err(e: Estimate) -> tuple[float, float]:
    """How far the interval reaches below and above the mean: clipped at the figure's range, so not
    always symmetric; none for one run."""
    return (0.0, 0.0) if math.isnan(e.half_width) else (e.mean - e.low, e.high - e.mean)


def f1_by_group(c: Comparison, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(c.groups) + 2), 3.5))
    names = [g.name for g in c.groups]
    key = c.headline
    means = [g.scores[key].mean for g in c.groups]
    ax.bar(names, means, yerr=list(zip(*(_err(g.scores[key]) for g in c.groups))), capsize=4, color="#8fb3d9")
    for i, g in enumerate(c.groups):
        ax.scatter([i] * len(g.jobs), [j.metrics["test"][key] for j in g.jobs], color="k", s=10, zorder=3)
    ax.set_ylabel(f"test {key} (mean, 95% CI, runs)")
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
            x,
            g.scores[c.headline].mean,
            yerr=[[bound] for bound in _err(g.scores[c.headline])],
            fmt="o",
            capsize=4,
            label=g.name,
        )
    # beside the plot: labels never overlap
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    ax.set_xlabel("train time per run (s, mean)")
    ax.set_ylabel(f"test {c.headline} (mean, 95% CI)")
    ax.set_title("what each choice buys and what it costs")
    return _save(fig, path)


def confusion_matrices(c: Comparison, path: Path) -> Path:
    n = len(c.groups)
    classes = range(len(c.groups[0].jobs[0].metrics["labels"]))
    side = max(2.6, 0.4 * len(classes) + 1.4)
    fig, axes = plt.subplots(1, n, figsize=(side * n, side + 0.2), squeeze=False)
    for ax, g in zip(axes[0], c.groups):
        total = [[sum(j.metrics["confusion_matrix"][r][k] for j in g.jobs) for k in classes] for r in classes]
        draw_confusion(ax, total, g.jobs[0].metrics["labels"])
        ax.set_title(f"{g.name}\n(sum of {len(g.jobs)} runs)", fontsize=8)
    return _save(fig, path)


def learning_curve(c: Comparison, path: Path) -> Path:
    """Test score against labels a class (log scale), a line per regime (the group less its budget) with
    its 95% interval; beside it, the train seconds each point cost."""
    fig, (score, cost) = plt.subplots(1, 2, figsize=(10, 4))
    lines: dict[str, list] = {}
    for g in c.groups:
        lines.setdefault(g.without_budget, []).append(g)
    for name, groups in lines.items():
        groups.sort(key=lambda g: g.labels_per_class)
        x = [g.labels_per_class for g in groups]
        low, high = zip(*(_err(g.scores[c.headline]) for g in groups))
        score.errorbar(
            x,
            [g.scores[c.headline].mean for g in groups],
            yerr=[low, high],
            capsize=3,
            marker="o",
            label=name,
        )
        cost.plot(x, [g.mean_of("cost", "train_seconds") for g in groups], marker="o", label=name)
    ticks = sorted({g.labels_per_class for g in c.groups})
    for ax, label in ((score, f"test {c.headline} (mean, 95% CI)"), (cost, "train seconds per run (mean)")):
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(ticks, [f"{t:.0f}" for t in ticks])  # budgets are whole; "every label" a mean
        ax.set_xlabel("labels a class (log scale)")
        ax.set_ylabel(label)
    cost.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    score.set_title("more labels, or another regime?")
    return _save(fig, path)


def draw_all(c: Comparison, out_dir: Path) -> list[Path]:
    curve = (
        [learning_curve(c, out_dir / "learning_curve.png")] if len({g.budget for g in c.groups}) > 1 else []
    )
    return [
        f1_by_group(c, out_dir / "f1_by_group.png"),
        f1_vs_time(c, out_dir / "f1_vs_time.png"),
        confusion_matrices(c, out_dir / "confusion_matrices.png"),
        *curve,
    ]
