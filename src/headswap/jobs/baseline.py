"""Classic baselines on the training runs' exact split: what TF-IDF + a linear model scores, no body."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from rich.table import Table

from headswap.app.checks import check_config
from headswap.app.runtime import configure_runtime
from headswap.io import write_json
from headswap.lit.datamodule import PARTS
from headswap.lit.metrics import multiclass_scores, scores_at
from headswap.report import console as make_console
from headswap.report import render_split
from headswap.run_record import MULTICLASS_SCORES, SCORES
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
        raise ModuleNotFoundError('the baselines need scikit-learn: pip install -e ".[baseline]"') from None
    configure_runtime(cfg)
    check_config(cfg)  # a bad setting ends in one line before any work
    datamodule = build_datamodule(cfg)
    data = {part: (datamodule.texts(part), datamodule.parts[part].labels.tolist()) for part in PARTS}
    # liblinear (lbfgs, multinomial, for more than two classes: liblinear is one-vs-rest only) and
    # random_state=0: every fit is deterministic, so nothing else needs a seed
    solver, iterations = (
        ("liblinear", 100) if datamodule.num_classes == 2 else ("lbfgs", 1000)
    )  # 100: the default
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
        "models": {name: evaluate(build, data, datamodule.num_classes) for name, build in builders.items()},
        "output_dir": str(cfg.paths.output_dir),
    }
    write_json(Path(cfg.paths.output_dir) / "baseline.json", result)
    make_console().print(render_split(datamodule.stats, datamodule.label_names))  # as a run prints it
    print_table(result, datamodule.config.max_len)
    return result


def positive_scores(model: Any, texts: list[str]) -> torch.Tensor:
    """Class-1 scores in [0, 1]: logistic regression's probability, or the sigmoid of the SVM's margin
    (above 0.5 exactly where it predicts class 1), so runs and baselines share one metric code."""
    if hasattr(model, "predict_proba"):
        return torch.as_tensor(model.predict_proba(texts)[:, 1], dtype=torch.float32)
    return torch.sigmoid(torch.as_tensor(model.decision_function(texts), dtype=torch.float32))


def class_probabilities(model: Any, texts: list[str]) -> torch.Tensor:
    """N-column scores that sum to 1: logistic regression's probabilities, or the softmax of the SVM's
    one-vs-rest margins (its argmax is the SVM's prediction), for the multiclass metrics."""
    if hasattr(model, "predict_proba"):
        return torch.as_tensor(model.predict_proba(texts), dtype=torch.float32)
    return torch.as_tensor(model.decision_function(texts), dtype=torch.float32).softmax(dim=-1)


def scores(model: Any, texts: list[str], labels: list[int], num_classes: int = 2) -> dict[str, float]:
    """The run report's scores, from the same code as training's: ``SCORES`` of class 1 at 0.5 for two
    classes, ``MULTICLASS_SCORES`` (and top-3 accuracy where N > 5) by argmax for more."""
    if num_classes == 2:
        result = scores_at(positive_scores(model, texts), torch.tensor(labels), 0.5)
        return {m: result[m] for m in SCORES}
    result = multiclass_scores(class_probabilities(model, texts), torch.tensor(labels))
    return {m: v for m, v in result.items() if m != "confusion_matrix"}


def evaluate(build: Callable[[float], Any], data: Data, num_classes: int = 2) -> dict[str, Any]:
    """Fit on train for each C, keep the one with the best validation F1 (macro-F1 for more than two
    classes; first on ties); test it once."""
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = (data[part] for part in PARTS)
    key = selection_key(num_classes)
    fits = []
    for c in GRID:
        started = time.perf_counter()
        model = build(c).fit(train_x, train_y)
        seconds = time.perf_counter() - started
        fits.append((scores(model, val_x, val_y, num_classes)[key], c, model, seconds))
    val_score, c, model, seconds = max(fits, key=lambda fit: fit[0])
    return {
        "C": c,
        f"val_{key}": round(val_score, 6),
        f"val_{key}_by_C": {str(g): round(f, 6) for f, g, _, _ in fits},
        "test": scores(model, test_x, test_y, num_classes),
        "fit_seconds": round(seconds, 4),
    }


def selection_key(num_classes: int) -> str:
    """What picks C, as what picks a run's epoch by default: F1 for two classes, macro-F1 for more."""
    return "f1" if num_classes == 2 else "macro_f1"


def print_table(result: dict[str, Any], max_len: int) -> None:
    labels = result["labels"]
    key = selection_key(len(labels))
    task = f"positive class: {labels[1]}" if len(labels) == 2 else f"{len(labels)} classes"
    title = (
        f"classic baselines ({task}; C chosen by validation {key.replace('_', '-').replace('f1', 'F1')}; "
        f"full texts, not truncated to data.max_len={max_len})"
    )
    recorded = next(iter(result["models"].values()))["test"]
    order = SCORES if len(labels) == 2 else (*MULTICLASS_SCORES, "top3_accuracy")
    names = [m for m in order if m in recorded]
    table = Table(title=title, title_justify="left")
    for column in ("model", "C", f"val {key.replace('_', ' ')}", *(f"test {m}" for m in names), "fit time"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, row in result["models"].items():
        test = [f"{row['test'][m]:.4f}" for m in names]
        table.add_row(name, f"{row['C']:g}", f"{row[f'val_{key}']:.4f}", *test, f"{row['fit_seconds']:.3f} s")
    make_console().print(table)
