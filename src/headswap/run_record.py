"""``metrics.json``, the record of one training run: its keys, its format version, one writer, one reader.

Training writes the file through ``write_run_record``; the report, the demo, compare and its plots read
it through ``read_run_record``. Both check it against ``RunRecord``, so a file with a missing or renamed
key, or of another format version, fails in one line naming the file and the key, not deep in a table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Any, TypedDict, Union, cast, get_args, get_origin, get_type_hints, is_typeddict

from headswap.io import write_json

THRESHOLD_METRICS = ("precision", "recall", "f1", "accuracy")
"""Scores of hard decisions at a threshold. Every classifier has them, the TF-IDF baselines (a linear SVM
gives no probabilities) included, so these are the scores runs, groups and baselines are compared on."""

RANKING_METRICS = ("pr_auc", "roc_auc")
"""Scores of the ranking by class-1 probability, free of any threshold."""

SCORES = THRESHOLD_METRICS + RANKING_METRICS
"""Every score a run records for its test split and its best validation epoch, in the report's order."""

FORMAT_VERSION = 2
"""Raise it when a key is added, renamed, removed or changes meaning, and teach ``_upgrade`` to read the
old version as the new one; readers refuse every version they do not know. Files written before the
field existed hold exactly version 1's keys, so they are read as version 1.
Version 2 added ``test.ece``, ``test.brier``, ``calibration`` and ``early_stopping``."""

READABLE_VERSIONS = (1, FORMAT_VERSION)

FILE_NAME = "metrics.json"


class Figures(TypedDict):
    """The scores at a threshold, and the two that need none."""

    precision: float
    recall: float
    f1: float
    accuracy: float
    pr_auc: float
    roc_auc: float


class Scores(Figures):
    """One split's figures as logged, at threshold 0.5 (``loss``: mean cross-entropy)."""

    loss: float


class TestScores(Scores):
    """The test split's figures, and how well its probabilities are calibrated (None: a version-1 run)."""

    ece: float | None  # expected calibration error, 15 bins, of the raw probabilities
    brier: float | None  # mean squared distance of the probability vector from the one-hot label


class Calibration(TypedDict):
    """A temperature fitted on the validation split, and the test figures before and after it."""

    temperature: float
    ece_before: float
    ece_after: float
    brier_before: float
    brier_after: float


class EarlyStop(TypedDict):
    """Early stopping as configured, and the epoch (from 0) it stopped training in; None: it never did."""

    monitor: str
    patience: int
    stopped_epoch: int | None


class BestVal(Scores):
    epoch: int | None  # the best checkpoint's epoch; None when no checkpoint was kept


class ThresholdScores(Figures):
    """Test figures at the threshold that maximised validation F1."""

    threshold: float
    confusion_matrix: list[list[int]]


class MacroScores(TypedDict):
    precision: float
    recall: float
    f1: float


class ClassScores(MacroScores):
    support: int


class Params(TypedDict):
    trainable: int
    total: int
    body_trainable_parts: list[str]  # at the end of training: gradual unfreezing may have added parts


class _MeasuredCost(TypedDict):
    train_seconds: float
    fit_seconds: float
    seconds_per_epoch: float
    epochs: int
    train_state_mb: float
    peak_rss_mb: float


class Cost(_MeasuredCost, total=False):
    peak_cuda_mb: float  # only where CUDA is available
    pretrain_seconds: float  # pre-training the body in this run; 0.0 when it came from the cache
    precision: str  # what training ran under: "32-true" or "bf16-mixed" (trainer.precision)


class _DataStats(TypedDict):
    sizes: dict[str, dict[str, int]]  # part -> label name -> count
    duplicate_groups: int
    duplicate_rows: int
    truncated: int
    max_len: int


class DataStats(_DataStats, total=False):
    warnings: list[str]  # what about the split could mislead (headswap.data.split.split_warnings)


class RunTime(TypedDict):
    started: float
    finished: float
    pid: int


class _Record(TypedDict):
    format_version: int
    body: str  # "tiny", or the pretrained model's name
    regime: str
    pool: str
    schedule: str
    seed: int | None
    overrides: list[str]
    labels: list[str]  # [negative, positive]
    test: TestScores
    best_val: BestVal
    confusion_matrix: list[list[int]]  # [[tn, fp], [fn, tp]] on test at 0.5
    per_class: dict[str, MacroScores]  # each label -> ClassScores, and "macro"
    params: Params
    cost: Cost  # {} when the cost monitor was off: nothing was measured
    data: DataStats
    pretrained_body: dict[str, Any]
    output_dir: str
    time: RunTime
    calibration: Calibration | None  # None: not calibrated (evaluation.calibrate=false)
    early_stopping: EarlyStop | None  # None: not configured (no callbacks.early_stopping)


class RunRecord(_Record, total=False):
    test_at_val_threshold: ThresholdScores  # only with evaluation.tune_threshold


class RunRecordError(ValueError):
    """A ``metrics.json`` this version cannot read: the message names the file and the key."""


def check_run_record(data: Any, source: str | Path) -> RunRecord:
    """``data`` as a RunRecord (version 1 when it has none), or one line naming ``source`` and the key."""
    if not isinstance(data, dict):
        raise RunRecordError(
            f"{source}: not a run record: a JSON object was expected, not {type(data).__name__}"
        )
    # files from before these fields existed are version 1, and ran the tiny body (the only one then)
    record = {"format_version": 1, "body": "tiny", **data}
    if type(record["format_version"]) is not int or record["format_version"] not in READABLE_VERSIONS:
        raise RunRecordError(
            f"{source}: key 'format_version' is {record['format_version']!r}, but this headswap reads "
            f"formats {', '.join(map(str, READABLE_VERSIONS))}: read it with the version that wrote it"
        )
    record = _upgrade(record)
    _check_keys(record, RunRecord, "", source)
    per_class = record["per_class"] if isinstance(record["per_class"], dict) else {}
    for name in record["labels"]:
        _check_keys(per_class.get(name), ClassScores, f"per_class.{name}", source)
    _check_keys(per_class.get("macro"), MacroScores, "per_class.macro", source)
    return cast(RunRecord, record)


def _upgrade(record: dict[str, Any]) -> dict[str, Any]:
    """A version-1 record with what version 2 added, as not measured; ``format_version`` stays the file's."""
    if record["format_version"] >= 2:
        return record
    test = record.get("test")
    if isinstance(test, dict):
        test = {"ece": None, "brier": None, **test}
    return {"calibration": None, "early_stopping": None, **record, "test": test}


def _record_type(hint: Any) -> tuple[type | None, bool]:
    """The TypedDict a key holds (or None), and whether it may be None instead (``X | None``)."""
    if is_typeddict(hint):
        return hint, False
    if get_origin(hint) not in (Union, UnionType):
        return None, False
    records = [a for a in get_args(hint) if is_typeddict(a)]
    return (records[0] if records else None), type(None) in get_args(hint)


def _check_keys(value: Any, schema: type, path: str, source: str | Path) -> None:
    """Every required key of the TypedDict ``schema`` in ``value``, and so on down its nested records."""
    if not isinstance(value, dict):
        what = "missing" if value is None else f"a {type(value).__name__}, not a JSON object"
        raise RunRecordError(f"{source}: key {path!r} is {what} (metrics.json format {FORMAT_VERSION})")
    hints = get_type_hints(schema)
    for key in sorted(schema.__required_keys__):
        where = f"{path}.{key}" if path else key
        if key not in value:
            raise RunRecordError(f"{source}: key {where!r} is missing (metrics.json format {FORMAT_VERSION})")
        record, nullable = _record_type(hints[key])
        if record and not (nullable and value[key] is None) and not (where == "cost" and value[key] == {}):
            _check_keys(value[key], record, where, source)


def write_run_record(output_dir: str | Path, record: Mapping[str, Any]) -> Path:
    """Check ``record`` as a reader would, then write it atomically as ``output_dir/metrics.json``."""
    path = Path(output_dir) / FILE_NAME
    check_run_record(dict(record), f"the record for {path}")
    return write_json(path, record)


def read_run_record(path: str | Path) -> RunRecord:
    """A run's ``metrics.json``, checked against ``RunRecord``."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise RunRecordError(f"{path}: not JSON ({e})") from None
    return check_run_record(data, path)
