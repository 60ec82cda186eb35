"""bench.py's pretrained-body section: each regime as the project trains it, beside a textbook loop.

The project path is the real one (Trainer from the run's config: its batches, the precision
the hardware resolves to, the feature and frozen-prefix caches). The plain loop is what a careful user
writes first: random batches, fp32, AdamW over the same trainable weights, every layer run every step.
A full MiniLM epoch costs minutes on a small CPU, so both time ``rows`` training texts for ``epochs``
epochs and scale per-epoch figures to the whole training part (linear in texts: stated in the table).
On a CUDA GPU the same section is measured again there (``trainer=gpu``: bf16 where the GPU has it).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from hydra import compose
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from torch.utils.data import DataLoader

from headswap.lit import CostMonitor, HeadSwapClassifier, TextDataModule
from headswap.lit.quiet import quiet_trainer
from headswap.model import set_train_modes
from headswap.report import markdown_table
from headswap.training.build import build_datamodule

REGIMES = ("head", "partial", "lora", "full")
Epoch = tuple[float, float]  # one training epoch's (wall seconds, CPU seconds of this process)


def section_config(regime: str, bench: DictConfig, device: torch.device) -> DictConfig:
    """The config ``scripts/train.py`` would compose for this regime on the section's data and body."""
    return compose(
        "train",
        overrides=[
            *bench.overrides,
            f"regime={regime}",
            f"data.batch_size={bench.batch_size}",
            f"data.max_len={bench.max_len}",
            *(["trainer=gpu"] if device.type == "cuda" else []),
        ],
    )


def clocks(device: torch.device) -> Epoch:
    """(wall, CPU) clock readings once the GPU, if any, has finished what it was given."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter(), time.process_time()


def since(start: Epoch, device: torch.device) -> Epoch:
    now = clocks(device)
    return now[0] - start[0], now[1] - start[1]


def epochs_of(monitor: CostMonitor) -> list[Epoch]:
    """Each training epoch's (wall, CPU) as ``CostMonitor`` measured it."""
    return list(zip(monitor.epoch_seconds, monitor.epoch_cpu_seconds))


def subset(dm: TextDataModule, rows: int) -> TextDataModule:
    """The data module with its training part cut to its first ``rows`` texts (the split's own order)."""
    train = dm.parts["train"]
    keep = list(range(min(rows, len(train))))
    train.ids, train.examples = [train.ids[i] for i in keep], [train.examples[i] for i in keep]
    train.labels, train.keys = train.labels[keep], train.keys[keep]
    return dm


def project_epochs(cfg: DictConfig, dm: TextDataModule, body: torch.nn.Module, epochs: int) -> list[Epoch]:
    """Per-epoch (wall, CPU) of the project's own training path, validation excluded."""
    model: HeadSwapClassifier = instantiate(cfg.model, body=body)
    monitor = CostMonitor()
    trainer = quiet_trainer(
        accelerator=cfg.trainer.accelerator,
        max_epochs=epochs,
        precision=cfg.trainer.precision,
        callbacks=[monitor],
        limit_val_batches=0,
    )
    trainer.fit(model, train_dataloaders=dm.train_dataloader())
    return epochs_of(monitor)


def plain_epochs(
    cfg: DictConfig, dm: TextDataModule, body: torch.nn.Module, epochs: int, device: torch.device
) -> list[Epoch]:
    """The textbook loop: shuffled batches (``DataLoader(shuffle=True)``), fp32, AdamW, no cache."""
    model: HeadSwapClassifier = instantiate(cfg.model, body=body, cache_features=False)
    net = model.classifier.to(device)
    optimizer = torch.optim.AdamW(model.build_optimizer().param_groups)
    loader = DataLoader(
        dm.parts["train"],
        batch_size=dm.config.batch_size,
        shuffle=True,
        collate_fn=dm.collate,
        drop_last=len(dm.parts["train"]) % dm.config.batch_size == 1,
    )
    times = []
    for _ in range(epochs):
        set_train_modes(net.body, net.body.parts())
        net.pool.train()
        net.head.train()
        start = clocks(device)
        for batch in loader:
            ids, mask, labels = (batch[k].to(device) for k in ("input_ids", "attention_mask", "labels"))
            loss = F.cross_entropy(net(ids, mask), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        times.append(since(start, device))
    return times


def texts_per_second(predict: Callable[[], object], n: int, device: torch.device) -> float:
    start = clocks(device)
    predict()
    return n / since(start, device)[0]


def measure(
    bench: DictConfig,
    fresh_body: Callable[[DictConfig, TextDataModule], torch.nn.Module],
    device: torch.device,
) -> dict:
    """Every figure of the section (seconds), for ``render_pretrained`` to lay out; on ``device``."""
    torch.set_num_threads(bench.threads)
    started = time.perf_counter()
    cfg = section_config("full", bench, device)
    dm = build_datamodule(cfg)
    dm.setup()
    n_train = len(dm.parts["train"])
    startup = time.perf_counter() - started
    subset(dm, bench.rows)
    rows: dict[str, dict[str, Any]] = {}
    for regime in REGIMES:
        cfg = section_config(regime, bench, device)
        with open_dict(cfg):
            cfg.trainer.precision = cfg.trainer.precision  # resolved once, as the run would
        rows[regime] = {
            "project": project_epochs(cfg, dm, fresh_body(cfg, dm), bench.epochs),
            "plain": plain_epochs(cfg, dm, fresh_body(cfg, dm), bench.epochs, device),
            "precision": str(cfg.trainer.precision),
            "batches": "length-grouped batches" if dm.config.group_by_length else "random batches",
        }
    model: HeadSwapClassifier = instantiate(cfg.model, body=fresh_body(cfg, dm)).to(device)
    texts = len(dm.parts["test"])
    plain_loader = DataLoader(dm.parts["test"], batch_size=64, collate_fn=dm.collate)
    sorted_loader = dm.loader("test", batch_size=64)
    precision = rows["full"]["precision"]

    def project_predict() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision.startswith("bf16")):
            model.predict_proba(sorted_loader)

    def plain_predict() -> None:
        for b in plain_loader:
            model.classifier(b["input_ids"].to(device), b["attention_mask"].to(device))

    model.eval()
    with torch.no_grad():
        plain = texts_per_second(plain_predict, texts, device)
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "rows": min(bench.rows, n_train),
        "n_train": n_train,
        "epochs": bench.epochs,
        "startup_s": startup,
        "regimes": rows,
        "predict": {
            "texts": texts,
            "project": texts_per_second(project_predict, texts, device),
            "plain": plain,
        },
    }


def per_epoch(epochs: Sequence[Epoch], scale: float) -> dict[str, float]:
    """First epoch (fills the caches) and the median later one, scaled to the whole training part."""
    later = epochs[1:] or epochs
    return {
        "first_wall": epochs[0][0] * scale,
        "first_cpu": epochs[0][1] * scale,
        "wall": statistics.median(w for w, _ in later) * scale,
        "cpu": statistics.median(c for _, c in later) * scale,
    }


def gradual_epoch(
    head: dict[str, float], partial: dict[str, float], full: dict[str, float]
) -> dict[str, float]:
    """experiment=general's gradual schedule, 4 epochs per stage (head, last block, whole body), each
    stage's first epoch filling its cache: the mean epoch, from the measured head, partial and full."""

    def mean(clock: str, first: str) -> float:
        return (head[first] + 3 * head[clock] + partial[first] + 3 * partial[clock] + 4 * full[clock]) / 12

    return {
        "first_wall": head["first_wall"],
        "first_cpu": head["first_cpu"],
        "wall": mean("wall", "first_wall"),
        "cpu": mean("cpu", "first_cpu"),
    }


def render_pretrained(figures: dict[str, Any], body: str) -> str:
    """The section's markdown from ``measure``'s figures: no measuring here, so a test can check it."""
    scale = figures["n_train"] / figures["rows"]
    rows = {
        r: {k: per_epoch(v[k], scale) for k in ("project", "plain")} for r, v in figures["regimes"].items()
    }
    project = {r: v["project"] for r, v in rows.items()}
    project["gradual"] = gradual_epoch(project["head"], project["partial"], project["full"])
    plain_full = rows["full"]["plain"]
    table = []
    for regime in ("head", "partial", "gradual", "lora", "full"):
        mine, plain = project[regime], rows.get(regime, rows["full"])["plain"]
        table.append(
            [
                regime + (" (cached)" if regime == "head" else ""),
                f"{mine['wall']:.1f} s",
                f"{mine['cpu']:.1f} s",
                f"{plain['wall']:.1f} s",
                f"{plain['cpu']:.1f} s",
                f"{plain_full['wall'] / mine['wall']:.1f}x",
            ]
        )
    predict = figures["predict"]
    header = [
        "regime",
        "headswap wall / epoch",
        "headswap CPU / epoch",
        "plain loop wall / epoch",
        "plain loop CPU / epoch",
        "plain full wall / headswap",
    ]
    precision, batches = figures["regimes"]["full"]["precision"], figures["regimes"]["full"]["batches"]
    device = figures.get("device", "cpu")
    where = "" if device == "cpu" else f" on the GPU ({device})"
    lines = [
        f"## A pretrained body{where}: {body} ({precision}, {batches}, caches) against a plain loop",
        "",
        f"Extrapolated: each regime trained {figures['epochs']} epochs on {figures['rows']} of the "
        f"{figures['n_train']} training texts; per-epoch times are the median epoch after the first (which "
        f"fills the caches), times {scale:.2f} for the whole training part. The plain loop: shuffled "
        "batches, fp32, AdamW over the same trainable weights, every layer every step. gradual: "
        "experiment=general's schedule (4 epochs each of head, last block, whole body) from the head, "
        "partial and full epochs, each stage's first epoch at its measured first-epoch cost; its plain "
        "loop is the plain full loop.",
        "",
        markdown_table(header, table),
        "",
        markdown_table(
            ["predict on the test texts (model loaded)", "texts/s"],
            [
                [f"headswap: by length, {precision}, batch 64", f"{predict['project']:.0f}"],
                ["plain: input order, fp32, batch 64", f"{predict['plain']:.0f}"],
            ],
        ),
        "",
        f"Start-up (reading and tokenising the data), apart: {figures['startup_s']:.1f} s.",
        "",
        markdown_table(
            ["target", "measured", "verdict"],
            [
                target_cells(
                    "full: plain full / headswap full", plain_full["wall"] / project["full"]["wall"], 4.0
                ),
                target_cells(
                    "partial: plain full / headswap partial",
                    plain_full["wall"] / project["partial"]["wall"],
                    10.0,
                ),
                target_cells("predict texts/s", predict["project"], 300.0),
            ],
        ),
    ]
    return "\n".join(lines) + "\n"


def target_cells(name: str, measured: float, at_least: float) -> list[str]:
    verdict = "met" if measured >= at_least else f"missed by {(at_least - measured) / at_least:.0%}"
    return [f"{name} >= {at_least:g}", f"{measured:.2f}", verdict]
