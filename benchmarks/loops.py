"""The two ways an epoch is timed: through Lightning, as the project trains, and by the one plain loop.

Each returns the epochs' (wall seconds, CPU seconds of this process), read once the GPU (if any) has
finished what it was given. The plain loop is what a careful user writes by hand over the plain
``Classifier``, in fp32; what it keeps or gives up (the frozen-part cache, length-grouped batches, a seed
per step) is the caller's choice of classifier, batches and optimizer.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterable

import lightning as L
import torch
import torch.nn.functional as F
from torch.optim import Optimizer

from headswap.lit import CostMonitor, HeadSwapClassifier
from headswap.lit.callbacks import seed_step
from headswap.lit.quiet import quiet_trainer
from headswap.model.classifier import Classifier
from headswap.seeding import mixed_seed

Epoch = tuple[float, float]  # one training epoch's (wall seconds, CPU seconds of this process)


def clocks(device: torch.device) -> Epoch:
    """(wall, CPU) clock readings once the GPU, if any, has finished what it was given."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter(), time.process_time()


def since(start: Epoch, device: torch.device) -> Epoch:
    now = clocks(device)
    return now[0] - start[0], now[1] - start[1]


def plain_epochs(
    net: Classifier,
    loader: Iterable[dict[str, torch.Tensor]],
    optimizer: Optimizer,
    epochs: int,
    device: torch.device,
    seed: int | None = None,
) -> list[Epoch]:
    """The plain loop: each epoch's batches through ``net`` (which caches its frozen part if it was built
    with a cache), cross-entropy, backward, ``optimizer``. With ``seed`` each step's dropout is seeded as
    ``SeedPerStep`` seeds it, so the loop could resume exactly too."""
    net.to(device)
    times = []
    for epoch in range(epochs):
        if hasattr(getattr(loader, "sampler", None), "set_epoch"):
            loader.sampler.set_epoch(epoch)  # as Lightning does: the epoch's own order
        net.set_train_modes()  # frozen parts in eval mode, as the project trains them
        start = clocks(device)
        for step, cpu_batch in enumerate(loader):
            if seed is not None:
                seed_step(mixed_seed(seed, epoch, step, 0), device)
            batch = {k: v.to(device, non_blocking=True) for k, v in cpu_batch.items()}
            logits = net(batch["input_ids"], batch["attention_mask"], batch["keys"])
            loss = F.cross_entropy(logits, batch["labels"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        times.append(since(start, device))
    return times


def lightning_epochs(
    model: HeadSwapClassifier, fit: Callable[[L.Trainer], None], make_trainer: Callable[..., L.Trainer]
) -> list[Epoch]:
    """Per-epoch training time under the trainer ``make_trainer(callbacks=..., default_root_dir=...)``
    builds, as ``CostMonitor`` measures it (validation excluded); ``fit(trainer)`` runs the fit."""
    clock = CostMonitor()
    with tempfile.TemporaryDirectory() as tmp:
        fit(make_trainer(callbacks=[clock], default_root_dir=tmp))
    return list(zip(clock.epoch_seconds, clock.epoch_cpu_seconds))


def bare_trainer(device: torch.device, **settings: object) -> Callable[..., L.Trainer]:
    """Lightning's own loop: no loggers, checkpoints or progress bar; ``settings`` add to it."""
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    return lambda **kwargs: quiet_trainer(accelerator=accelerator, **settings, **kwargs)


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def alternate(
    runs: dict[str, Callable[[], list[Epoch]]], reps: int
) -> dict[str, dict[str, dict[str, float]]]:
    """Run each measurement ``reps`` times, interleaved (A B A B ...: drift hits both alike); keep every
    epoch after the first of each run (it pays one-off costs: the caches, allocator warm-up); summarised
    per clock."""
    samples: dict[str, list[Epoch]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            samples[name] += run()[1:]
    return {
        name: {"wall": summary([w for w, _ in epochs]), "cpu": summary([c for _, c in epochs])}
        for name, epochs in samples.items()
    }
