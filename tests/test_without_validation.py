"""``data.val_per_class=0``: every labelled example a user has trains or tests. Nothing is chosen on
validation: the last epoch is kept, the threshold stays 0.5, and what needs a validation part is refused
in one line; a sweep's comparison still reads such runs."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from headswap.errors import ConfigError
from headswap.io import safe_load
from headswap.jobs import train
from headswap.run_record import read_run_record, selected_score
from headswap.sweeps.comparison import compare, compare_and_report
from headswap.training.build import build_datamodule

from .conftest import assert_refused, compose_cfg
from .records import sample_record

EPOCHS = 3
QUICK = ["pretrain.epochs=1", f"trainer.max_epochs={EPOCHS}", "trainer.enable_progress_bar=false"]
BUDGET = ["data.train_per_class=12", "data.val_per_class=0"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("without_validation")
    record = train.run(compose_cfg(tmp_path, [*QUICK, *BUDGET, "regime=full"]))
    return tmp_path, record


def test_the_last_epoch_is_kept_and_nothing_is_chosen_on_validation(run) -> None:
    tmp_path, record = run
    output = tmp_path / "run"
    assert record["best_val"] is None and record["monitor"] is None
    assert safe_load(output / record["checkpoint"])["epoch"] == EPOCHS - 1  # the last of 0, 1, 2
    assert "test_at_val_threshold" not in record  # the threshold stays 0.5
    assert record["data"]["sizes"]["val"] == {} and sum(record["data"]["sizes"]["train"].values()) == 24
    assert read_run_record(output / "metrics.json") == record
    assert selected_score(record) is None  # no figure for a sweeper to optimise
    assert record["pretrained_body"]["val_loss_after"] is None  # and none to measure pre-training on


def test_the_training_sample_is_the_one_a_run_with_validation_draws(tmp_path: Path) -> None:
    """With or without validation, a seed's K labels a class are the same examples: the two settings
    compare on one sample."""

    def train_keys(val_per_class: int) -> list[int]:
        cfg = compose_cfg(tmp_path, ["data.train_per_class=12", f"data.val_per_class={val_per_class}"])
        return build_datamodule(cfg).parts["train"].keys.tolist()

    without, with_val = train_keys(0), train_keys(4)
    assert without == with_val and len(without) == 24


@pytest.mark.parametrize(
    "setting",
    [
        "callbacks=early_stopping",
        "evaluation.calibrate=true",
        "evaluation.monitor=val/loss",
        "hparams_search=optuna",
    ],
)
def test_what_needs_validation_is_refused_in_one_line(tmp_path: Path, setting: str) -> None:
    with pytest.raises(Exception) as err:
        train.run(compose_cfg(tmp_path, [*QUICK, *BUDGET, setting]))
    key = {"callbacks": "callbacks.early_stopping"}.get(setting.split("=")[0], setting.split("=")[0])
    assert isinstance(assert_refused(err.value, key, "drop"), ConfigError)
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_a_validation_file_and_no_validation_are_refused_together(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("text,label\n" + "".join(f"t{i},{'ab'[i % 2]}\n" for i in range(40)))
    overrides = ["data=csv", f"data.path={data}", f"data.val_path={data}", "data.val_per_class=0"]
    with pytest.raises(Exception) as err:
        train.run(compose_cfg(tmp_path, overrides))
    assert isinstance(assert_refused(err.value, "data.val_path"), ConfigError)


def test_no_validation_fraction_is_a_run_without_validation(tmp_path: Path) -> None:
    record = train.run(compose_cfg(tmp_path, [*QUICK, "data.val_fraction=0", "regime=head"]))
    assert record["best_val"] is None and record["checkpoint"] == f"checkpoints/epoch{EPOCHS - 1:03d}.ckpt"


def test_every_validation_example_left_unused_is_counted(tmp_path: Path) -> None:
    dm = build_datamodule(compose_cfg(tmp_path, ["data.val_per_class=0"]))
    (warning,) = [w for w in dm.stats["warnings"] if "val_per_class=0" in w]
    split = build_datamodule(compose_cfg(tmp_path, [])).parts["val"]
    assert f" {len(split)} " in warning and "data.val_fraction=0" in warning


def job(sweep: Path, overrides: list[str], f1: float, validated: bool) -> None:
    folder = sweep / ",".join(overrides)
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    record = sample_record(f1)
    if not validated:
        record.update(best_val=None, monitor=None)
    (folder / "metrics.json").write_text(json.dumps(record))


def test_a_comparison_ranks_validated_groups_and_lists_the_others_after_them(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    for seed in range(3):
        job(sweep, ["data.val_per_class=0", "regime=full", f"seed={seed}"], 0.9 + seed / 100, False)
        job(sweep, ["data.val_per_class=0", "regime=head", f"seed={seed}"], 0.7 + seed / 100, False)
        job(sweep, ["data.val_per_class=8", "regime=head", f"seed={seed}"], 0.6 + seed / 100, True)
    c = compare_and_report(sweep)
    assert [g.name for g in c.groups] == [
        "data.val_per_class=8,regime=head",  # ranked by validation; test never orders the others
        "data.val_per_class=0,regime=full",
        "data.val_per_class=0,regime=head",
    ]
    assert [g.val_score is None for g in c.groups] == [False, True, True]
    (pair,) = [p for p in c.pairs if {p.a, p.b} == {c.groups[1].name, c.groups[2].name}]
    assert round(pair.diff.mean, 6) == 0.2 and pair.verdict.endswith("better")
    rows = list(csv_rows(sweep / "comparison.csv"))
    assert Counter(r["val_f1_mean"] == "" for r in rows) == {True: 2, False: 1}
    assert compare(sweep).monitor == "f1"


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))
