"""The logger group: csv (default), tensorboard and mlflow each record a tiny run."""

from __future__ import annotations

from pathlib import Path

import pytest

from headswap.jobs import train

from .conftest import TINY, compose_cfg


@pytest.mark.parametrize(("logger", "pattern"), [
    ("csv", "run/csv/metrics.csv"),
    ("tensorboard", "run/tensorboard/events.out.tfevents.*"),
])
def test_each_file_logger_records_the_run(tmp_path: Path, logger: str, pattern: str) -> None:
    train.run(compose_cfg(tmp_path, [*TINY, f"logger={logger}"]))
    assert list(tmp_path.glob(pattern)), sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))[:40]


def test_mlflow_records_the_run_in_a_local_database(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    (tmp_path / "logs").mkdir()  # Hydra creates it for a real run
    train.run(compose_cfg(tmp_path, [*TINY, "logger=mlflow"]))
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/logs/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("headswap-train").experiment_id])
    assert run.info.run_name == "head-seed0"
    assert {"val/f1", "test/f1", "train/loss"} <= set(run.data.metrics)
