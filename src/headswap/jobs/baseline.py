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
from headswap.lit.metrics import scores_at
from headswap.report import console as make_console
from headswap.report import render_split
from headswap.run_record import SCORES
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
    # liblinear and random_state=0: every fit is deterministic, so nothing else needs a seed
    builders: dict[str, Callable[[float], Any]] = {
        "tfidf word 1-2 + logreg": lambda c: make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(C=c, solver="liblinear"),
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
        "models": {name: evaluate(build, data) for name, build in builders.items()},
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


def scores(model: Any, texts: list[str], labels: list[int]) -> dict[str, float]:
    """The run report's scores (``SCORES``) of class 1 at 0.5, from the same code as training's."""
    result = scores_at(positive_scores(model, texts), torch.tensor(labels), 0.5)
    return {m: result[m] for m in SCORES}


def evaluate(build: Callable[[float], Any], data: Data) -> dict[str, Any]:
    """Fit on train for each C, keep the one with the best validation F1 (first on ties); test it once."""
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = (data[part] for part in PARTS)
    fits = []
    for c in GRID:
        started = time.perf_counter()
        model = build(c).fit(train_x, train_y)
        seconds = time.perf_counter() - started
        fits.append((scores(model, val_x, val_y)["f1"], c, model, seconds))
    val_f1, c, model, seconds = max(fits, key=lambda fit: fit[0])
    return {
        "C": c,
        "val_f1": round(val_f1, 6),
        "val_f1_by_C": {str(g): round(f, 6) for f, g, _, _ in fits},
        "test": scores(model, test_x, test_y),
        "fit_seconds": round(seconds, 4),
    }


def print_table(result: dict[str, Any], max_len: int) -> None:
    positive = result["labels"][1]
    title = (
        f"classic baselines (positive class: {positive}; C chosen by validation F1; "
        f"full texts, not truncated to data.max_len={max_len})"
    )
    table = Table(title=title, title_justify="left")
    for column in ("model", "C", "val f1", *(f"test {m}" for m in SCORES), "fit time"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, row in result["models"].items():
        test = [f"{row['test'][m]:.4f}" for m in SCORES]
        table.add_row(name, f"{row['C']:g}", f"{row['val_f1']:.4f}", *test, f"{row['fit_seconds']:.3f} s")
    make_console().print(table)
