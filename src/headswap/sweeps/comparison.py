"""Compare the jobs of a multirun: which group wins, by how much, at what cost, and is it real.

Jobs are grouped by every override except ``seed`` (and infrastructure keys such as paths), and by
the body they ran when there is more than one; each group summarised as mean ± std with a 95%
t-interval over its seeds, and every pair of groups compared on the seeds they share (a paired
t-interval on the F1 difference: seed noise cancels in the pairing).
Groups are listed by validation F1, the figure a choice among them may rest on; test figures are
what the chosen group reports, never what chooses it.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.types import Override
from rich.console import Console, Group
from rich.table import Table

from headswap.io import atomic_write
from headswap.report import console as make_console
from headswap.report import markdown_table
from headswap.run_record import THRESHOLD_METRICS
from headswap.stats import Estimate, estimate
from headswap.sweeps import plots
from headswap.sweeps.multirun import Comparison, GroupSummary, Job, PairedDifference, find_jobs

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
    groups = [GroupSummary(name, members) for name, members in by_group.items()]
    for g in groups:
        g.scores = {m: estimate([j.metrics["test"][m] for j in g.jobs]) for m in THRESHOLD_METRICS}
        g.val_f1 = estimate([j.metrics["best_val"]["f1"] for j in g.jobs])
    groups.sort(key=lambda g: -g.val_f1.mean)
    pairs = []
    for i, a in enumerate(groups):
        for b in groups[i + 1 :]:
            f1_a = {j.seed: j.metrics["test"]["f1"] for j in a.jobs}
            f1_b = {j.seed: j.metrics["test"]["f1"] for j in b.jobs}
            shared = sorted(f1_a.keys() & f1_b.keys())
            if shared:
                pairs.append(
                    PairedDifference(a.name, b.name, shared, estimate([f1_a[s] - f1_b[s] for s in shared]))
                )
    return Comparison(sweep_dir, groups, pairs, failed)


def _mean_std(e: Estimate) -> str:
    return f"{e.mean:.3f}" if e.n < 2 else f"{e.mean:.3f} ± {e.std:.3f}"


def _interval(e: Estimate) -> str:
    return "n/a" if e.n < 2 else f"[{e.low:.3f}, {e.high:.3f}]"


def _rows(c: Comparison) -> list[list[str]]:
    return [
        [
            g.name,
            str(len(g.jobs)),
            _mean_std(g.val_f1),
            *(_mean_std(g.scores[m]) for m in THRESHOLD_METRICS),
            _interval(g.scores["f1"]),
            f"{int(g.mean_of('params', 'trainable')):,}",
            f"{g.mean_of('cost', 'train_seconds'):.2f}",
        ]
        for g in c.groups
    ]


HEADER = ["group", "runs", "val f1", *THRESHOLD_METRICS, "F1 95% CI", "trainable params", "train s"]
PAIR_HEADER = ["A", "B", "seeds", "F1 A − B (mean [95% CI])", "verdict"]


def _pair_rows(c: Comparison) -> list[list[str]]:
    return [
        [
            p.a,
            p.b,
            str(len(p.seeds)),
            f"{p.diff.mean:+.3f}" + ("" if p.diff.n < 2 else f" [{p.diff.low:+.3f}, {p.diff.high:+.3f}]"),
            p.verdict,
        ]
        for p in c.pairs
    ]


def render(c: Comparison) -> Group:
    table = Table(
        title=f"by validation F1; test metrics beside it (mean ± std over seeds): {c.sweep_dir}",
        title_justify="left",
    )
    for col in HEADER:
        table.add_column(col, justify="left" if col == "group" else "right")
    for row in _rows(c):
        table.add_row(*row)
    parts: list[Any] = [table]
    if c.pairs:
        paired = Table(title="paired by seed, test F1: is the difference real?", title_justify="left")
        for col in PAIR_HEADER:
            paired.add_column(col)
        for row in _pair_rows(c):
            paired.add_row(*row)
        parts.append(paired)
    for job in c.failed:
        parts.append(f"[red]failed or missing:[/red] {job.dir.relative_to(c.sweep_dir)}: {job.error}")
    return Group(*parts)


def _markdown(c: Comparison) -> str:
    table = markdown_table

    text = (
        f"# Comparison of {c.sweep_dir.name}\n\nGroups in order of validation F1 (best epoch of each run); "
        f"test metrics beside it, mean ± std over seeds.\n\n{table(HEADER, _rows(c))}\n"
    )
    if c.pairs:
        text += f"\n## Paired by seed (test F1)\n\n{table(PAIR_HEADER, _pair_rows(c))}\n"
    if c.failed:
        text += "\n## Failed or missing jobs\n\n" + "".join(
            f"- `{j.dir.relative_to(c.sweep_dir)}`: {j.error}\n" for j in c.failed
        )
    return text


def _csv(c: Comparison) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    stats = [f"{m}_{s}" for m in THRESHOLD_METRICS for s in ("mean", "std", "ci_low", "ci_high")]
    writer.writerow(
        [
            "group",
            "runs",
            "seeds",
            "val_f1_mean",
            "val_f1_std",
            *stats,
            "trainable_params",
            "total_params",
            "train_seconds_mean",
            "train_state_mb",
            "peak_rss_mb_mean",
        ]
    )
    for g in c.groups:
        values = [
            v
            for m in THRESHOLD_METRICS
            for v in (g.scores[m].mean, g.scores[m].std, g.scores[m].low, g.scores[m].high)
        ]
        writer.writerow(
            [
                g.name,
                len(g.jobs),
                " ".join(g.seeds),
                f"{g.val_f1.mean:.6f}",
                f"{g.val_f1.std:.6f}",
                *(f"{v:.6f}" for v in values),
                int(g.mean_of("params", "trainable")),
                int(g.mean_of("params", "total")),
                f"{g.mean_of('cost', 'train_seconds'):.4f}",
                f"{g.mean_of('cost', 'train_state_mb'):.3f}",
                f"{g.mean_of('cost', 'peak_rss_mb'):.1f}",
            ]
        )
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
        raise ValueError(f"every job in {sweep_dir} failed: see the failed jobs listed above")
    for path in write_outputs(c):
        console.print(f"wrote {path}")
    return c
