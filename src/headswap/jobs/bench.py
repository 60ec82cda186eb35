"""Benchmarks: what the Lightning path costs over a plain PyTorch loop, and what each regime costs.

Everything timed in one process runs alternately (A B A B ...) over several repetitions, so drift of
the machine hits both sides alike; medians and min-max are reported. Wall times of whole commands run
in fresh processes, as a user would meet them.
"""

from __future__ import annotations

import copy
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig

from headswap.io import atomic_write
from headswap.jobs.bodies import pretrained_body
from headswap.jobs.build import build_datamodule, instantiate_all
from headswap.jobs.runtime import configure_runtime, overrides, seed_everything
from headswap.lit import CostMonitor, HeadSwapClassifier, TextDataModule
from headswap.model import set_train_modes
from headswap.model.feature_cache import FeatureCache
from headswap.model.regime import trains
from headswap.report import console as make_console

REGIMES = ("head", "partial", "full")


def lightning_epochs(
    model: HeadSwapClassifier, dm: TextDataModule, cfg: DictConfig, epochs: int
) -> list[float]:
    """Per-epoch training time of the project's own Trainer config (validation excluded, as in reports)."""
    callbacks = instantiate_all(cfg.callbacks)
    cost = next(c for c in callbacks if isinstance(c, CostMonitor))
    with tempfile.TemporaryDirectory() as tmp:
        loggers = [instantiate(c, save_dir=tmp) for c in cfg.logger.values()]
        trainer = instantiate(
            cfg.trainer, max_epochs=epochs, default_root_dir=tmp, logger=loggers, callbacks=callbacks
        )
        for cb in trainer.checkpoint_callbacks:
            cb.dirpath = tmp
        trainer.fit(model, datamodule=dm)
    return cost.epoch_seconds


def plain_epochs(model: HeadSwapClassifier, dm: TextDataModule, epochs: int) -> list[float]:
    """The same weights, batches and optimizer in a hand-written loop over the plain ``Classifier``: the
    floor Lightning is measured against. Like a careful loop, it runs a frozen body once per example."""
    net = model.classifier
    optimizer = model.build_optimizer()  # the default constant schedule changes no rate
    body_frozen = not trains(net.body)
    cache = FeatureCache()
    times = []
    for _ in range(epochs):
        set_train_modes(net.body, net.body.parts())  # the same train/eval modes as under Lightning
        net.pool.train()
        net.head.train()
        start = time.perf_counter()
        for batch in dm.train_dataloader():
            ids, mask = batch["input_ids"], batch["attention_mask"]
            if body_frozen:
                with torch.no_grad():
                    features = cache.get(batch["keys"], mask, partial(net.frozen_features, ids, mask))
                logits = net.logits_from_features(features, mask)
            else:
                logits = net(ids, mask)
            loss = F.cross_entropy(logits, batch["labels"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def alternate(runs: dict[str, Callable[[], list[float]]], reps: int) -> dict[str, dict[str, float]]:
    """Run each measurement ``reps`` times, interleaved; keep every epoch after the first of each run
    (the first pays one-off costs: the feature cache, allocator warm-up)."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            samples[name] += run()[1:]
    return {name: summary(values) for name, values in samples.items()}


def in_process(cfg: DictConfig, reps: int, epochs: int) -> dict[str, dict[str, float]]:
    dm = build_datamodule(cfg)
    body, _ = pretrained_body(cfg, dm)
    regimes = {name: instantiate(cfg.regimes[name]) for name in REGIMES}

    def model(regime: str, cache: bool = True) -> HeadSwapClassifier:
        seed_everything(0)
        return HeadSwapClassifier(
            copy.deepcopy(body), instantiate(cfg.pool), regimes[regime], cache_features=cache
        )

    runs: dict[str, Callable[[], list[float]]] = {}
    for regime in REGIMES:
        runs[f"lightning/{regime}"] = lambda r=regime: lightning_epochs(model(r), dm, cfg, epochs)
        runs[f"plain/{regime}"] = lambda r=regime: plain_epochs(model(r), dm, epochs)
    runs["lightning/head-uncached"] = lambda: lightning_epochs(model("head", cache=False), dm, cfg, epochs)
    return alternate(runs, reps)


def wall(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one fresh process running ``cmd``."""
    with tempfile.TemporaryFile() as stderr:  # a file, not a pipe: a chatty child cannot block on it
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            stderr.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed: {stderr.read().decode()[-500:]}")
    return seconds, usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def commands(root: Path, scratch: Path, enabled: bool, sweep: bool) -> dict[str, dict[str, float]]:
    py = sys.executable
    results: dict[str, dict[str, float]] = {}
    if not enabled:
        return results
    imports = [wall([py, "-c", "import headswap.jobs.train"], root)[0] for _ in range(3)]
    results["import headswap.jobs.train"] = {"seconds": statistics.median(imports)}
    for label, args in {
        "demo.py, first run (pre-trains)": ["scripts/demo.py", f"paths.root_dir={scratch / 'demo'}"],
        "demo.py, body cached": ["scripts/demo.py", f"paths.root_dir={scratch / 'demo'}"],
        **{
            f"train.py regime={r} (peak memory of the process)": [
                "scripts/train.py",
                f"regime={r}",
                f"paths.root_dir={scratch / 'demo'}",
            ]
            for r in REGIMES
        },
    }.items():
        seconds, peak = wall([py, *args, "trainer.enable_progress_bar=false"], root)
        results[label] = {"seconds": seconds, "peak_rss_mb": peak}
    if sweep:
        args = [
            "scripts/train.py",
            "-m",
            "regime=head,partial,full",
            "seed=0,1,2,3,4",
            f"paths.root_dir={scratch / 'sweep'}",
            "trainer.enable_progress_bar=false",
        ]
        results["sweep 3 regimes x 5 seeds (basic launcher)"] = {"seconds": wall([py, *args], root)[0]}
        args_joblib = [
            *args[:-2],
            f"paths.root_dir={scratch / 'sweep_joblib'}",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "trainer.enable_progress_bar=false",
        ]
        results["sweep 3 regimes x 5 seeds (joblib, 2 jobs)"] = {"seconds": wall([py, *args_joblib], root)[0]}
    return results


def machine() -> dict[str, str]:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else ""
    )
    return {
        "cpu": f"{cpu} ({torch.get_num_threads()} torch threads)",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": L.__version__,
        "platform": platform.platform(),
    }


def markdown(
    timings: dict[str, dict[str, float]], walls: dict[str, dict[str, float]], meta: dict[str, Any]
) -> str:
    lines = ["# Benchmarks", "", f"Command: `{meta['command']}`", ""]
    lines += [f"- {k}: {v}" for k, v in meta["machine"].items()]
    lines += [
        "",
        f"## Per-epoch training time on the fixture ({meta['reps']} alternating repetitions x "
        f"{meta['epochs'] - 1} timed epochs each)",
        "",
        "| regime | Lightning (median, min-max) | plain loop (median, min-max) | Lightning / plain |",
        "|---|---|---|---|",
    ]
    for regime in REGIMES:
        lit, plain = timings[f"lightning/{regime}"], timings[f"plain/{regime}"]
        lines.append(
            f"| {regime} | {lit['median'] * 1e3:.1f} ms ({lit['min'] * 1e3:.1f}-{lit['max'] * 1e3:.1f}) | "
            f"{plain['median'] * 1e3:.1f} ms ({plain['min'] * 1e3:.1f}-{plain['max'] * 1e3:.1f}) | "
            f"{lit['median'] / plain['median']:.2f}x |"
        )
    full, head, slow = (
        timings["lightning/full"],
        timings["lightning/head"],
        timings["lightning/head-uncached"],
    )
    lines += [
        "",
        "| head-only path | per epoch (median) | full fine-tuning / this |",
        "|---|---|---|",
        f"| cached features | {head['median'] * 1e3:.1f} ms | {full['median'] / head['median']:.1f}x |",
        f"| body run every step | {slow['median'] * 1e3:.1f} ms | {full['median'] / slow['median']:.1f}x |",
    ]
    lines += [
        "",
        "## Whole commands (fresh processes, wall time)",
        "",
        "| command | wall s | peak memory |",
        "|---|---|---|",
    ]
    for label, w in walls.items():
        peak = f"{w['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in w else ""
        lines.append(f"| {label} | {w['seconds']:.1f} | {peak} |")
    lines += ["", "## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [target_row(*t) for t in targets(timings, walls)]
    return "\n".join(lines) + "\n"


def targets(
    timings: dict[str, dict[str, float]], walls: dict[str, dict[str, float]]
) -> list[tuple[str, float, float, bool]]:
    """(target, measured, bound, lower_is_better) for each performance target of the project."""
    rows = [
        (
            f"Lightning / plain loop, {r}",
            timings[f"lightning/{r}"]["median"] / timings[f"plain/{r}"]["median"],
            1.10,
            True,
        )
        for r in REGIMES
    ]
    rows.append(
        (
            "full / head-only (cached) per epoch",
            timings["lightning/full"]["median"] / timings["lightning/head"]["median"],
            10.0,
            False,
        )
    )
    demo = walls.get("demo.py, first run (pre-trains)")
    if demo:
        rows.append(("demo.py wall, pre-training and imports included (s)", demo["seconds"], 15.0, True))
    return rows


def target_row(name: str, measured: float, bound: float, lower_is_better: bool) -> str:
    met = measured <= bound if lower_is_better else measured >= bound
    sign = "<=" if lower_is_better else ">="
    verdict = "met" if met else f"missed by {abs(measured - bound) / bound:.0%}"
    return f"| {name} {sign} {bound:g} | {measured:.2f} | {verdict} |"


def run(cfg: DictConfig) -> str:
    """Measure, then write ``cfg.bench.out`` (BENCHMARKS.md) and return its text."""
    root = Path(__file__).resolve().parents[3]
    configure_runtime(cfg)
    timings = in_process(cfg, cfg.bench.reps, cfg.bench.epochs)
    # Whole commands write under paths.root_dir/bench, so their outputs (the sweep's comparison) stay.
    walls = commands(root, Path(cfg.paths.root_dir).resolve() / "bench", cfg.bench.commands, cfg.bench.sweep)
    command = " ".join(["python scripts/bench.py", *overrides()])
    meta = {"command": command, "machine": machine(), "reps": cfg.bench.reps, "epochs": cfg.bench.epochs}
    text = markdown(timings, walls, meta)
    atomic_write(root / cfg.bench.out, lambda f: f.write(text.encode()))
    make_console().print(text)
    return text
