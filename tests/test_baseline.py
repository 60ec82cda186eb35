"""The classic baselines: same split as training, C chosen on validation, test read once per model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sklearn import pipeline as sklearn_pipeline  # the baseline extra, part of dev

from headswap.jobs import baseline
from headswap.task import BINARY_SCORES as SCORES
from headswap.training.build import build_datamodule

from .conftest import compose_cfg

TINY = ("data.source.n_per_class=40",)


def test_baselines_fit_on_train_select_on_val_and_test_once(tmp_path: Path, monkeypatch, capsys) -> None:
    cfg = compose_cfg(tmp_path, TINY, config_name="baseline")
    dm = build_datamodule(cfg)
    parts = {tuple(dm.texts(p)): p for p in ("train", "val", "test")}
    assert len(parts) == 3
    calls: list[tuple[str, str]] = []
    Pipeline = sklearn_pipeline.Pipeline
    fit, logits = Pipeline.fit, baseline.logits

    def spy_fit(self, X, y=None, **kw):
        calls.append(("fit", parts[tuple(X)]))
        assert list(y) == dm.parts[parts[tuple(X)]].labels.tolist()
        return fit(self, X, y, **kw)

    def spy_scores(model, X):
        calls.append(("predict", parts[tuple(X)]))
        return logits(model, X)

    monkeypatch.setattr(Pipeline, "fit", spy_fit)
    monkeypatch.setattr(baseline, "logits", spy_scores)
    result = baseline.run(cfg)

    n = len(baseline.GRID)
    per_model = [("fit", "train"), ("predict", "val")] * n + [("predict", "test")]
    assert calls == per_model * 2  # every fit on train, every choice on val, test once after the choice
    assert result["sizes"] == {p: len(dm.texts(p)) for p in ("train", "val", "test")}
    saved = json.loads((Path(cfg.paths.output_dir) / "baseline.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert len(saved["models"]) == 2
    for row in saved["models"].values():
        by_c = row["val_f1_by_C"]
        assert row["C"] in baseline.GRID and by_c[str(row["C"])] == max(by_c.values()) == row["val_f1"]
        test = row["test"]
        assert sorted(test) == sorted(SCORES)  # the run report's scores, PR-AUC included
        assert all(0 <= test[m] <= 1 for m in SCORES)
        p, r = test["precision"], test["recall"]
        assert test["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0, abs=1e-5)
        assert row["fit_seconds"] > 0
    out = capsys.readouterr().out
    assert "not truncated" in out and "logreg" in out and "linear svm" in out and "test pr_auc" in out
    assert "spam rate" in out and saved["data"]["sizes"] == dm.stats["sizes"]  # the run's split summary


def test_without_validation_the_baselines_fit_the_default_c_once_and_choose_nothing(tmp_path: Path) -> None:
    cfg = compose_cfg(
        tmp_path, (*TINY, "data.train_per_class=10", "data.val_per_class=0"), config_name="baseline"
    )
    result = baseline.run(cfg)
    assert result["sizes"]["val"] == 0 and result["sizes"]["train"] == 20
    for row in result["models"].values():
        assert row["C"] == 1.0 and row["val_f1"] is None and row["val_f1_by_C"] == {}
        assert all(0 <= row["test"][m] <= 1 for m in SCORES)


def test_missing_sklearn_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.feature_extraction.text", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install -e "\.\[baseline\]"'):
        baseline.run(compose_cfg(tmp_path, TINY, config_name="baseline"))
