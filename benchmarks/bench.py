"""``python scripts/bench.py``: measure, write the figures as JSON, render BENCHMARKS.md from them.

Everything timed in one process runs alternately (A B A B ...) over several repetitions, so drift of the
machine hits both sides alike; medians and min-max are reported. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from benchmarks import measure, serve_load, shared
from benchmarks.render import render
from headswap.app.checks import check_config
from headswap.app.runtime import configure_runtime, overrides
from headswap.errors import ConfigError
from headswap.io import atomic_write, write_json
from headswap.lit import TextDataModule
from headswap.report import console
from headswap.training.bodies import pretrained_body
from headswap.training.build import build_datamodule


def run(cfg: DictConfig) -> str:
    """Measure, write ``cfg.bench.out`` (BENCHMARKS.md) and the JSON beside it, and return the text."""
    root = Path(HydraConfig.get().runtime.cwd)  # the checkout it started in: its scripts, BENCHMARKS.md
    configure_runtime(cfg)
    check_config(cfg)  # a bad setting ends in one line before any work
    bench = cfg.bench
    if bench.serve_load and bench.serve_load_run is None:
        raise ConfigError("bench.serve_load=true needs bench.serve_load_run=RUN_DIR, a run to serve")
    command = " ".join(["python scripts/bench.py", *overrides()])
    out = root / bench.out
    if not bench.fixture:  # one section measured apart: the others stay as their own run measured them
        return write_and_render(out, {**read_measured(out), **other_sections(cfg, command)})
    measured = {
        "command": command,
        "machine": measure.machine(),
        "fixture": fixture(cfg),
        # whole commands write under paths.root_dir/bench, so their outputs (a sweep's comparison) stay
        "commands": measure.commands(root, Path(cfg.paths.root_dir).resolve() / "bench", bench.sweep)
        if bench.commands
        else {},
        "serve_load": serve_under_load(bench) if bench.serve_load else None,
        "pretrained_body": " ".join(bench.pretrained.overrides),
        "pretrained": [
            measure.pretrained(bench.pretrained, fresh_pretrained_body, device) for device in devices(cfg)
        ]
        if bench.pretrained.enabled
        else [],
        **other_sections(cfg, command),
    }
    return write_and_render(out, measured)


def other_sections(cfg: DictConfig, command: str) -> dict[str, Any]:
    """The sections that may be measured apart from the rest: the shared machine."""
    fresh_body = lambda c, d: pretrained_body(c, d)[0]  # noqa: E731
    return (
        {"shared": shared.shared_machine(cfg.bench.shared, fresh_body, command)}
        if cfg.bench.shared.enabled
        else {}
    )


def fresh_pretrained_body(cfg: DictConfig, dm: TextDataModule) -> torch.nn.Module:
    return pretrained_body(cfg, dm)[0]


def read_measured(out: Path) -> dict[str, Any]:
    source = out.with_suffix(".json")
    if not source.is_file():
        raise ConfigError(
            f"bench.fixture=false adds sections to {source}, which does not exist: run the whole bench first"
        )
    return json.loads(source.read_text())


def write_and_render(out: Path, measured: dict[str, Any]) -> str:
    """``measured`` written as JSON beside ``out``, and ``out`` rendered from what reads back from it."""
    write_json(out.with_suffix(".json"), measured)
    text = render(json.loads(out.with_suffix(".json").read_text()))  # what a later render gives, exactly
    atomic_write(out, lambda f: f.write(text.encode()))
    console().print(text)
    return text


def devices(cfg: DictConfig) -> list[torch.device]:
    """The CPU, and the first CUDA GPU where there is one (``bench.gpu``)."""
    gpu = [torch.device("cuda", 0)] if cfg.bench.gpu and torch.cuda.is_available() else []
    return [torch.device("cpu"), *gpu]


def fixture(cfg: DictConfig) -> dict[str, Any]:
    """The per-epoch section on the run's data and pretrained body, on every device."""
    dm = build_datamodule(cfg)
    body, _ = pretrained_body(cfg, dm)
    timings = {device.type: measure.per_epoch(cfg, dm, body, device) for device in devices(cfg)}
    return {
        "data": f"{type(dm.source).__name__}, {len(dm.parts['train'])} training texts",
        "steps": len(dm.train_dataloader()),
        "reps": cfg.bench.reps,
        "epochs": cfg.bench.epochs,
        "cpu": timings["cpu"],
        "gpu": timings.get("cuda"),
    }


def serve_under_load(bench: DictConfig) -> dict[str, Any]:
    """``scripts/serve.py`` under a bounded load on 127.0.0.1: the same clients against the same run,
    LitServe batching on and off."""
    batching = f"max_batch_size {bench.serve_load_batch}, batch_timeout {bench.serve_load_timeout} s"
    settings = {
        f"batching on ({batching})": (
            f"--max-batch-size={bench.serve_load_batch}",
            f"--batch-timeout={bench.serve_load_timeout}",
        ),
        "batching off (max_batch_size 1)": ("--max-batch-size=1",),
    }
    rows = {}
    for name, options in settings.items():
        with serve_load.serving(bench.serve_load_run, *options) as server:
            rows[name] = serve_load.load(
                server.port, bench.serve_load_clients, bench.serve_load_requests, bench.serve_load_texts
            )
    run = str(bench.serve_load_run)
    return {
        "run": run,
        "clients": bench.serve_load_clients,
        "requests": bench.serve_load_requests,
        "texts": bench.serve_load_texts,
        "rows": rows,
    }
