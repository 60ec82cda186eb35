"""Classic baselines on the training runs' exact split: what TF-IDF + a linear model scores, no body."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from rich.table import Table

from headswap.io import write_json
from headswap.jobs.build import build_datamodule
from headswap.jobs.runtime import configure_runtime
from headswap.lit.datamodule import PARTS
from headswap.report import console as make_console
from headswap.run_record import THRESHOLD_METRICS

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
        "truncated_to_max_len": False,
        "grid": list(GRID),
        "models": {name: evaluate(build, data) for name, build in builders.items()},
        "output_dir": str(cfg.paths.output_dir),
    }
    write_json(Path(cfg.paths.output_dir) / "baseline.json", result)
    print_table(result, datamodule.max_len)
    return result


def scores(labels: list[int], predicted: list[int]) -> dict[str, float]:
    """Precision, recall and F1 of class 1 (the positive class, as in training), and accuracy."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    p, r, f1, _ = precision_recall_fscore_support(labels, predicted, average="binary", zero_division=0)
    return dict(zip(THRESHOLD_METRICS, map(float, (p, r, f1, accuracy_score(labels, predicted)))))


def evaluate(build: Callable[[float], Any], data: Data) -> dict[str, Any]:
    """Fit on train for each C, keep the one with the best validation F1 (first on ties); test it once."""
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = (data[part] for part in PARTS)
    fits = []
    for c in GRID:
        started = time.perf_counter()
        model = build(c).fit(train_x, train_y)
        seconds = time.perf_counter() - started
        fits.append((scores(val_y, model.predict(val_x).tolist())["f1"], c, model, seconds))
    val_f1, c, model, seconds = max(fits, key=lambda fit: fit[0])
    test = scores(test_y, model.predict(test_x).tolist())
    return {
        "C": c,
        "val_f1": round(val_f1, 6),
        "val_f1_by_C": {str(g): round(f, 6) for f, g, _, _ in fits},
        "test": {k: round(v, 6) for k, v in test.items()},
        "fit_seconds": round(seconds, 4),
    }


def print_table(result: dict[str, Any], max_len: int) -> None:
    positive = result["labels"][1]
    title = (
        f"classic baselines (positive class: {positive}; C chosen by validation F1; "
        f"full texts, not truncated to data.max_len={max_len})"
    )
    table = Table(title=title, title_justify="left")
    for column in ("model", "C", "val f1", *(f"test {m}" for m in THRESHOLD_METRICS), "fit time"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, row in result["models"].items():
        test = [f"{row['test'][m]:.4f}" for m in THRESHOLD_METRICS]
        table.add_row(name, f"{row['C']:g}", f"{row['val_f1']:.4f}", *test, f"{row['fit_seconds']:.3f} s")
    make_console().print(table)
