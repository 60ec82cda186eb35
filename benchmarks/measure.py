"""What BENCHMARKS.md reports, measured: plain dicts of seconds, for ``render`` to lay out.

- ``per_epoch``: the fixture's regimes through the project's own Trainer config, a bare Trainer and the
  plain loop (the same weights, batches, optimizer, cache and per-step seeds), interleaved.
- ``commands``: whole commands in fresh processes, as a user meets them.
- ``pretrained``: a pretrained body's regimes as the project trains them (its batches, the precision the
  hardware resolves to, the caches) against the textbook loop (random batches, fp32, AdamW, no cache), on
  ``rows`` training texts, and predict's throughput against a plain forward in input order.
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
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra import compose
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from torch.utils.data import DataLoader

from benchmarks.loops import Epoch, alternate, bare_trainer, clocks, lightning_epochs, plain_epochs, since
from headswap.app.precision import BF16, cpuinfo
from headswap.app.runtime import seed_everything
from headswap.lit import HeadSwapClassifier, TextDataModule
from headswap.lit.callbacks import maxrss_mb
from headswap.training.build import build_datamodule, instantiate_all
from headswap.training.evaluation import split_logits

REGIMES = ("head", "partial", "full")
PRETRAINED_REGIMES = ("head", "partial", "lora", "full")


def per_epoch(cfg: DictConfig, dm: TextDataModule, body: torch.nn.Module, device: torch.device) -> dict:
    """Every per-epoch measurement of the fixture on ``device``, interleaved; per measurement and clock:
    median, min, max and count of the timed epochs."""
    epochs = cfg.bench.epochs
    regimes = {name: instantiate(cfg.regimes[name]) for name in REGIMES}

    def model(regime: str, cache: bool = True) -> HeadSwapClassifier:
        seed_everything(0)
        pool = instantiate(cfg.pool)
        return HeadSwapClassifier(copy.deepcopy(body), pool, regimes[regime], cache_features=cache)

    def lightning(regime: str, make: Callable[..., L.Trainer], cache: bool = True) -> list[Epoch]:
        m = model(regime, cache)
        return lightning_epochs(m, lambda trainer: trainer.fit(m, datamodule=dm), make)

    def plain(regime: str) -> list[Epoch]:
        m = model(regime)
        return plain_epochs(m.classifier, dm.train_dataloader(), m.build_optimizer(), epochs, device, seed=0)

    project, bare = project_trainer(cfg, device, epochs), bare_trainer(device, max_epochs=epochs)
    runs: dict[str, Callable[[], list[Epoch]]] = {}
    for regime in REGIMES:
        runs[f"lightning/{regime}"] = lambda r=regime: lightning(r, project)
        runs[f"plain/{regime}"] = lambda r=regime: plain(r)
    runs["bare/head"] = lambda: lightning("head", bare)
    runs["lightning/head-uncached"] = lambda: lightning("head", project, cache=False)
    return alternate(runs, cfg.bench.reps)


def project_trainer(cfg: DictConfig, device: torch.device, epochs: int) -> Callable[..., L.Trainer]:
    """The run's own Trainer config, callbacks and loggers included, writing into a scratch folder."""

    def make(callbacks: list[L.Callback], default_root_dir: str) -> L.Trainer:
        trainer = instantiate(
            cfg.trainer,
            accelerator="gpu" if device.type == "cuda" else "cpu",
            max_epochs=epochs,
            default_root_dir=default_root_dir,
            logger=[instantiate(c, save_dir=default_root_dir) for c in cfg.logger.values()],
            callbacks=[*instantiate_all(cfg.callbacks), *callbacks],
        )
        for checkpoint in trainer.checkpoint_callbacks:
            checkpoint.dirpath = default_root_dir
        return trainer

    return make


def wall(cmd: list[str], cwd: Path) -> dict[str, float]:
    """Wall seconds and peak resident memory (MB) of one fresh process running ``cmd``."""
    with tempfile.TemporaryFile() as stderr:  # a file, not a pipe: a chatty child cannot block on it
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            stderr.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed: {stderr.read().decode()[-500:]}")
    return {"seconds": seconds, "peak_rss_mb": maxrss_mb(usage.ru_maxrss)}


def commands(root: Path, scratch: Path, sweep: bool) -> dict[str, dict[str, float]]:
    """Whole commands, as a user meets them: imports, the demo (cold and cached), a run per regime,
    predict and export of the last run, and (with ``sweep``) a 3 x 5 sweep on each launcher."""
    py, demo = sys.executable, scratch / "demo"
    results = {
        f"import {module}": {
            "seconds": statistics.median(
                wall([py, "-c", f"import {module}"], root)["seconds"] for _ in range(3)
            )
        }
        for module in ("lightning", "headswap.jobs.train")  # what headswap adds to Lightning's own import
    }
    shutil.rmtree(demo, ignore_errors=True)  # the first demo run pre-trains from a cold cache
    quiet = [f"paths.root_dir={demo}", "trainer.enable_progress_bar=false"]
    results["demo.py, first run (pre-trains)"] = wall([py, "scripts/demo.py", *quiet], root)
    results["demo.py, body cached"] = wall([py, "scripts/demo.py", *quiet], root)
    for regime in REGIMES:
        results[f"train.py regime={regime}"] = wall(
            [py, "scripts/train.py", f"regime={regime}", *quiet], root
        )
    last = str(max(demo.glob("logs/train/runs/*/metrics.json"), key=lambda p: p.stat().st_mtime).parent)
    results["predict.py, one text"] = wall([py, "scripts/predict.py", last, "hi"], root)
    results["export.py"] = wall([py, "scripts/export.py", last, f"--out={scratch}/export"], root)
    if sweep:
        grid = ["scripts/train.py", "-m", "regime=head,partial,full", "seed=0,1,2,3,4", *quiet[1:]]
        results["sweep 3 regimes x 5 seeds (basic launcher)"] = wall(
            [py, *grid, f"paths.root_dir={scratch / 'sweep'}"], root
        )
        joblib = [
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            f"paths.root_dir={scratch / 'sweep_joblib'}",
        ]
        results["sweep 3 regimes x 5 seeds (joblib, 2 jobs)"] = wall([py, *grid, *joblib], root)
    return results


def machine() -> dict[str, str]:
    gpu = {"gpu": torch.cuda.get_device_name(0)} if torch.cuda.is_available() else {}
    return {
        "cpu": f"{cpuinfo('model name') or platform.processor()} ({torch.get_num_threads()} torch threads)",
        **gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": L.__version__,
        "platform": platform.platform(),
    }


def pretrained(
    section: DictConfig,
    fresh_body: Callable[[DictConfig, TextDataModule], torch.nn.Module],
    device: torch.device,
) -> dict[str, Any]:
    """The pretrained-body section's figures on ``device`` (seconds; texts per second for predict)."""
    torch.set_num_threads(section.threads)
    started = time.perf_counter()
    dm = build_datamodule(section_config("full", section, device))
    n_train, startup = len(dm.parts["train"]), time.perf_counter() - started
    keep_first(dm, section.rows)
    rows = {}
    for regime in PRETRAINED_REGIMES:
        cfg = section_config(regime, section, device)
        with open_dict(cfg):
            cfg.trainer.precision = cfg.trainer.precision  # resolved once, as the run would
        project = instantiate(cfg.model, body=fresh_body(cfg, dm))
        bare = bare_trainer(
            device, max_epochs=section.epochs, precision=cfg.trainer.precision, limit_val_batches=0
        )
        textbook = instantiate(cfg.model, body=fresh_body(cfg, dm), cache_features=False)
        random_batches = dm.shuffled_loader("train", seed=0, group_by_length=False)
        optimizer = torch.optim.AdamW(textbook.build_optimizer().param_groups)
        rows[regime] = {
            "project": lightning_epochs(
                project, lambda t, m=project: t.fit(m, train_dataloaders=dm.train_dataloader()), bare
            ),
            "plain": plain_epochs(textbook.classifier, random_batches, optimizer, section.epochs, device),
            "precision": str(cfg.trainer.precision),
            "batches": "length-grouped batches" if dm.config.group_by_length else "random batches",
        }
    model = instantiate(cfg.model, body=fresh_body(cfg, dm)).to(device)
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "rows": min(section.rows, n_train),
        "n_train": n_train,
        "epochs": section.epochs,
        "startup_s": startup,
        "regimes": rows,
        "predict": predict_throughput(model, dm, device, rows["full"]["precision"] == BF16),
    }


def predict_throughput(
    model: HeadSwapClassifier, dm: TextDataModule, device: torch.device, bf16: bool
) -> dict:
    """Texts per second on the test part: the project's way (by length, the run's precision) against a
    plain forward in input order, fp32, both in batches of 64."""
    texts, net = len(dm.parts["test"]), model.classifier
    by_length, in_order = (
        dm.loader("test", batch_size=64),
        DataLoader(dm.parts["test"], batch_size=64, collate_fn=dm.collate),
    )

    def per_second(run: Callable[[], object]) -> float:
        start = clocks(device)
        run()
        return texts / since(start, device)[0]

    def plain() -> None:
        net.eval()
        with torch.no_grad():
            for b in in_order:
                net(b["input_ids"].to(device), b["attention_mask"].to(device))

    def project() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            split_logits(net, by_length, device)

    return {"texts": texts, "plain": per_second(plain), "project": per_second(project)}


def section_config(regime: str, section: DictConfig, device: torch.device) -> DictConfig:
    """The config ``scripts/train.py`` would compose for this regime on the section's data and body."""
    overrides = [*section.overrides, f"regime={regime}", f"data.batch_size={section.batch_size}"]
    overrides += [f"data.max_len={section.max_len}", *(["trainer=gpu"] if device.type == "cuda" else [])]
    return compose("train", overrides=overrides)


def keep_first(dm: TextDataModule, rows: int, part: str = "train") -> TextDataModule:
    """The data module with ``part`` cut to its first ``rows`` texts (the split's own order)."""
    train = dm.parts[part]
    keep = list(range(min(rows, len(train))))
    train.ids, train.examples = [train.ids[i] for i in keep], [train.examples[i] for i in keep]
    train.labels, train.keys = train.labels[keep], train.keys[keep]
    return dm
