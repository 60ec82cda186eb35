"""The end-of-run report: what a regime scored on the test split and what it cost."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group, JustifyMethod
from rich.markup import escape
from rich.table import Table

from headswap.confusion import CSV_NAME
from headswap.mistakes import Mistake
from headswap.run_record import Cost, DataStats, EarlyStop, RunRecord
from headswap.task import Task

MISTAKES_SHOWN = 5
TEXT_WIDTH = 90  # characters of a mistake's text the report shows, on one line
PRINTED_CLASSES = 20  # a larger confusion matrix is left to confusion_matrix.csv / .png
WIDE_CLASSES = 8  # the split's table has a column per class up to this many, a row per class beyond


def render_report(result: RunRecord, mistakes: Sequence[Mistake] = ()) -> Group:
    """``metrics.json`` of a training run -> rich tables (scores, calibration, per class, confusion matrix,
    cost), and the most confident of ``mistakes`` (``errors.jsonl``'s first rows)."""
    task = Task(result["labels"])
    tables = [_scores(result, task), _calibration(result), _per_class(result, task), _confusion(result, task)]
    tables.append(_costs(result))
    return Group(*tables, *([_mistakes(mistakes)] if mistakes else []))


def _scores(result: RunRecord, task: Task) -> Table:
    """Each score on test, at the validation-tuned threshold (two classes), and on the best val epoch."""
    title = "  ".join(f"{key}={result[key]}" for key in ("body", "regime", "pool", "schedule", "seed"))
    columns: dict[str, Any] = {"test": result["test"]}
    tuned = result.get("test_at_val_threshold")
    if tuned:
        columns[f"test @ {tuned['threshold']:.3f} (val-tuned)"] = tuned
    if result["best_val"]:
        columns["best val"] = result["best_val"]
    table = titled_table(escape(title), ["metric", *columns])
    for name in task.score_names:
        table.add_row(name, *(f"{scores[name]:.4f}" for scores in columns.values()))
    return table


def _per_class(result: RunRecord, task: Task) -> Table:
    decided = f"threshold {task.default_threshold}" if task.binary else "argmax"
    columns = ["class", "precision", "recall", "f1", "support"]
    table = titled_table(f"test, per class ({decided})", columns, "right")
    rows = [
        *((escape(name), result["per_class"][name]) for name in task.labels),
        ("(macro average)", result["macro_average"]),
    ]
    for name, row in rows:
        support = str(row["support"]) if "support" in row else ""
        table.add_row(name, *(f"{row[k]:.4f}" for k in ("precision", "recall", "f1")), support)
    return table


def _confusion(result: RunRecord, task: Task) -> Table | str:
    """The test confusion matrix; past ``PRINTED_CLASSES`` classes, where to read it instead."""
    if task.num_classes > PRINTED_CLASSES:
        return f"test confusion matrix: {task.num_classes} classes, in {CSV_NAME} (not printed)"
    table = titled_table("test confusion matrix", ["", *(escape(f"pred {name}") for name in task.labels)])
    for name, row in zip(task.labels, result["confusion_matrix"]):
        table.add_row(escape(f"true {name}"), *map(str, row))
    return table


def _costs(result: RunRecord) -> Table:
    """What the run cost and on what data: parameters, time, memory, pre-training, the split, stopping."""
    cost, params, data = result["cost"], result["params"], result["data"]
    table = Table(title="cost", title_justify="left", show_header=False)
    table.add_row("trainable / total params", f"{params['trainable']:,} / {params['total']:,}")
    table.add_row("trainable body parts", ", ".join(params["body_trainable_parts"]) or "none (frozen)")
    val = result["best_val"]
    table.add_row(*(("best epoch", str(val["epoch"])) if val else ("kept epoch", "the last (no validation)")))
    if cost:
        epochs = f"{cost['epochs']} epochs, {cost['seconds_per_epoch']:.3f} s/epoch"
        table.add_row("train time", f"{cost['train_seconds']:.2f} s ({epochs})")
        table.add_row("weights+grads+Adam state", f"{cost['train_state_mb']:.2f} MB")
        whose = "this run" if cost.get("peak_rss_of") == "run" else "its process, all it ran"
        table.add_row(f"peak memory ({whose})", f"{cost['peak_rss_mb']:.0f} MB")
        table.add_row("pre-training time", _pretraining(cost, result["pretrained_body"]))
        tuning = result["pretrained_body"].get("pair_tuning")
        if tuning:
            when = "before the resume" if tuning.get("resumed") else "part of the train time"
            steps = f"{tuning['pairs']:,} pairs, {tuning['steps']:,} steps; {when}"
            table.add_row("body tuned on pairs", f"{tuning['seconds']:.2f} s ({steps})")
    else:
        table.add_row(
            "train time, memory", "not measured: the cost_monitor callback was removed from the config"
        )
    sizes = ", ".join(
        f"{part} {sum(n.values())}" + (f" ({' / '.join(f'{c} {k}' for k, c in n.items())})" if n else "")
        for part, n in data["sizes"].items()
    )
    grouped = f"{data['duplicate_groups']} duplicate texts grouped"
    table.add_row("data", f"{escape(sizes)}; {grouped}; {_truncated(data)}")
    table.add_row("early stopping", _early_stopping(result["early_stopping"]))
    return table


def _calibration(result: RunRecord) -> Table:
    """ECE and Brier score of the test split, and before / after the temperature when one was fitted."""
    title = "test calibration (ECE: 15 equal bins)"
    fitted = result["calibration"]
    if fitted is None:
        table = titled_table(title, ["", "test"])
        for name in ("ece", "brier"):
            value = result["test"][name]
            table.add_row(name, "not measured" if value is None else f"{value:.4f}")
        return table
    if fitted["applied"]:
        after = f"after T={fitted['temperature']:.3f} (val-fitted)"
    else:  # a fit at a bound of its search is no estimate: none was applied
        after = f"T={fitted['fitted']:.3f} fitted at its bound: not applied"
    table = titled_table(title, ["", "before", after])
    for name in ("ece", "brier"):
        table.add_row(name, f"{fitted[f'{name}_before']:.4f}", f"{fitted[f'{name}_after']:.4f}")
    return table


def _early_stopping(stop: EarlyStop | None) -> str:
    if stop is None:
        return "off (callbacks=early_stopping turns it on)"
    rule = f"patience {stop['patience']} on {stop['monitor']}"
    if stop["stopped_epoch"] is None:
        return f"did not stop: ran every epoch ({rule})"
    return f"stopped in epoch {stop['stopped_epoch']} ({rule})"


def _mistakes(mistakes: Sequence[Mistake]) -> Table:
    table = Table(title="most confident test mistakes (all in errors.jsonl)", title_justify="left")
    for column in ("p", "true", "predicted", "text"):
        table.add_column(column, justify="right" if column == "p" else "left", no_wrap=column == "text")
    for m in mistakes[:MISTAKES_SHOWN]:
        text = " ".join(m["text"].split())  # one line
        if len(text) > TEXT_WIDTH:
            text = text[: TEXT_WIDTH - 1] + "…"
        table.add_row(f"{m['probability']:.3f}", escape(m["true"]), escape(m["predicted"]), escape(text))
    return table


def _pretraining(cost: Cost, body: dict) -> str:
    """This run's pre-training seconds; 0 when the body came from the cache (what making it took then)
    or arrived pretrained."""
    if body.get("lm_pretraining") is False:
        if body.get("path"):
            return escape(f"none: {body.get('name', 'the body')} arrives pretrained")
        return "none: body.lm_pretraining=false (the body starts from random weights)"
    made = f"{body['seconds']:.1f} s" if "seconds" in body else "not recorded"
    if body.get("cached"):
        return f"0 s: loaded from the cache (it took {made} to make)"
    return f"{cost.get('pretrain_seconds', 0.0):.2f} s ({body.get('epochs', '?')} epochs)"


def render_split(data: DataStats, task: Task) -> Group:
    """Each part's per-class counts and (two classes) positive rate, and what grouping and truncation did.
    Past ``WIDE_CLASSES`` classes the table turns: a row per class, a column per part, so it reads at any
    number of classes."""
    table = _split_by_part(data, task) if task.num_classes <= WIDE_CLASSES else _split_by_class(data, task)
    duplicates = f"{data['duplicate_groups']} texts occur more than once ({data['duplicate_rows']} rows)"
    notes = [f"{duplicates}; {_truncated(data)}"]
    own = [f"{p} {path}" for p, path in (data.get("parts_from") or {}).items() if path != "training file"]
    if own:
        notes.append("from files of their own: " + escape(", ".join(own)))
    if data.get("test_overlap") is not None:
        notes.append(f"{data['test_overlap']} training-file rows hold a text of the test file")
    budget = data.get("budget")
    if budget:
        per_part = ", ".join(f"{k}={v}" for k, v in budget.items() if v is not None)
        notes.append(f"label budget: {escape(per_part)} (examples per class)")
    notes += [f"[yellow]warning:[/yellow] {escape(w)}" for w in data.get("warnings", [])]
    return Group(table, *notes)


def _truncated(data: DataStats) -> str:
    return f"{data['truncated']} texts truncated to {data['max_len']} tokens"


def _split_by_part(data: DataStats, task: Task) -> Table:
    rate = [f"{task.positive} rate"] if task.binary else []
    columns = [escape(column) for column in ("part", *task.labels, "rows", *rate)]
    table = titled_table("split (exact duplicates kept in one part)", columns)
    for part, counts in data["sizes"].items():
        n = [counts.get(label, 0) for label in task.labels]
        share = [f"{n[1] / max(1, sum(n)):.1%}"] if rate else []
        table.add_row(part, *(f"{c:,}" for c in n), f"{sum(n):,}", *share)
    return table


def _split_by_class(data: DataStats, task: Task) -> Table:
    parts = list(data["sizes"])
    table = titled_table(
        f"split of {task.num_classes} classes (exact duplicates kept in one part)", ["class", *parts, "all"]
    )
    for label in (*task.labels, "rows"):
        n = [
            sum(data["sizes"][p].values()) if label == "rows" else data["sizes"][p].get(label, 0)
            for p in parts
        ]
        table.add_row(escape(label), *(f"{c:,}" for c in n), f"{sum(n):,}")
    return table


def titled_table(title: str, columns: Sequence[str], first: JustifyMethod = "left") -> Table:
    """A table titled on the left: its first column justified ``first``, the figures after it right."""
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="right" if i else first)
    return table


def console() -> Console:
    """A terminal's own width; 160 columns when output goes to a file or pipe (rich would pick 80)."""
    return Console(width=None if sys.stdout.isatty() else 160)


def print_report(result: RunRecord, mistakes: Sequence[Mistake] = ()) -> None:
    console().print(render_report(result, mistakes))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub markdown table: the one writer behind comparison.md and BENCHMARKS.md."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
