"""The shared-machine section: a pretrained body's training epoch and predict, alone and beside one busy
process, under torch's default thread count (one per core, as before issue 31) and the project's default
(``headswap.app.threads``).

The busy process is a pure-Python loop (one core, as a notebook, a browser tab or another job's data
loading keeps one), started before each measurement beside it and stopped after. Each setting is measured
in this process; the project's default is chosen as a job chooses it, by sampling the machine after the
busy process has started.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from benchmarks.loops import bare_trainer, clocks, lightning_epochs, since, summary
from benchmarks.measure import keep_first, section_config
from headswap.app import threads
from headswap.app.runtime import seed_everything
from headswap.lit import TextDataModule
from headswap.training.build import build_datamodule
from headswap.training.evaluation import split_logits

CPU = torch.device("cpu")


@contextmanager
def busy_process() -> Iterator[None]:
    """One pure-Python loop keeping one core busy, until the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(1.0)  # running flat out before anything is chosen or timed
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def torch_default_threads() -> int:
    """The thread count torch picks for a fresh process here (what every job used before issue 31)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return int(out.stdout)


def measure_once(cfg: DictConfig, dm: TextDataModule, fresh_body: Callable, section: DictConfig) -> dict:
    """One fresh model's ``regime=full`` epochs (seconds each, the first apart) and its predict time on the
    test texts, at the thread count already set."""
    seed_everything(0)
    model = instantiate(cfg.model, body=fresh_body(cfg, dm))
    trainer = bare_trainer(CPU, max_epochs=section.epochs, precision=cfg.trainer.precision)
    epochs = lightning_epochs(model, lambda t: t.fit(model, train_dataloaders=dm.train_dataloader()), trainer)
    start = clocks(CPU)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.trainer.precision == "bf16-mixed"):
        split_logits(model.classifier, dm.loader("test", batch_size=64), CPU)
    return {"epochs": [w for w, _ in epochs], "predict": since(start, CPU)[0]}


def shared_machine(section: DictConfig, fresh_body: Callable, command: str) -> dict[str, Any]:
    """Every (setting, load) pair ``section.reps`` times, interleaved; per pair the median epoch after
    each fit's first and the median predict time, and the threads used."""
    cfg = section_config("full", section, CPU)
    with open_dict(cfg):
        cfg.trainer.precision = cfg.trainer.precision  # resolved once, as the run would
    dm = keep_first(keep_first(build_datamodule(cfg), section.rows), section.texts, "test")
    before = torch_default_threads()
    settings: dict[str, Callable[[], threads.ThreadChoice]] = {
        "torch's default (before)": lambda: threads.ThreadChoice(before, "one per core"),
        "headswap's default": threads.choose,
    }
    samples: dict[str, dict[str, Any]] = {}
    for _ in range(section.reps):
        for load in ("alone", "beside 1 busy process"):
            for name, choose in settings.items():
                with busy_process() if load != "alone" else nullcontext():
                    choice = threads.use(choose())
                    got = measure_once(cfg, dm, fresh_body, section)
                row = samples.setdefault(f"{name} | {load}", {"epoch": [], "predict": [], "threads": []})
                row["epoch"] += got["epochs"][1:]
                row["predict"].append(got["predict"])
                row["threads"].append(f"{choice.threads} ({choice.why})")
    return {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "body": " ".join(section.overrides),
        "precision": str(cfg.trainer.precision),
        "rows": len(dm.parts["train"]),
        "texts": len(dm.parts["test"]),
        "reps": section.reps,
        "pairs": {
            pair: {"epoch": summary(s["epoch"]), "predict": summary(s["predict"]), "threads": s["threads"]}
            for pair, s in samples.items()
        },
    }
