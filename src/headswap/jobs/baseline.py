"""Classic baselines on the training runs' exact split: what TF-IDF + a linear model scores, no body."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from headswap.app.checks import check_config
from headswap.app.runtime import configure_runtime
from headswap.errors import MissingExtra
from headswap.io import write_json
from headswap.lit.datamodule import PARTS
from headswap.report import console as make_console
from headswap.report import render_split, titled_table
from headswap.scoring import score
from headswap.task import Task
from headswap.training.build import build_datamodule

GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)

Data = dict[str, tuple[list[str], list[int]]]


def run(cfg: DictConfig) -> dict[str, Any]:
    """Both baselines on full texts (no ``max_len``); ``baseline.json`` goes to the run's output folder."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import LinearSVC
    except ModuleNotFoundError:
        raise MissingExtra('the baselines need scikit-learn: pip install -e ".[baseline]"') from None
    configure_runtime(cfg)
    check_config(cfg)  # a bad setting ends in one line before any work
    datamodule = build_datamodule(cfg)
    data = {part: (datamodule.texts(part), datamodule.parts[part].labels.tolist()) for part in PARTS}
    # liblinear (lbfgs, multinomial, for more than two classes: liblinear is one-vs-rest only) and
    # random_state=0: every fit is deterministic, so nothing else needs a seed
    solver, iterations = ("liblinear", 100) if datamodule.task.binary else ("lbfgs", 1000)  # 100: the default
    builders: dict[str, Callable[[float], Any]] = {
        "tfidf word 1-2 + logreg": lambda c: make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(C=c, solver=solver, max_iter=iterations),
        ),
        "tfidf char_wb 2-5 + linear svm": lambda c: make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            LinearSVC(C=c, random_state=0),
        ),
    }
    result = {
        "labels": list(datamodule.label_names),
        "sizes": {part: len(texts) for part, (texts, _) in data.items()},
        "data": datamodule.stats,
        "truncated_to_max_len": False,
        "grid": list(GRID),
        "models": {name: evaluate(build, data, datamodule.task) for name, build in builders.items()},
        "output_dir": str(cfg.paths.output_dir),
    }
    write_json(Path(cfg.paths.output_dir) / "baseline.json", result)
    make_console().print(render_split(datamodule.stats, datamodule.task))  # as a run prints it
    print_table(result, datamodule.config.max_len)
    return result


def logits(model: Any, texts: list[str]) -> torch.Tensor:
    """n x N scores whose softmax the metrics read: logistic regression's log-probabilities, or the SVM's
    margins (two classes: one margin, the positive class's against 0), so runs and baselines share one
    scoring function and the SVM's decisions stay its own (above 0.5 exactly where its margin is > 0)."""
    if hasattr(model, "predict_proba"):
        return torch.as_tensor(model.predict_proba(texts), dtype=torch.float32).log()
    margins = torch.as_tensor(model.decision_function(texts), dtype=torch.float32)
    return torch.stack([torch.zeros_like(margins), margins], dim=1) if margins.dim() == 1 else margins


def scores(model: Any, texts: list[str], labels: list[int], task: Task) -> dict[str, float]:
    """The run report's test scores (the task's, without the loss: an SVM has no probabilities)."""
    figures = score(logits(model, texts), torch.tensor(labels), task).figures
    return {name: round(figures[name], 6) for name in task.score_names}


def evaluate(build: Callable[[float], Any], data: Data, task: Task) -> dict[str, Any]:
    """Fit on train for each C, keep the one with the best validation headline score (F1, or macro-F1;
    what picks a run's epoch by default; first on ties); test it once. Without a validation part
    (``data.val_per_class=0``) nothing is chosen: scikit-learn's default C, 1.0, and no validation score."""
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = (data[part] for part in PARTS)
    key = task.headline
    fits = []
    for c in GRID if val_x else (1.0,):
        started = time.perf_counter()
        model = build(c).fit(train_x, train_y)
        seconds = time.perf_counter() - started
        fits.append((scores(model, val_x, val_y, task)[key] if val_x else None, c, model, seconds))
    val_score, c, model, seconds = max(fits, key=lambda fit: fit[0] or 0.0)
    return {
        "C": c,
        f"val_{key}": None if val_score is None else round(val_score, 6),
        f"val_{key}_by_C": {str(g): round(f, 6) for f, g, _, _ in fits if f is not None},
        "test": scores(model, test_x, test_y, task),
        "fit_seconds": round(seconds, 4),
    }


def print_table(result: dict[str, Any], max_len: int) -> None:
    task = Task(result["labels"])
    key = task.headline
    what = f"positive class: {task.positive}" if task.binary else f"{task.num_classes} classes"
    title = (
        f"classic baselines ({what}; C chosen by validation {key.replace('_', '-').replace('f1', 'F1')}, "
        "else 1; "
        f"full texts, not truncated to data.max_len={max_len})"
    )
    names = task.score_names
    columns = ("model", "C", f"val {key.replace('_', ' ')}", *(f"test {m}" for m in names), "fit time")
    table = titled_table(title, columns)
    for name, row in result["models"].items():
        test = [f"{row['test'][m]:.4f}" for m in names]
        val = row[f"val_{key}"]
        val_shown = "n/a (no validation part)" if val is None else f"{val:.4f}"
        table.add_row(name, f"{row['C']:g}", val_shown, *test, f"{row['fit_seconds']:.3f} s")
    make_console().print(table)
