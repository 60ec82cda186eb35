"""Benchmarks: what the Lightning path costs over a plain PyTorch loop, and what each regime costs.

Everything timed in one process runs alternately (A B A B ...) over several repetitions, so drift of
the machine hits both sides alike; medians and min-max are reported. Wall times of whole commands run
in fresh processes, as a user would meet them.
"""

from __future__ import annotations

import copy
import os
import platform
import shutil
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
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig
from torchmetrics import MeanMetric

from headswap.app.checks import check_config
from headswap.app.runtime import configure_runtime, overrides, seed_everything
from headswap.io import atomic_write
from headswap.lit import CostMonitor, HeadSwapClassifier, TextDataModule
from headswap.lit.callbacks import seed_step
from headswap.lit.quiet import quiet_trainer
from headswap.model import set_train_modes
from headswap.model.feature_cache import FeatureCache
from headswap.model.regime import trains
from headswap.report import console as make_console
from headswap.report import markdown_table
from headswap.serving.load import load, serving
from headswap.serving.load import markdown as load_markdown
from headswap.training import bench_pretrained
from headswap.training.bench_pretrained import Epoch, clocks, epochs_of, since
from headswap.training.bodies import pretrained_body
from headswap.training.build import build_datamodule, instantiate_all

REGIMES = ("head", "partial", "full")


def lightning_epochs(
    model: HeadSwapClassifier, dm: TextDataModule, cfg: DictConfig, epochs: int, device: torch.device
) -> list[Epoch]:
    """Per-epoch training time under the project's own Trainer config, callbacks and loggers included."""
    clock = CostMonitor()
    with tempfile.TemporaryDirectory() as tmp:
        loggers = [instantiate(c, save_dir=tmp) for c in cfg.logger.values()]
        callbacks = [*instantiate_all(cfg.callbacks), clock]
        trainer = instantiate(
            cfg.trainer,
            accelerator=accelerator(device),
            max_epochs=epochs,
            default_root_dir=tmp,
            logger=loggers,
            callbacks=callbacks,
        )
        for cb in trainer.checkpoint_callbacks:
            cb.dirpath = tmp
        trainer.fit(model, datamodule=dm)
    return epochs_of(clock)


def plain_epochs(
    model: HeadSwapClassifier, dm: TextDataModule, epochs: int, device: torch.device
) -> list[Epoch]:
    """The same weights, batches and optimizer in a hand-written loop over the plain ``Classifier``: the
    floor Lightning is measured against. Like a careful loop, it runs a frozen body once per example
    and seeds each step's dropout as ``SeedPerStep`` does, so it could resume exactly too."""
    net = model.classifier.to(device)
    optimizer = model.build_optimizer()  # the default constant schedule changes no rate
    body_frozen = not trains(net.body)
    cache = FeatureCache()
    times = []
    for epoch in range(epochs):
        set_train_modes(net.body, net.body.parts())  # the same train/eval modes as under Lightning
        net.pool.train()
        net.head.train()
        start = clocks(device)
        for step, cpu_batch in enumerate(dm.train_dataloader()):
            seed_step(epoch * 100_003 + step, device)
            batch = {k: v.to(device, non_blocking=True) for k, v in cpu_batch.items()}
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
        times.append(since(start, device))
    return times


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def alternate(
    runs: dict[str, Callable[[], list[Epoch]]], reps: int
) -> dict[str, dict[str, dict[str, float]]]:
    """Run each measurement ``reps`` times, interleaved; keep every epoch after the first of each run
    (the first pays one-off costs: the feature cache, allocator warm-up). Summarised per clock."""
    samples: dict[str, list[Epoch]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            samples[name] += run()[1:]
    return {
        name: {"wall": summary([w for w, _ in epochs]), "cpu": summary([c for _, c in epochs])}
        for name, epochs in samples.items()
    }


def accelerator(device: torch.device) -> str:
    return "gpu" if device.type == "cuda" else "cpu"


def bare_epochs(
    model: HeadSwapClassifier, dm: TextDataModule, epochs: int, device: torch.device
) -> list[Epoch]:
    """Per-epoch time under a bare Trainer (no callbacks, loggers or progress bar): Lightning's own loop."""
    clock = CostMonitor()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = quiet_trainer(
            accelerator=accelerator(device), max_epochs=epochs, callbacks=[clock], default_root_dir=tmp
        )
        trainer.fit(model, datamodule=dm)
    return epochs_of(clock)


Timings = dict[str, dict[str, dict[str, float]]]  # measurement -> clock -> median, min, max, n


def in_process(cfg: DictConfig, dm: TextDataModule, body: torch.nn.Module, device: torch.device) -> Timings:
    """Every per-epoch measurement on ``device``, interleaved."""
    reps, epochs = cfg.bench.reps, cfg.bench.epochs
    regimes = {name: instantiate(cfg.regimes[name]) for name in REGIMES}

    def model(regime: str, cache: bool = True) -> HeadSwapClassifier:
        seed_everything(0)
        return HeadSwapClassifier(
            copy.deepcopy(body), instantiate(cfg.pool), regimes[regime], cache_features=cache
        )

    runs: dict[str, Callable[[], list[Epoch]]] = {}
    for regime in REGIMES:
        runs[f"lightning/{regime}"] = lambda r=regime: lightning_epochs(model(r), dm, cfg, epochs, device)
        runs[f"plain/{regime}"] = lambda r=regime: plain_epochs(model(r), dm, epochs, device)
    runs["bare/head"] = lambda: bare_epochs(model("head"), dm, epochs, device)
    runs["lightning/head-uncached"] = lambda: lightning_epochs(
        model("head", cache=False), dm, cfg, epochs, device
    )
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
    for module in ("lightning", "headswap.jobs.train"):  # what headswap adds to Lightning's own import
        imports = [wall([py, "-c", f"import {module}"], root)[0] for _ in range(3)]
        results[f"import {module}"] = {"seconds": statistics.median(imports)}
    shutil.rmtree(scratch / "demo", ignore_errors=True)  # the first demo run pre-trains from a cold cache
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
    records = (scratch / "demo").glob("logs/train/runs/*/metrics.json")
    last_run = str(max(records, key=lambda p: p.stat().st_mtime).parent)
    for label, args in {  # on the last run above: what a user does next, without Lightning
        "predict.py, one text (peak memory of the process)": ["scripts/predict.py", last_run, "hi"],
        "export.py (peak memory of the process)": ["scripts/export.py", last_run, f"--out={scratch}/export"],
    }.items():
        seconds, peak = wall([py, *args], root)
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
    gpu = {"gpu": torch.cuda.get_device_name(0)} if torch.cuda.is_available() else {}
    return {
        "cpu": f"{cpu} ({torch.get_num_threads()} torch threads)",
        **gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": L.__version__,
        "platform": platform.platform(),
    }


def step_breakdown(body: torch.nn.Module, calls: int = 2000) -> list[tuple[str, float, float]]:
    """Per-step costs the Lightning path used to pay, each timed the old way and the current way (CPU us).

    The leads profiling found: seeding every device's generator for each step's dropout, walking every
    body parameter to ask whether the body trains, and a torchmetrics update for the epoch's loss.
    """
    params = list(body.parameters())
    loss, total = torch.tensor(0.5), torch.zeros(())
    metric = MeanMetric()
    cpu = torch.device("cpu")

    def add_loss() -> None:
        nonlocal total
        total = total + loss * 32

    pairs = {
        "seed the step's dropout": (lambda: torch.manual_seed(1), lambda: seed_step(1, cpu)),
        "does the body train?": (lambda: trains(body), lambda: any(p.requires_grad for p in params)),
        "add the step's loss to the epoch's": (lambda: metric.update(loss, weight=32), add_loss),
    }
    return [(name, cpu_us(old, calls), cpu_us(new, calls)) for name, (old, new) in pairs.items()]


def cpu_us(fn: Callable[[], object], calls: int) -> float:
    start = time.thread_time()
    for _ in range(calls):
        fn()
    return (time.thread_time() - start) / calls * 1e6


def markdown(
    timings: Timings,
    gpu: Timings | None,
    breakdown: list[tuple[str, float, float]],
    walls: dict[str, dict[str, float]],
    meta: dict[str, Any],
) -> str:
    steps = meta["steps"]
    lines = ["# Benchmarks", "", f"Command: `{meta['command']}`", ""]
    lines += [f"- {k}: {v}" for k, v in meta["machine"].items()]
    lines += [
        "",
        f"## Per-epoch training time ({meta['data']}, {steps} steps an epoch; {meta['reps']} alternating "
        f"repetitions x {meta['epochs'] - 1} timed epochs each; medians, min-max)",
        "",
        "Wall time is what a user waits; CPU time (this process's, all its threads) is the steadier figure "
        "when other work shares the machine.",
        "",
    ]
    rows = []
    for regime in REGIMES:
        lit, plain = timings[f"lightning/{regime}"], timings[f"plain/{regime}"]
        cells = [regime]
        for clock in ("wall", "cpu"):
            a, b = lit[clock], plain[clock]
            cells += [
                f"{a['median'] * 1e3:.1f} ms ({a['min'] * 1e3:.1f}-{a['max'] * 1e3:.1f})",
                f"{b['median'] * 1e3:.1f} ms ({b['min'] * 1e3:.1f}-{b['max'] * 1e3:.1f})",
                f"{a['median'] / b['median']:.2f}x",
            ]
        rows.append(cells)
    header = ["regime", "Lightning wall", "plain loop wall", "Lightning / plain (wall)", "Lightning CPU"]
    lines.append(markdown_table([*header, "plain loop CPU", "Lightning / plain (CPU)"], rows))
    full, head, slow = (timings[f"lightning/{k}"]["cpu"]["median"] for k in ("full", "head", "head-uncached"))
    lines += [
        "",
        markdown_table(
            ["head-only path (Lightning, CPU time)", "per epoch", "full fine-tuning / this"],
            [
                ["cached features", f"{head * 1e3:.1f} ms", f"{full / head:.1f}x"],
                ["body run every step", f"{slow * 1e3:.1f} ms", f"{full / slow:.1f}x"],
            ],
        ),
        "",
        "## Where a head-only step's time goes (CPU time per step, cached features)",
        "",
    ]
    plain_head, bare_head = timings["plain/head"]["cpu"]["median"], timings["bare/head"]["cpu"]["median"]
    project_head = timings["lightning/head"]["cpu"]["median"]
    step_parts = [
        ("the step itself: collate, cached features, head forward, backward, Adam (plain loop)", plain_head),
        (
            "Lightning's loop around it (a bare Trainer: no callbacks, loggers or progress bar)",
            bare_head - plain_head,
        ),
        ("the project's callbacks, loggers and progress bar", project_head - bare_head),
    ]
    lines += [
        markdown_table(
            ["part of the step", "per step"], [[n, f"{t / steps * 1e6:.0f} us"] for n, t in step_parts]
        ),
        "",
        "Costs the Lightning path paid every step before this was measured, timed the old way and "
        "the current way (CPU time per call):",
        "",
        markdown_table(
            ["per-step work", "before", "after"],
            [[name, f"{old:.1f} us", f"{new:.1f} us"] for name, old, new in breakdown],
        ),
        "",
        "## Whole commands (fresh processes, wall time)",
        "",
        markdown_table(
            ["command", "wall s", "peak memory"],
            [
                [label, f"{w['seconds']:.1f}", f"{w['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in w else ""]
                for label, w in walls.items()
            ],
        ),
    ]
    lines += ["", "## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [target_row(*t) for t in targets(timings, walls)]
    lines += ["", "## On a GPU", ""]
    if gpu is None:
        lines.append(
            "Unmeasured: this machine has no CUDA GPU. On one, `python scripts/bench.py experiment=sms_full "
            "bench.commands=false bench.sweep=false` measures the same per-epoch figures on the GPU here, "
            "with the target a full fine-tuning epoch of the SMS Spam Collection (60 steps) <= 0.2 s."
        )
    else:
        lines += [
            f"{meta['machine'].get('gpu', 'GPU')}: the runs above, model and batches on the GPU.",
            "",
        ]
        gpu_rows = []
        for regime in REGIMES:
            lit, plain = (
                gpu[f"lightning/{regime}"]["wall"]["median"],
                gpu[f"plain/{regime}"]["wall"]["median"],
            )
            gpu_rows.append([regime, f"{lit * 1e3:.1f} ms", f"{plain * 1e3:.1f} ms", f"{lit / plain:.2f}x"])
        lines.append(
            markdown_table(
                ["regime", "Lightning wall", "plain loop wall", "Lightning / plain (wall)"], gpu_rows
            )
        )
        full = gpu["lightning/full"]["wall"]["median"]
        if meta["data"].startswith("SMSSpamCollection"):
            lines += ["", target_row("SMS full fine-tuning epoch on the GPU (wall s)", full, 0.2, True)]
    return "\n".join(lines) + "\n"


def targets(timings: Timings, walls: dict[str, dict[str, float]]) -> list[tuple[str, float, float, bool]]:
    """(target, measured, bound, lower_is_better) for each performance target of the project."""

    def median(name: str, clock: str) -> float:
        return timings[name][clock]["median"]

    rows = [
        (
            f"Lightning / plain loop, {r} ({clock})",
            median(f"lightning/{r}", clock) / median(f"plain/{r}", clock),
            1.10,
            True,
        )
        for r in REGIMES
        for clock in ("wall", "cpu")
    ]
    rows += [
        (
            f"full / head-only (cached) per epoch ({clock})",
            median("lightning/full", clock) / median("lightning/head", clock),
            10.0,
            False,
        )
        for clock in ("wall", "cpu")
    ]
    demo = walls.get("demo.py, first run (pre-trains)")
    if demo:
        rows.append(("demo.py wall, pre-training and imports included (s)", demo["seconds"], 20.0, True))
    return rows


def target_row(name: str, measured: float, bound: float, lower_is_better: bool) -> str:
    """A target's row, judged on the figure as printed (two decimals), so the verdict and the figure agree."""
    measured = round(measured, 2)
    met = measured <= bound if lower_is_better else measured >= bound
    sign = "<=" if lower_is_better else ">="
    verdict = "met" if met else f"missed by {abs(measured - bound) / bound:.0%}"
    return f"| {name} {sign} {bound:g} | {measured:.2f} | {verdict} |"


def serve_load(cfg: DictConfig) -> str:
    """With ``bench.serve_load``, a section on ``scripts/serve.py`` under a bounded load on 127.0.0.1:
    the same clients against the same run, LitServe batching on and off."""
    b = cfg.bench
    if not b.serve_load:
        return ""
    if b.serve_load_run is None:
        raise ValueError("bench.serve_load=true needs bench.serve_load_run=RUN_DIR, a run to serve")
    settings = {
        f"batching on (max_batch_size {b.serve_load_batch}, batch_timeout {b.serve_load_timeout} s)": (
            f"--max-batch-size={b.serve_load_batch}",
            f"--batch-timeout={b.serve_load_timeout}",
        ),
        "batching off (max_batch_size 1)": ("--max-batch-size=1",),
    }
    rows = {}
    for name, options in settings.items():
        with serving(b.serve_load_run, *options) as server:
            rows[name] = load(server.port, b.serve_load_clients, b.serve_load_requests, b.serve_load_texts)
    lines = [
        "",
        "## Serving under load",
        "",
        f"`scripts/serve.py {b.serve_load_run}` on 127.0.0.1: {b.serve_load_clients} concurrent clients x "
        f"{b.serve_load_requests} requests of {b.serve_load_texts} texts each, one LitServe worker.",
        "",
        *load_markdown(rows),
        "",
    ]
    return "\n".join(lines)


def run(cfg: DictConfig) -> str:
    """Measure, then write ``cfg.bench.out`` (BENCHMARKS.md) and return its text."""
    root = Path(HydraConfig.get().runtime.cwd)  # the checkout it started in: its scripts, BENCHMARKS.md
    configure_runtime(cfg)
    check_config(cfg)  # a bad setting ends in one line before any work
    dm = build_datamodule(cfg)
    body, _ = pretrained_body(cfg, dm)
    timings = in_process(cfg, dm, body, torch.device("cpu"))
    gpu = (
        in_process(cfg, dm, body, torch.device("cuda", 0))
        if cfg.bench.gpu and torch.cuda.is_available()
        else None
    )
    breakdown = step_breakdown(body)
    # Whole commands write under paths.root_dir/bench, so their outputs (the sweep's comparison) stay.
    walls = commands(root, Path(cfg.paths.root_dir).resolve() / "bench", cfg.bench.commands, cfg.bench.sweep)
    meta = {
        "command": " ".join(["python scripts/bench.py", *overrides()]),
        "machine": machine(),
        "reps": cfg.bench.reps,
        "epochs": cfg.bench.epochs,
        "steps": len(dm.train_dataloader()),
        "data": f"{type(dm.source).__name__}, {len(dm.parts['train'])} training texts",
    }
    text = markdown(timings, gpu, breakdown, walls, meta) + serve_load(cfg)
    if cfg.bench.pretrained.enabled:
        devices = [torch.device("cpu")]
        devices += [torch.device("cuda", 0)] if cfg.bench.gpu and torch.cuda.is_available() else []
        for device in devices:
            section = cfg.bench.pretrained
            figures = bench_pretrained.measure(section, lambda c, d: pretrained_body(c, d)[0], device)
            text += "\n" + bench_pretrained.render_pretrained(figures, " ".join(section.overrides))
    atomic_write(root / cfg.bench.out, lambda f: f.write(text.encode()))
    make_console().print(text)
    return text
