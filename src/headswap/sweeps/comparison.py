"""Compare the jobs of a multirun: which group wins, by how much, at what cost, and is it real.

Jobs are grouped by every override except ``seed`` (and infrastructure keys such as paths), and by
the body they ran when there is more than one; each group summarised as mean ± std with a 95%
t-interval over its seeds, and every pair of groups compared on the seeds they share (a paired
t-interval on the difference in test F1, or macro-F1 for more than two classes: seed noise cancels in
the pairing). Groups are listed one label budget after another, each by the validation figure the runs
were selected by (``monitor``: F1 for two classes, macro-F1 for more), the figure a choice among them may
rest on; test figures are what the chosen group reports, never what chooses it.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.types import Override
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table

from headswap.errors import DataError
from headswap.io import atomic_write
from headswap.report import console as make_console
from headswap.report import markdown_table
from headswap.run_record import RunRecord
from headswap.stats import Estimate, estimate
from headswap.sweeps import plots
from headswap.sweeps.multirun import Comparison, GroupSummary, Job, PairedDifference, find_jobs
from headswap.task import Task, minimised

IGNORED_KEYS = ("seed", "threads", "paths.")  # not part of what a group is
BODY_KEYS = ("body", "body.path", "body.name")  # which body ran is read from metrics.json instead


def group_name(
    overrides: Sequence[Override], constant: set[str] = frozenset(), body: str | None = None
) -> str:
    """The overrides that define a group: all but the seed, infrastructure keys and those every job shares.

    With ``body`` (when the jobs ran more than one body) the group is named by the body the job's
    ``metrics.json`` records instead of by how the command line chose it (``body=...``, ``body.path=...``).
    """
    kept = [
        str(o.input_line)
        for o in overrides
        if o.input_line not in constant
        and not o.key_or_group.startswith(IGNORED_KEYS)
        and not (body and o.key_or_group in BODY_KEYS)
    ]
    return ",".join(([f"body={body}"] if body else []) + sorted(kept)) or "(all runs)"


def compare(sweep_dir: str | Path) -> Comparison:
    """Group a sweep's finished jobs, summarise each over its seeds, pair groups by seed."""
    sweep_dir = Path(sweep_dir)
    jobs = find_jobs(sweep_dir)
    done = [j for j in jobs if j.metrics is not None]
    failed = [j for j in jobs if j.metrics is None]
    constant = (
        set.intersection(*({str(o.input_line) for o in j.overrides} for j in done))
        if len(done) > 1
        else set()
    )
    several_bodies = len({j.metrics["body"] for j in done}) > 1
    by_group: dict[str, list[Job]] = defaultdict(list)
    for job in done:
        body = job.metrics["body"] if several_bodies else None
        by_group[group_name(job.overrides, constant, body)].append(job)
    monitor, metrics, headline = _figures([j.metrics for j in done], sweep_dir)
    groups = [GroupSummary(name, members) for name, members in by_group.items()]
    score_range = (0.0, math.inf) if minimised(monitor) else (0.0, 1.0)  # a loss, or a score in [0, 1]
    for g in groups:
        g.scores = {m: estimate([j.metrics["test"][m] for j in g.jobs], bounds=(0.0, 1.0)) for m in metrics}
        validated = [j.metrics["best_val"][monitor] for j in g.jobs if j.metrics["best_val"] is not None]
        g.val_score = estimate(validated, bounds=score_range) if validated else None
    groups.sort(key=lambda g: _rank(g, minimised(monitor)))
    return Comparison(sweep_dir, groups, paired(groups, headline), failed, monitor, metrics, headline)


def _rank(group: GroupSummary, loss: bool) -> tuple[float, bool, float, str]:
    """Budget by budget (fewest labels first, every label last): validation figures of other budgets come
    from other samples and rank nothing. Within one, by validation figure, best first; groups trained
    without validation after them, by name: nothing but test figures could order those, and test never
    chooses."""
    budget = math.inf if group.budget is None else float(group.budget)
    if group.val_score is None:
        return budget, True, 0.0, group.name
    return budget, False, group.val_score.mean if loss else -group.val_score.mean, group.name


def paired(groups: list[GroupSummary], headline: str) -> list[PairedDifference]:
    """Every two groups of one label budget, on the seeds they share: runs on other samples of other
    sizes are not pairs."""
    pairs = []
    for i, a in enumerate(groups):
        for b in groups[i + 1 :]:
            score_a = {j.seed: j.metrics["test"][headline] for j in a.jobs}
            score_b = {j.seed: j.metrics["test"][headline] for j in b.jobs}
            shared = sorted(score_a.keys() & score_b.keys())
            if shared and a.budget == b.budget:
                diff = estimate([score_a[s] - score_b[s] for s in shared], bounds=(-1.0, 1.0))
                pairs.append(PairedDifference(a.name, b.name, shared, diff, a.budget))
    return pairs


def _figures(records: list[RunRecord], sweep_dir: Path) -> tuple[str, tuple[str, ...], str]:
    """What ranks the groups (the runs' monitor, as a best_val key), the test figures shown, and the one
    compared in pairs: the task's (``Task.compared``, ``Task.headline``)."""
    monitors = {r["monitor"] for r in records if r["monitor"] is not None}  # None: no validation
    classes = {len(r["labels"]) for r in records}
    if len(monitors) > 1 or len(classes) > 1:
        raise DataError(
            f"the jobs of {sweep_dir} differ in their number of classes ({sorted(classes)}) or in what "
            f"selected their best epoch ({sorted(monitors)}): compare sweeps of one task and monitor"
        )
    task = Task(records[0]["labels"]) if records else Task(("negative", "positive"))
    return next(iter(monitors), task.monitor).removeprefix("val/"), task.compared, task.headline


def _mean_std(e: Estimate | None) -> str:
    if e is None:
        return "no validation"
    return f"{e.mean:.3f}" if e.n < 2 else f"{e.mean:.3f} ± {e.std:.3f}"


def _interval(e: Estimate) -> str:
    return "n/a" if e.n < 2 else f"[{e.low:.3f}, {e.high:.3f}]"


def _rows(c: Comparison) -> list[list[str]]:
    return [
        [
            g.name,
            str(len(g.jobs)),
            _mean_std(g.val_score),
            *(_mean_std(g.scores[m]) for m in c.metrics),
            _interval(g.scores[c.headline]),
            f"{int(g.mean_of('params', 'trainable')):,}",
            f"{g.mean_of('cost', 'train_seconds'):.2f}",
        ]
        for g in c.groups
    ]


def _words(metric: str) -> str:
    """``macro_f1`` -> ``macro F1``, as the tables name it."""
    return metric.replace("_", " ").replace("f1", "F1")


def _header(c: Comparison) -> list[str]:
    val = f"val {c.monitor}".replace("_", " ")  # "val f1", as the two-class tables always said
    test = [m.replace("_", " ") for m in c.metrics]
    return ["group", "runs", val, *test, f"{_words(c.headline)} 95% CI", "trainable params", "train s"]


def _pair_header(c: Comparison) -> list[str]:
    return ["A", "B", "seeds", f"{_words(c.headline)} A − B (mean [95% CI])", "verdict"]


def _pair_rows(pairs: list[PairedDifference]) -> list[list[str]]:
    return [
        [
            p.a,
            p.b,
            str(len(p.seeds)),
            f"{p.diff.mean:+.3f}" + ("" if p.diff.n < 2 else f" [{p.diff.low:+.3f}, {p.diff.high:+.3f}]"),
            p.verdict,
        ]
        for p in pairs
    ]


def by_budget(c: Comparison) -> dict[str, list[PairedDifference]]:
    """The pairs, one table a label budget (one table, untitled, when the sweep has one budget)."""
    budgets = {g.budget for g in c.groups}
    if len(budgets) < 2:
        return {"": c.pairs}
    tables: dict[str, list[PairedDifference]] = {}
    for budget in sorted(budgets, key=lambda b: math.inf if b is None else b):
        name = "every label" if budget is None else f"{budget} labels a class"
        tables[name] = [p for p in c.pairs if p.budget == budget]
    return tables


def render(c: Comparison) -> Group:
    table = Table(
        title=f"by validation {_words(c.monitor)}; test metrics beside it (mean ± std over seeds): "
        f"{escape(str(c.sweep_dir))}",
        title_justify="left",
    )
    for col in _header(c):
        if col == "group":  # a group's name is what a row means: folded onto more lines, never cut
            table.add_column(col, justify="left", overflow="fold", min_width=16)
        else:
            table.add_column(col, justify="right")
    for row in _rows(c):
        table.add_row(*map(escape, row))
    parts: list[Any] = [table]
    for budget, pairs in by_budget(c).items() if c.pairs else ():
        title = f"paired by seed, test {_words(c.headline)}: is the difference real?"
        table = Table(title=f"{title} ({budget})" if budget else title, title_justify="left")
        for col in _pair_header(c):
            table.add_column(col, overflow="fold")
        for row in _pair_rows(pairs):
            table.add_row(*map(escape, row))
        parts.append(table)
    for job in c.failed:
        parts.append(
            f"[red]failed or missing:[/red] {escape(f'{job.dir.relative_to(c.sweep_dir)}: {job.error}')}"
        )
    return Group(*parts)


def _markdown(c: Comparison) -> str:
    text = (
        f"# Comparison of {c.sweep_dir.name}\n\nGroups in order of validation {_words(c.monitor)} (best "
        "epoch of each run), label budget by budget; test metrics beside it, mean ± std over seeds.\n\n"
        f"{markdown_table(_header(c), _rows(c))}\n"
    )
    for budget, pairs in by_budget(c).items() if c.pairs else ():
        table = markdown_table(_pair_header(c), _pair_rows(pairs))
        text += (
            f"\n## Paired by seed (test {_words(c.headline)}){f', {budget}' if budget else ''}\n\n{table}\n"
        )
    if c.failed:
        text += "\n## Failed or missing jobs\n\n" + "".join(
            f"- `{j.dir.relative_to(c.sweep_dir)}`: {j.error}\n" for j in c.failed
        )
    return text


def _csv(c: Comparison) -> str:
    """One row per group: its seeds, the validation figure that ranks it, each test figure's mean, std and
    95% interval, and its cost."""
    rows = []
    for g in c.groups:
        row: dict[str, Any] = {"group": g.name, "runs": len(g.jobs), "seeds": " ".join(g.seeds)}
        val = g.val_score
        row |= {
            f"val_{c.monitor}_mean": "" if val is None else f"{val.mean:.6f}",
            f"val_{c.monitor}_std": "" if val is None else f"{val.std:.6f}",
        }
        for m, e in ((m, g.scores[m]) for m in c.metrics):
            row |= {
                f"{m}_{k}": f"{v:.6f}"
                for k, v in (("mean", e.mean), ("std", e.std), ("ci_low", e.low), ("ci_high", e.high))
            }
        row |= {
            "trainable_params": int(g.mean_of("params", "trainable")),
            "total_params": int(g.mean_of("params", "total")),
        }
        row |= {"train_seconds_mean": f"{g.mean_of('cost', 'train_seconds'):.4f}"}
        row |= {
            "train_state_mb": f"{g.mean_of('cost', 'train_state_mb'):.3f}",
            "peak_rss_mb_mean": f"{g.mean_of('cost', 'peak_rss_mb'):.1f}",
        }
        rows.append(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_outputs(c: Comparison, out_dir: Path | None = None) -> list[Path]:
    """``comparison.csv``, ``comparison.md`` and three PNG plots, each written atomically."""
    out_dir = out_dir or c.sweep_dir
    written = [
        atomic_write(out_dir / "comparison.csv", lambda f: f.write(_csv(c).encode())),
        atomic_write(out_dir / "comparison.md", lambda f: f.write(_markdown(c).encode())),
    ]
    return written + plots.draw_all(c, out_dir)


def compare_and_report(sweep_dir: str | Path, console: Console | None = None) -> Comparison:
    c = compare(sweep_dir)
    console = console or make_console()
    console.print(render(c))
    if not c.groups:
        raise DataError(f"every job in {sweep_dir} failed: see the failed jobs listed above")
    for path in write_outputs(c):
        console.print(f"wrote {path}")
    return c
