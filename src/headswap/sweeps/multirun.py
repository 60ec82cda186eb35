"""The jobs of a Hydra multirun as read from disk, and the summaries a comparison makes of them.

Shared by ``compare`` (which computes and tabulates them) and ``plots`` (which draws them), so
neither needs the other's module to know what a job or a group is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import OverrideParseException

from headswap.errors import DataError, MissingFile
from headswap.run_record import FILE_NAME, RunRecord, RunRecordError, read_run_record
from headswap.stats import Estimate
from headswap.task import THRESHOLD_SCORES


@cache
def _parser() -> OverridesParser:
    return OverridesParser.create()


def parse_overrides(lines: Sequence[str], source: Path) -> list[Override]:
    """A job's overrides as Hydra reads them: ``+seed=3``, ``hydra/launcher=joblib``, ``x='a=b'`` alike."""
    try:
        return _parser().parse_overrides(list(lines))
    except OverrideParseException as e:
        raise DataError(
            f"{source}: {e.override!r} is not a Hydra override: {str(e).splitlines()[0]}"
        ) from None


def override_lines(path: Path) -> list[str]:
    """A job's ``.hydra/overrides.yaml`` as the lines typed, read as plain YAML: OmegaConf would resolve
    ``${...}`` in them (a single run stores ``data.val_per_class=${data.train_per_class}`` unescaped), and
    a run folder from elsewhere is data, never something to evaluate."""
    try:
        lines = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        lines = None
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise DataError(f"{path}: not a list of Hydra overrides: pass a folder of runs this headswap wrote")
    return lines


@dataclass
class Job:
    dir: Path
    overrides: list[Override]
    metrics: RunRecord | None  # None: the job failed or has not finished
    error: str | None = None

    @property
    def seed(self) -> str:
        """The seed as written on the command line (``default`` if the job did not set one)."""
        seeds = (
            o.get_value_element_as_str()
            for o in self.overrides
            if o.key_or_group == "seed" and not o.is_delete()
        )
        return next(seeds, "default")


BUDGET_KEYS = ("data.train_per_class=", "data.val_per_class=")


@dataclass
class GroupSummary:
    name: str
    jobs: list[Job]
    scores: dict[str, Estimate] = field(default_factory=dict)  # on test
    val_score: Estimate | None = None  # each job's best validation figure by its monitor: what picks a group

    @property
    def seeds(self) -> list[str]:
        return [j.seed for j in self.jobs]

    @property
    def budget(self) -> int | None:
        """Labels a class its runs trained on (``data.train_per_class``); None: every label there was."""
        return (self.jobs[0].metrics["data"].get("budget") or {}).get("train_per_class")

    @property
    def labels_per_class(self) -> float:
        """The budget, or without one the mean training examples a class: where the learning curve puts it."""
        if self.budget is not None:
            return float(self.budget)
        sizes = self.jobs[0].metrics["data"]["sizes"]["train"]
        return sum(sizes.values()) / max(1, len(sizes))

    @property
    def without_budget(self) -> str:
        """The group's name less its budget: the regime (and other choices) a learning curve follows.
        Runs without a validation part keep a line of their own: theirs is another setting."""
        kept = [part for part in self.name.split(",") if not part.startswith(BUDGET_KEYS)]
        if self.jobs[0].metrics["best_val"] is None:
            kept.append("no validation")
        return ",".join(kept) or "(all runs)"

    def mean_of(self, *keys: str) -> float:
        values = []
        for j in self.jobs:
            value: Any = j.metrics
            for k in keys:
                value = value.get(k) if isinstance(value, dict) else None
            if value is not None:
                values.append(float(value))
        return sum(values) / len(values) if values else math.nan


@dataclass(frozen=True)
class PairedDifference:
    a: str
    b: str
    seeds: list[str]
    diff: Estimate  # the headline test figure (F1, or macro-F1) of a minus that of b, paired by seed
    budget: int | None = None  # the labels a class both trained on: only groups of one budget are paired

    @property
    def verdict(self) -> str:
        if self.diff.n < 2:
            return "one seed: no interval"
        if self.diff.low > 0:
            return f"{self.a} better"
        if self.diff.high < 0:
            return f"{self.b} better"
        return "no clear difference"


@dataclass
class Comparison:
    sweep_dir: Path
    groups: list[GroupSummary]
    pairs: list[PairedDifference]
    failed: list[Job]
    monitor: str = "f1"  # the best_val figure that ranks the groups (the runs' evaluation.monitor)
    metrics: tuple[str, ...] = THRESHOLD_SCORES  # test figures shown: accuracy and macro-F1 for N classes
    headline: str = "f1"  # the test figure with a CI, compared in pairs


def find_jobs(sweep_dir: Path) -> list[Job]:
    """Every job folder of a Hydra multirun (it holds ``.hydra/overrides.yaml``), finished or not.

    Searched at any depth: sweeps written before job folders were kept flat nested them by the ``/``
    in a path override (``data.path=/data/a.csv``)."""
    if not sweep_dir.is_dir():
        raise MissingFile(f"sweep directory {sweep_dir} does not exist: pass the folder a multirun printed")
    jobs = []
    for overrides_file in sorted(sweep_dir.glob("**/.hydra/overrides.yaml")):
        job_dir = overrides_file.parent.parent
        if job_dir == sweep_dir:
            continue
        overrides = parse_overrides(override_lines(overrides_file), overrides_file)
        metrics_file, error_file = job_dir / FILE_NAME, job_dir / "error.txt"
        error = error_file.read_text().strip().splitlines()[0] if error_file.exists() else None
        try:
            metrics = read_run_record(metrics_file) if metrics_file.exists() else None
        except RunRecordError as e:  # one unreadable job is listed as failed; the others still compare
            metrics, error = None, str(e)
        if metrics is None and error is None:
            error = "no metrics.json: the job failed or has not finished"
        jobs.append(Job(job_dir, overrides, metrics, error))
    if not jobs:
        raise DataError(
            f"{sweep_dir} is not a multirun directory: no job folder with .hydra/overrides.yaml in it; "
            "pass the folder printed by `python scripts/train.py -m ...`"
        )
    return jobs
