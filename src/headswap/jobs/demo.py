"""The demo: pre-train once, then fine-tune head-only and full from the same body, side by side."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig
from rich.table import Table

from headswap.app.checks import check_config
from headswap.app.runtime import configure_runtime
from headswap.report import console as make_console
from headswap.report import titled_table
from headswap.run_record import RunRecord
from headswap.task import Task
from headswap.training.bodies import pretrained_body
from headswap.training.build import build_datamodule
from headswap.training.recipe import train_and_test


def run(cfg: DictConfig) -> dict[str, RunRecord]:
    """Train every regime in ``cfg.regimes`` (a fresh head each) from one pretrained body; compare them.

    Each result is the regime's ``metrics.json`` as the recipe read it back.
    """
    start = time.perf_counter()
    configure_runtime(cfg)
    jobs = {name: job_config(cfg, name) for name in cfg.regimes}
    for job in jobs.values():
        check_config(job)  # every regime's config, before the pre-training they share
    if cfg.body.lm_pretraining:  # pre-train once; every regime below loads this body
        pretrained_body(cfg, build_datamodule(cfg))
    results = {name: train_and_test(job) for name, job in jobs.items()}
    make_console().print(comparison_table(results, time.perf_counter() - start))
    return results


def job_config(cfg: DictConfig, name: str) -> DictConfig:
    """The demo's config with ``regimes[name]`` as its regime, writing to its own folder."""
    job = copy.deepcopy(cfg)
    job.regime = cfg.regimes[name]
    job.paths.output_dir = str(Path(cfg.paths.output_dir) / name)
    return job


def comparison_table(results: Mapping[str, RunRecord], wall_seconds: float) -> Table:
    """The regimes' test figures side by side: F1, precision, recall for two classes; macro-F1, accuracy
    and weighted F1 for more."""
    binary = all(Task(r["labels"]).binary for r in results.values())
    scores = ("f1", "precision", "recall") if binary else ("macro_f1", "accuracy", "weighted_f1")
    columns = ("regime", *(f"test {s}" for s in scores), "trainable params", "train time")
    table = titled_table(f"regimes side by side (demo wall time {wall_seconds:.1f} s)", columns, "right")
    for name, r in results.items():
        table.add_row(
            name,
            *(f"{r['test'][s]:.4f}" for s in scores),
            f"{r['params']['trainable']:,} / {r['params']['total']:,}",
            f"{r['cost']['train_seconds']:.2f} s" if r["cost"] else "not measured",
        )
    return table
