"""After the test, on real tiny runs: calibration fitted on validation, errors.jsonl, early stopping."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from headswap import calibration
from headswap.jobs import train
from headswap.mistakes import FILE_NAME as MISTAKES
from headswap.model.classifier import Classifier
from headswap.run_record import read_run_record
from headswap.training import evaluation
from headswap.training.build import build_datamodule
from headswap.training.finished_run import load_finished_run

from .conftest import TINY, as_hydra_saves_it, assert_refused, compose_cfg


def test_a_calibrated_run_fits_on_validation_and_writes_its_mistakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fits: list[tuple[torch.Tensor, torch.Tensor]] = []

    def spy(logits: torch.Tensor, labels: torch.Tensor) -> float:
        fits.append((logits, labels))
        return calibration.fit_temperature(logits, labels)

    monkeypatch.setattr(evaluation, "fit_temperature", spy)
    cfg = compose_cfg(tmp_path, [*TINY, "evaluation.calibrate=true"])
    train.run(cfg)
    run = Path(cfg.paths.output_dir)
    record = read_run_record(run / "metrics.json")

    (logits, labels), *others = fits  # fitted once, on the validation split's logits, never test's
    assert not others and logits.shape == (len(labels), 2)
    val_counts = record["data"]["sizes"]["val"]
    assert torch.bincount(labels, minlength=2).tolist() == [val_counts[name] for name in record["labels"]]
    fitted = record["calibration"]
    assert fitted is not None and fitted["temperature"] == calibration.fit_temperature(logits, labels)
    assert (fitted["ece_before"], fitted["brier_before"]) == (record["test"]["ece"], record["test"]["brier"])
    assert (run / "reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    rows = [json.loads(line) for line in (run / MISTAKES).read_text().splitlines()]
    index = {name: i for i, name in enumerate(record["labels"])}
    cells = [[0, 0], [0, 0]]
    for row in rows:
        cells[index[row["true"]]][index[row["predicted"]]] += 1
    (tn, fp), (fn, tp) = record["confusion_matrix"]
    assert cells == [[0, fp], [fn, 0]]  # exactly the off-diagonal counts, cell by cell
    assert [r["probability"] for r in rows] == sorted((r["probability"] for r in rows), reverse=True)
    assert all(r["probability"] >= 0.5 for r in rows)  # of the label it predicted

    out = capsys.readouterr().out
    assert f"after T={fitted['temperature']:.3f} (val-fitted)" in out
    assert ("most confident test mistakes" in out) == bool(rows)


def fit_validation_f1(run: Path, epochs: int) -> list[float]:
    """val/f1 of each epoch as logged while fitting (later rows: the validation of the best checkpoint)."""
    with (run / "csv" / "metrics.csv").open() as f:
        logged = [float(row["val/f1"]) for row in csv.DictReader(f) if row["val/f1"]]
    return logged[:epochs]


def test_early_stopping_stops_before_max_epochs_and_keeps_the_best_checkpoint(tmp_path: Path) -> None:
    patience, max_epochs = 2, 30
    settings = [s for s in TINY if not s.startswith("trainer.max_epochs")]
    overrides = [*settings, f"trainer.max_epochs={max_epochs}", "callbacks=early_stopping"]
    cfg = compose_cfg(tmp_path, [*overrides, f"callbacks.early_stopping.patience={patience}"])
    record = train.run(cfg)
    run = Path(cfg.paths.output_dir)

    stop = record["early_stopping"]
    assert stop is not None and stop["monitor"] == "val/f1" and stop["patience"] == patience
    stopped = stop["stopped_epoch"]
    assert stopped is not None and stopped < max_epochs - 1
    assert record["cost"]["epochs"] == stopped + 1
    f1 = fit_validation_f1(run, stopped + 1)
    best = f1.index(max(f1))  # the first epoch with the highest validation F1
    assert record["best_val"]["epoch"] == best == stopped - patience  # no gain for `patience` epochs
    assert record["best_val"]["f1"] == pytest.approx(f1[best], abs=1e-6)
    kept = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert kept == [f"epoch{best:03d}.ckpt", "last.ckpt"]


@pytest.mark.parametrize(
    ("overrides", "key", "fix"),
    [
        (
            ["callbacks=early_stopping", "callbacks.early_stopping.patience=0"],
            "callbacks.early_stopping.patience",
            "an integer >= 1",
        ),
        (["evaluation.calibrate=maybe"], "evaluation.calibrate", "true or false"),
    ],
)
def test_bad_evaluation_settings_end_in_one_line_before_work(
    tmp_path: Path, overrides: list[str], key: str, fix: str
) -> None:
    with pytest.raises(ValueError) as err:
        train.run(compose_cfg(tmp_path, overrides))
    assert_refused(err.value, key, fix)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_each_split_goes_through_the_model_once_after_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test example passes the classifier's forward exactly once in a run (the figures, the threshold,
    the calibration and errors.jsonl all come from that pass); validation once per epoch and once more for
    the best checkpoint."""
    seen: list[int] = []
    forward = Classifier.forward

    def counting(self, input_ids, attention_mask, keys=None):
        seen.extend([] if keys is None else keys.tolist())
        return forward(self, input_ids, attention_mask, keys)

    monkeypatch.setattr(Classifier, "forward", counting)
    cfg = compose_cfg(tmp_path, [*TINY, "evaluation.calibrate=true"])
    record = train.run(cfg)
    dm = build_datamodule(cfg)
    counts = Counter(seen)
    assert [counts[k] for k in dm.parts["test"].keys.tolist()] == [1] * len(dm.parts["test"])
    epochs = record["cost"]["epochs"]
    assert {counts[k] for k in dm.parts["val"].keys.tolist()} == {epochs + 1}
    assert {counts[k] for k in dm.parts["train"].keys.tolist()} == {epochs}


def test_a_temperature_fitted_at_its_bound_is_reported_and_not_applied(tmp_path: Path) -> None:
    """A validation split the model separates perfectly drives the fit to its lower bound: no estimate of
    how sure the model should be, so T = 1 is kept, and the record and report say so."""
    rows = [(f"WIN CASH PRIZE NOW {i}", "spam") for i in range(60)] + [
        (f"see you at lunch {i}", "ham") for i in range(60)
    ]
    data = tmp_path / "separable.csv"
    with data.open("w", newline="") as f:
        csv.writer(f).writerows([("text", "label"), *rows])
    overrides = [
        "data=csv",
        f"data.path={data}",
        "data.max_len=32",
        "pretrain.epochs=1",
        "trainer.max_epochs=10",
    ]
    record = train.run(
        as_hydra_saves_it(compose_cfg(tmp_path, [*overrides, "regime=head", "evaluation.calibrate=true"]))
    )
    fitted = record["calibration"]
    assert fitted["fitted"] == calibration.TEMPERATURE_BOUNDS[0] and fitted["applied"] is False
    assert fitted["temperature"] == 1.0 and fitted["ece_after"] == fitted["ece_before"]
    run = load_finished_run(tmp_path / "run")
    assert run.temperature == 1.0
    batch = run.batch(["WIN CASH PRIZE NOW", "see you at lunch"])
    with torch.no_grad():
        raw = run.classifier(batch["input_ids"], batch["attention_mask"]).softmax(-1)
    torch.testing.assert_close(run.probabilities(["WIN CASH PRIZE NOW", "see you at lunch"]), raw)


def test_without_the_checkpoint_callback_the_run_warns_and_still_predicts(tmp_path: Path, capsys) -> None:
    """``~callbacks.model_checkpoint``: Lightning's own callback keeps the last epoch; the run says so
    before training, and records where that checkpoint is, so predict finds it."""
    record = train.run(as_hydra_saves_it(compose_cfg(tmp_path, [*TINY, "~callbacks.model_checkpoint"])))
    assert "callbacks.model_checkpoint is off" in capsys.readouterr().out
    assert record["checkpoint"] is not None and (tmp_path / "run" / record["checkpoint"]).is_file()
    assert record["best_val"]["epoch"] == record["cost"]["epochs"] - 1  # the last epoch
    assert len(load_finished_run(tmp_path / "run").probabilities(["hello"])) == 1
