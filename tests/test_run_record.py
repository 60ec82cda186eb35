"""metrics.json as a contract: what training writes reads back, a file that breaks it fails in one line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from rich.console import Console

from headswap.jobs import train
from headswap.report import render_report
from headswap.run_record import (
    FORMAT_VERSION,
    RunRecordError,
    check_run_record,
    read_run_record,
    write_run_record,
)

from .conftest import TINY, compose_cfg
from .records import multiclass_record, sample_record


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One tiny training run shared by the tests below: its metrics.json and what ``train.run`` returned."""
    torch.set_num_threads(1)
    cfg = compose_cfg(tmp_path_factory.mktemp("train"), TINY)
    result = train.run(cfg)
    return Path(cfg.paths.output_dir) / "metrics.json", result


def test_what_train_writes_reads_back_through_the_contract(trained: tuple[Path, dict[str, Any]]) -> None:
    path, result = trained
    record = read_run_record(path)
    assert record == result == json.loads(path.read_text())
    assert record["format_version"] == FORMAT_VERSION
    console = Console(record=True, width=200)
    console.print(render_report(record))  # the report finds every key it needs
    assert f"test @ {record['test_at_val_threshold']['threshold']:.3f}" in console.export_text()
    assert record["cost"]["pretrain_seconds"] > 0 and record["data"]["warnings"] == []  # optional keys
    (tn, fp), (fn, tp) = record["confusion_matrix"]  # per-class scores agree with the test step's counts
    ham, spam = (record["per_class"][name] for name in record["labels"])
    assert (ham["support"], spam["support"]) == (tn + fp, fn + tp)
    assert spam["recall"] == pytest.approx(tp / (tp + fn), abs=1e-6)
    assert ham["recall"] == pytest.approx(tn / (tn + fp), abs=1e-6)
    assert record["calibration"] is None and record["early_stopping"] is None  # off by default
    assert 0 <= record["test"]["ece"] <= 1 and 0 <= record["test"]["brier"] <= 2  # measured on every run
    assert (path.parent / "errors.jsonl").is_file() and (path.parent / "reliability.png").is_file()


def mutated(path: Path, tmp_path: Path, change: Any) -> Path:
    data = json.loads(path.read_text())
    change(data)
    out = tmp_path / "metrics.json"
    out.write_text(json.dumps(data))
    return out


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["test"].pop("f1"), "test.f1"),
        (lambda d: d.update(per_klass=d.pop("per_class")), "per_class"),  # renamed
        (lambda d: d["per_class"].pop("spam"), "per_class.spam"),
        (lambda d: d["cost"].pop("train_seconds"), "cost.train_seconds"),
        (lambda d: d["best_val"].pop("epoch"), "best_val.epoch"),
        (lambda d: d.update(params=[130, 1000]), "params"),
        (lambda d: d["test"].pop("ece"), "test.ece"),
        (lambda d: d.pop("early_stopping"), "early_stopping"),
        (lambda d: d.update(calibration={"temperature": 1.5}), "calibration.applied"),
        (lambda d: d.update(early_stopping={"monitor": "val/f1"}), "early_stopping.patience"),
    ],
)
def test_a_missing_or_renamed_key_is_named_in_one_line(
    trained: tuple[Path, dict[str, Any]], tmp_path: Path, change: Any, key: str
) -> None:
    bad = mutated(trained[0], tmp_path, change)
    with pytest.raises(RunRecordError) as err:
        read_run_record(bad)
    message = str(err.value)
    assert message.startswith(f"{bad}: key '{key}' is ") and "\n" not in message


def test_another_format_version_is_refused(trained: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    bad = mutated(trained[0], tmp_path, lambda d: d.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(RunRecordError, match=rf"^{bad}: key 'format_version' is {FORMAT_VERSION + 1}, "):
        read_run_record(bad)


def test_a_file_from_before_format_version_reads_as_version_1(
    trained: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    old = mutated(trained[0], tmp_path, lambda d: d.pop("format_version"))
    record = read_run_record(old)
    assert record["format_version"] == 1
    assert record["test"] == trained[1]["test"]


def test_a_version_1_file_reads_with_what_version_2_added_as_not_measured(
    trained: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    def to_version_1(d: dict[str, Any]) -> None:
        d.update(format_version=1)
        del d["calibration"], d["early_stopping"], d["test"]["ece"], d["test"]["brier"]

    record = read_run_record(mutated(trained[0], tmp_path, to_version_1))
    assert record["format_version"] == 1
    assert (record["calibration"], record["early_stopping"]) == (None, None)
    assert (record["test"]["ece"], record["test"]["brier"]) == (None, None)
    assert record["test"]["f1"] == trained[1]["test"]["f1"]
    console = Console(record=True, width=200)
    console.print(render_report(record))
    assert "not measured" in console.export_text()


def test_cost_may_be_empty_when_not_measured(tmp_path: Path) -> None:
    path = write_run_record(tmp_path, {**sample_record(), "cost": {}})
    assert read_run_record(path)["cost"] == {}


def test_the_writer_refuses_what_a_reader_would(tmp_path: Path) -> None:
    record = sample_record()
    del record["data"]["max_len"]
    with pytest.raises(RunRecordError, match=r"key 'data\.max_len' is missing"):
        write_run_record(tmp_path, record)
    assert not (tmp_path / "metrics.json").exists()


def test_a_file_that_is_not_json_says_so(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text('{"regime": "head",')
    with pytest.raises(RunRecordError, match=rf"^{path}: not JSON"):
        read_run_record(path)


def test_a_boolean_format_version_is_refused(trained: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    bad = mutated(trained[0], tmp_path, lambda d: d.update(format_version=True))  # True == 1 in Python
    with pytest.raises(RunRecordError, match="key 'format_version' is True"):
        read_run_record(bad)


@pytest.mark.parametrize(
    ("change", "key", "value"),
    [
        (lambda d: d["best_val"].update(epoch="abc"), "best_val.epoch", "'abc'"),
        (lambda d: d["best_val"].update(epoch=-1), "best_val.epoch", "-1"),
        (
            lambda d: d["test_at_val_threshold"].update(threshold="high"),
            "test_at_val_threshold.threshold",
            "'high'",
        ),
        (
            lambda d: d["test_at_val_threshold"].update(threshold=7.5),
            "test_at_val_threshold.threshold",
            "7.5",
        ),
        (lambda d: d["test"].update(f1="0.9"), "test.f1", "'0.9'"),
        (lambda d: d.update(seed=True), "seed", "True"),
        (lambda d: d["confusion_matrix"][0].__setitem__(0, 1.5), "confusion_matrix", r"\[\[1\.5"),
        (lambda d: d.update(labels="ham,spam"), "labels", "'ham,spam'"),
    ],
)
def test_a_wrong_typed_value_is_named_with_its_file_and_key(
    trained: tuple[Path, dict[str, Any]], tmp_path: Path, change: Any, key: str, value: str
) -> None:
    bad = mutated(trained[0], tmp_path, change)
    with pytest.raises(RunRecordError) as err:
        read_run_record(bad)
    message = str(err.value)
    assert re.match(rf"{re.escape(str(bad))}: key '{re.escape(key)}' is {value}", message), message
    assert "\n" not in message


def test_a_version_1_file_still_reads_and_was_selected_by_val_f1(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({**sample_record(), "format_version": 1}))
    record = read_run_record(path)
    assert record["format_version"] == 1 and record["monitor"] == "val/f1"


def test_a_multiclass_record_is_checked_against_the_multiclass_figures(tmp_path: Path) -> None:
    record = multiclass_record()
    assert read_run_record(write_run_record(tmp_path, record))["test"]["macro_f1"] == 0.8
    del record["test"]["macro_f1"]
    with pytest.raises(RunRecordError, match=r"key 'test\.macro_f1' is missing"):
        write_run_record(tmp_path / "other", record)


def test_a_record_without_labels_or_not_utf8_is_named_in_one_line(tmp_path: Path) -> None:
    without = {k: v for k, v in sample_record().items() if k != "labels"}
    with pytest.raises(RunRecordError, match="key 'labels' is missing"):
        check_run_record(without, "f")
    path = tmp_path / "metrics.json"
    path.write_bytes(b'{"regime": "caf\xe9"}')
    with pytest.raises(RunRecordError, match=f"{path}: not JSON"):
        read_run_record(path)


def test_the_report_prints_labels_and_names_as_text_not_markup() -> None:
    record = {**sample_record(), "labels": ["[/x]", "[ok]"], "regime": "[bold]r"}
    record["per_class"] = {"[/x]": record["per_class"]["ham"], "[ok]": record["per_class"]["spam"]}
    record["data"] = {
        **record["data"],
        "sizes": {p: {"[/x]": 8, "[ok]": 8} for p in ("train", "val", "test")},
    }
    console = Console(record=True, width=250)
    console.print(render_report(check_run_record(record, "a record with bracketed labels")))
    text = console.export_text()
    assert "pred [ok]" in text and "true [/x]" in text and "regime=[bold]r" in text and "8 [ok]" in text
