"""``metrics.json``, the record of one training run: its keys, its format version, one writer, one reader.

Training writes the file through ``write_run_record``; the report, the demo, compare and its plots read
it through ``read_run_record``. Both check it against ``RunRecord``, so a file with a missing or renamed
key, or of another format version, fails in one line naming the file and the key, not deep in a table.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict, cast, get_args, get_origin, get_type_hints, is_typeddict

from headswap.io import write_json

THRESHOLD_METRICS = ("precision", "recall", "f1", "accuracy")
"""Scores of hard decisions at a threshold. Every classifier has them, the TF-IDF baselines (a linear SVM
gives no probabilities) included, so these are the scores runs, groups and baselines are compared on."""

RANKING_METRICS = ("pr_auc", "roc_auc")
"""Scores of the ranking by class-1 probability, free of any threshold."""

SCORES = THRESHOLD_METRICS + RANKING_METRICS
"""Every score a two-class run records for its test split and its best validation epoch, in the report's
order."""

MULTICLASS_SCORES = ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")
"""Every score a run of more than two classes records for its test split and best validation epoch (and
``top3_accuracy`` where there are more than five classes), in the report's order."""

FORMAT_VERSION = 2
"""Raise it when a key is added, renamed, removed or changes meaning, and teach ``_upgrade`` to read the old
version as the new one; readers refuse every version not in ``READABLE_VERSIONS``. Version 2 adds runs of
more than two classes (their figures under ``MulticlassScores``, an N x N confusion matrix), ``monitor``,
``test.ece``, ``test.brier``, ``calibration`` and ``early_stopping``. Files written before the field
existed are read as version 1."""

READABLE_VERSIONS = (1, 2)

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


class CalibrationFigures(TypedDict):
    """How well the test split's probabilities are calibrated (None: a version-1 run)."""

    ece: float | None  # expected calibration error, 15 bins, of the raw probabilities
    brier: float | None  # mean squared distance of the probability vector from the one-hot label


class TestScores(Scores, CalibrationFigures):
    """The test split's figures of a two-class run."""


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


class _MulticlassFigures(TypedDict):
    accuracy: float
    macro_f1: float
    weighted_f1: float
    macro_precision: float
    macro_recall: float
    loss: float


class MulticlassScores(_MulticlassFigures, total=False):
    """One split's figures of a run of more than two classes, decided by argmax."""

    top3_accuracy: float  # where there are more than five classes


class MulticlassTestScores(MulticlassScores, CalibrationFigures):
    """The test split's figures of a run of more than two classes."""


class MulticlassBestVal(MulticlassScores):
    epoch: int | None


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
    labels: list[str]  # the classes, index = class id: [negative, positive] for two
    test: TestScores  # MulticlassTestScores for more than two classes
    best_val: BestVal  # MulticlassBestVal for more than two classes
    confusion_matrix: list[list[int]]  # N x N on test, rows true: [[tn, fp], [fn, tp]] at 0.5 for two
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
    test_at_val_threshold: ThresholdScores  # only with evaluation.tune_threshold, and two classes
    monitor: str  # what picked the best epoch: "val/f1" (the default for two classes) or "val/macro_f1"


RANGES: dict[str, tuple[float, float | None]] = {
    "test_at_val_threshold.threshold": (0.0, 1.0),
    "best_val.epoch": (0, None),
}
"""Keys whose values have a range, not only a type: a threshold is a probability, an epoch a count."""


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
    labels = record.get("labels")
    two = not isinstance(labels, list) or len(labels) == 2
    overrides = {} if two else {"test": MulticlassTestScores, "best_val": MulticlassBestVal}
    record = _upgrade(record)
    _check_keys(record, RunRecord, "", source, overrides)
    per_class = record["per_class"] if isinstance(record["per_class"], dict) else {}
    for name in record["labels"]:
        _check_keys(per_class.get(name), ClassScores, f"per_class.{name}", source)
    _check_keys(per_class.get("macro"), MacroScores, "per_class.macro", source)
    record.setdefault("monitor", "val/f1" if two else "val/macro_f1")  # version 1: always val/f1
    return cast(RunRecord, record)


def _upgrade(record: dict[str, Any]) -> dict[str, Any]:
    """A version-1 record with what version 2 added, as not measured; ``format_version`` stays the file's."""
    if record["format_version"] >= 2:
        return record
    test = record.get("test")
    if isinstance(test, dict):
        test = {"ece": None, "brier": None, **test}
    return {"calibration": None, "early_stopping": None, **record, "test": test}


def _record_in(hint: Any) -> Any:
    """The TypedDict a key holds, alone or as ``X | None``; None for any other hint."""
    if is_typeddict(hint):
        return hint
    if get_origin(hint) in (typing.Union, types.UnionType):
        return next((a for a in get_args(hint) if is_typeddict(a)), None)
    return None


def _check_keys(
    value: Any, schema: type, path: str, source: str | Path, overrides: Mapping[str, type] = {}
) -> None:
    """Every required key of the TypedDict ``schema`` in ``value`` and the type of every key present, and
    so on down its nested records; ``overrides`` gives another schema for some keys (by dotted path)."""
    if not isinstance(value, dict):
        what = "missing" if value is None else f"a {type(value).__name__}, not a JSON object"
        raise RunRecordError(f"{source}: key {path!r} is {what} (metrics.json format {FORMAT_VERSION})")
    hints = get_type_hints(schema)
    for key in sorted(schema.__required_keys__):
        if key not in value:
            where = f"{path}.{key}" if path else key
            raise RunRecordError(f"{source}: key {where!r} is missing (metrics.json format {FORMAT_VERSION})")
    for key in sorted(hints.keys() & value.keys()):
        where = f"{path}.{key}" if path else key
        hint = overrides.get(where, hints[key])
        record = _record_in(hint)
        if record is not None and (value[key] is not None or record is hint):  # X | None may be None
            if not (where == "cost" and value[key] == {}):
                _check_keys(value[key], record, where, source, overrides)
        elif not _is_a(value[key], hint) or not _in_range(value[key], where):
            raise RunRecordError(
                f"{source}: key {where!r} is {_short(value[key])}, not {_describe(hint, where)} "
                f"(metrics.json format {FORMAT_VERSION})"
            )


def _is_a(value: Any, hint: Any) -> bool:
    """Whether a JSON value matches a type hint: whole numbers for ``int`` (never a boolean), any number
    for ``float``, and element by element for ``list[...]`` and ``dict[str, ...]``."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_a(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is list:
        return isinstance(value, list) and all(_is_a(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(_is_a(v, args[1]) for v in value.values())
    if is_typeddict(hint):
        return isinstance(value, dict)
    return isinstance(value, hint)


def _in_range(value: Any, where: str) -> bool:
    low, high = RANGES.get(where, (None, None))
    if value is None or low is None:
        return True
    return low <= value and (high is None or value <= high)


def _describe(hint: Any, where: str = "") -> str:
    """``hint`` in words for an error message ("an integer >= 0 or null"), with the key's range if any."""
    args = get_args(hint)
    if get_origin(hint) in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        text = " or ".join(_describe(a, where) for a in kept)
        return text + (" or null" if len(kept) < len(args) else "")
    if get_origin(hint) in (list, dict):
        inner = _describe(args[-1]).partition(" ")[2]  # "an integer" -> "integer"
        plural = "JSON objects" if inner.startswith("JSON object") else inner.partition(" ")[0] + "s"
        inner = plural + inner.removeprefix(
            "JSON object" if plural == "JSON objects" else inner.partition(" ")[0]
        )
        return f"a list of {inner}" if get_origin(hint) is list else f"a JSON object of {inner}"
    names = {int: "an integer", float: "a number", str: "a string", bool: "a boolean"}
    text = names.get(hint, f"a {getattr(hint, '__name__', hint)}")
    low, high = RANGES.get(where, (None, None))
    if low is not None:
        text += f" from {low:g} to {high:g}" if high is not None else f" >= {low:g}"
    return text


def monitor_mode(monitor: str | None) -> str:
    """``min`` for a loss, ``max`` for a score; null (the default monitor, an F1) is a score."""
    return "min" if monitor and monitor.endswith("loss") else "max"


def selected_score(record: RunRecord) -> float:
    """The best validation figure by the run's monitor: what picked its epoch, and what a sweeper
    optimises."""
    return float(record["best_val"][record.get("monitor", "val/f1").removeprefix("val/")])


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


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
