"""The logger group: csv (default), tensorboard and mlflow each record a tiny run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from headswap.jobs import train

from .conftest import TINY, compose_cfg


def test_csv_logger_records_every_epoch_and_the_test_figures(tmp_path: Path) -> None:
    result = train.run(compose_cfg(tmp_path, [*TINY, "logger=csv"]))
    (path,) = tmp_path.glob("run/csv/metrics.csv")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    val_f1 = [float(r["val/f1"]) for r in rows if r.get("val/f1")]
    assert len(val_f1) == 3  # each epoch's (trainer.max_epochs=2), then the best checkpoint's again
    assert (
        val_f1[-1]
        == pytest.approx(max(val_f1[:2]), abs=1e-6)
        == pytest.approx(result["best_val"]["f1"], abs=1e-6)
    )
    assert len([r for r in rows if r.get("train/loss")]) == 2
    (test_f1,) = [float(r["test/f1"]) for r in rows if r.get("test/f1")]
    assert test_f1 == pytest.approx(result["test"]["f1"], abs=1e-6)


def test_tensorboard_logger_records_the_same_scalars(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = train.run(compose_cfg(tmp_path, [*TINY, "logger=tensorboard"]))
    (folder,) = {p.parent for p in tmp_path.glob("run/tensorboard/**/events.out.tfevents.*")}
    scalars = EventAccumulator(str(folder)).Reload()  # every events file of the run
    assert {"val/f1", "train/loss", "test/f1"} <= set(scalars.Tags()["scalars"])
    assert len(scalars.Scalars("train/loss")) == 2
    assert scalars.Scalars("test/f1")[-1].value == pytest.approx(result["test"]["f1"], abs=1e-6)


def test_mlflow_records_the_run_in_a_local_database(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    (tmp_path / "logs").mkdir()  # Hydra creates it for a real run
    train.run(compose_cfg(tmp_path, [*TINY, "logger=mlflow"]))
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/logs/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("headswap-train").experiment_id])
    assert run.info.run_name == "head-seed0"
    assert {"val/f1", "test/f1", "train/loss"} <= set(run.data.metrics)
