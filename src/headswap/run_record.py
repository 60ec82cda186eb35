"""``metrics.json``, the record of one training run: its keys, its format version, one writer, one reader.

Training writes the file through ``write_run_record``; the report, the demo, compare and its plots read
it through ``read_run_record``. Both validate it (pydantic, strictly: no value is coerced) against
``RunRecord``, whose score keys the run's ``Task`` fills in, so a file with a missing or renamed key, a
wrong-typed value or another format version fails in one line naming the file and the dotted key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache, reduce
from itertools import takewhile
from operator import getitem
from pathlib import Path
from typing import Annotated, Any, cast, get_type_hints

from pydantic import Field, TypeAdapter, ValidationError
from typing_extensions import NotRequired, TypedDict

from headswap.errors import DataError
from headswap.io import write_json
from headswap.task import BINARY_SCORES, Task

FORMAT_VERSION = 4
"""Raise it when a key is added, renamed, removed or changes meaning, and teach ``_upgrade`` to read the old
version as the new one; readers refuse every version not in ``READABLE_VERSIONS``. Version 2 adds runs of
more than two classes, ``monitor``, ``test.ece``, ``test.brier``, ``calibration`` and ``early_stopping``;
version 3 moves the macro average out of ``per_class`` (``macro_average``: a class may be called "macro"),
adds ``checkpoint``, ``calibration.fitted`` and ``.applied`` and ``cost.peak_rss_of``; version 4 lets
``best_val`` and ``monitor`` be null (a run without validation keeps its last epoch). Files written
before the field existed are read as version 1."""

READABLE_VERSIONS = (1, 2, 3, 4)
FILE_NAME = "metrics.json"

Scores = dict[str, Any]
"""A split's figures: the task's score names (``Task.score_names``) and ``loss``; on test also ``ece`` and
``brier`` (None in version 1), on the best validation epoch ``epoch`` (None: no checkpoint was kept)."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Epoch = Annotated[int, Field(ge=0)]


class ClassScores(TypedDict):
    precision: float
    recall: float
    f1: float
    support: NotRequired[int]  # each class has it; their macro average does not


class Calibration(TypedDict):
    """A temperature fitted on the validation split, and the test figures before and after the one applied:
    the fitted one, or 1.0 when the fit ended at a bound of its search (the split too small or too easy)."""

    temperature: Annotated[float, Field(gt=0.0)]  # what predict, serve and export divide the logits by
    fitted: float
    applied: bool
    ece_before: float
    ece_after: float
    brier_before: float
    brier_after: float


class EarlyStop(TypedDict):
    """Early stopping as configured, and the epoch (from 0) it stopped training in; None: it never did."""

    monitor: str
    patience: int
    stopped_epoch: int | None


class Params(TypedDict):
    trainable: int  # every weight the run trained, at any stage (regime.pairs: the body, then the head)
    total: int
    body_trainable_parts: list[str]  # at the end of training: gradual unfreezing may have added parts


class Cost(TypedDict):
    train_seconds: float
    fit_seconds: float
    seconds_per_epoch: float
    epochs: int
    train_state_mb: float
    peak_rss_mb: float
    peak_rss_of: NotRequired[str]  # "run": this run's own peak; "process": its process's (another OS)
    peak_cuda_mb: NotRequired[float]  # only where CUDA is available
    pretrain_seconds: NotRequired[float]  # pre-training the body in this run; 0.0 when it came from the cache
    # regime.pairs: tuning the body on pairs (in train_ and fit_seconds)
    pair_tuning_seconds: NotRequired[float]
    precision: NotRequired[str]  # what training ran under: "32-true" or "bf16-mixed" (trainer.precision)


class DataStats(TypedDict):
    sizes: dict[str, dict[str, int]]  # part -> label name -> count
    duplicate_groups: int
    duplicate_rows: int
    truncated: int
    max_len: int
    warnings: NotRequired[list[str]]  # what about the split could mislead (data.split.split_warnings)
    parts_from: NotRequired[dict[str, str]]  # part -> the file it came from, or "training file"
    test_overlap: NotRequired[int]  # with a test file: training-file rows holding one of its texts
    budget: NotRequired[dict[str, int | None]]  # train_per_class, val_per_class, sample_seed


class RunTime(TypedDict):
    started: float
    finished: float
    pid: int


class RunRecord(TypedDict):
    format_version: int
    body: str  # "tiny", or the pretrained model's name
    regime: str
    pool: str
    schedule: str
    seed: int | None
    overrides: list[str]
    labels: list[str]  # the classes, index = class id: [negative, positive] for two
    test: Scores
    best_val: Scores | None  # None: the run had no validation part (data.val_per_class=0)
    confusion_matrix: list[list[int]]  # N x N on test, rows true: [[tn, fp], [fn, tp]] at 0.5 for two
    per_class: dict[str, ClassScores]  # each label
    macro_average: ClassScores  # the plain mean of the classes' precision, recall and F1
    params: Params
    cost: Cost  # {} when the cost monitor was off: nothing was measured
    data: DataStats
    pretrained_body: dict[str, Any]
    checkpoint: str | None  # the weights the figures come from, relative to the run folder; None: none kept
    output_dir: str
    time: RunTime
    calibration: Calibration | None  # None: not calibrated (evaluation.calibrate=false)
    early_stopping: EarlyStop | None  # None: not configured (no callbacks.early_stopping)
    test_at_val_threshold: NotRequired[Scores]  # two classes with evaluation.tune_threshold: + threshold
    monitor: NotRequired[str | None]  # what picked the best epoch: "val/f1" (two classes), "val/macro_f1";
    # None: nothing did (no validation: the last epoch)


LABELS = TypeAdapter(list[str])


class RunRecordError(DataError):
    """A ``metrics.json`` this version cannot read: the message names the file and the key."""


@cache
def _schema(labels: tuple[str, ...], cost_measured: bool) -> TypeAdapter:
    """``RunRecord`` with the score keys of these classes spelt out, for pydantic to check."""
    scores = {name: float for name in Task(labels).score_names} | {"loss": float}
    keys = get_type_hints(RunRecord, include_extras=True)
    keys["test"] = TypedDict("TestScores", {**scores, "ece": float | None, "brier": float | None})
    keys["best_val"] = TypedDict("BestVal", {**scores, "epoch": Epoch | None}) | None
    threshold: dict[str, Any] = {**dict.fromkeys(BINARY_SCORES, float), "threshold": Probability}
    threshold["confusion_matrix"] = list[list[int]]
    keys["test_at_val_threshold"] = NotRequired[TypedDict("ThresholdScores", threshold)]
    scored_class = TypedDict("Class", {**get_type_hints(ClassScores), "support": int})
    keys["per_class"] = TypedDict("PerClass", dict.fromkeys(labels, scored_class))
    keys["cost"] = Cost if cost_measured else dict
    return TypeAdapter(TypedDict("RunRecord", keys))


def check_run_record(data: Any, source: str | Path) -> RunRecord:
    """``data`` as a RunRecord (version 1 when it has none), or one line naming ``source`` and the key."""
    if not isinstance(data, dict):
        raise RunRecordError(
            f"{source}: not a run record: a JSON object was expected, not {type(data).__name__}"
        )
    # files from before these fields existed are version 1, and ran the tiny body (the only one then)
    record = {"format_version": 1, "body": "tiny", **data}
    version = record["format_version"]
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise RunRecordError(
            f"{source}: key 'format_version' is {version!r}, but this headswap reads formats "
            f"{', '.join(map(str, READABLE_VERSIONS))}: read it with the version that wrote it"
        )
    record = _upgrade(record)
    try:  # the classes first: the other keys' schema depends on them
        labels = tuple(LABELS.validate_python(record.get("labels"), strict=True))
    except ValidationError as e:
        raise RunRecordError(_one_line(e, record, source, within="labels")) from None
    try:
        _schema(labels, record.get("cost") != {}).validate_python(record, strict=True)
    except ValidationError as e:
        raise RunRecordError(_one_line(e, record, source)) from None
    record.setdefault("monitor", Task(labels).monitor)  # version 1: always val/f1
    return cast(RunRecord, record)


def _upgrade(record: dict[str, Any]) -> dict[str, Any]:
    """An older record read as the current version (what was not measured then, as not measured);
    ``format_version`` stays the file's."""
    if record["format_version"] < 2:
        test = record.get("test")
        test = {"ece": None, "brier": None, **test} if isinstance(test, dict) else test
        record = {"calibration": None, "early_stopping": None, **record, "test": test}
    if record["format_version"] < 3:
        per_class = record.get("per_class")
        if isinstance(per_class, dict) and "macro" in per_class:
            per_class = dict(per_class)
            record = {**record, "per_class": per_class, "macro_average": per_class.pop("macro")}
        calibration = record.get("calibration")
        if isinstance(calibration, dict):
            record["calibration"] = {"fitted": calibration.get("temperature"), "applied": True, **calibration}
        best_val = record.get("best_val")
        epoch = best_val.get("epoch") if isinstance(best_val, dict) else None
        record.setdefault("checkpoint", None if epoch is None else f"checkpoints/epoch{epoch:03d}.ckpt")
    return record


def _one_line(
    e: ValidationError, record: dict[str, Any], source: str | Path, within: str | None = None
) -> str:
    """The first problem (by key) as ``<file>: key 'a.b' is <value> (<why>)``; a value inside a list is
    shown as the whole list, named by its key. ``within``: the key ``e`` validated on its own."""
    suffix = f"(metrics.json format {FORMAT_VERSION})"
    if within and within not in record:
        return f"{source}: key {within!r} is missing {suffix}"
    first = min(e.errors(), key=lambda error: [str(part) for part in error["loc"]])
    loc = (within, *first["loc"]) if within else first["loc"]
    path = [str(part) for part in takewhile(lambda part: not isinstance(part, int), loc)]
    where = ".".join(path)
    if first["type"] == "missing":
        return f"{source}: key {where!r} is missing {suffix}"
    why = first["msg"][0].lower() + first["msg"][1:]
    return f"{source}: key {where!r} is {_short(reduce(getitem, path, record))} ({why}) {suffix}"


def selected_score(record: RunRecord) -> float | None:
    """The best validation figure by the run's monitor: what picked its epoch, and what a sweeper
    optimises."""
    if record["best_val"] is None:  # no validation: nothing picked it (checks refuse a search on it)
        return None
    return float(record["best_val"][record.get("monitor", "val/f1").removeprefix("val/")])


def write_run_record(output_dir: str | Path, record: Mapping[str, Any]) -> Path:
    """Check ``record`` as a reader would, then write it atomically as ``output_dir/metrics.json``."""
    path = Path(output_dir) / FILE_NAME
    check_run_record(dict(record), f"the record for {path}")
    return write_json(path, record)


def read_run_record(path: str | Path) -> RunRecord:
    """A run's ``metrics.json``, checked against ``RunRecord``."""
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunRecordError(f"{path}: not JSON ({e})") from None
    return check_run_record(data, path)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
