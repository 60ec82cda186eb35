"""Callbacks: what a regime costs (time, memory), and runs that can be interrupted and resumed exactly."""

from __future__ import annotations

import contextlib
import resource
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import BaseFinetuning
from torch.optim import Optimizer

from headswap.errors import ConfigError
from headswap.model.regime import count_parameters, resolve_parts
from headswap.model.schedules import PerGroupSchedule
from headswap.seeding import mixed_seed

PROC = Path("/proc/self")


def maxrss_mb(ru_maxrss: int) -> float:
    """``getrusage``'s ``ru_maxrss`` in MB: Linux counts kilobytes, macOS bytes."""
    return ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


_peak_was_reset = False  # process state, as the kernel's peak is: has reset_peak_rss ever succeeded here


def reset_peak_rss() -> None:
    """Start the peak over from the memory the process holds now (Linux: ``clear_refs`` 5), so each run of a
    sweep in one process reports its own; where that is refused the peak stays the process's."""
    global _peak_was_reset
    with contextlib.suppress(OSError):
        (PROC / "clear_refs").write_text("5")
        _peak_was_reset = True


def peak_rss() -> tuple[float, str]:
    """The resident memory's high-water mark in MB, and whose it is: ``run`` (Linux's ``VmHWM``, since
    ``reset_peak_rss`` succeeded) or ``process`` (everything the process did so far)."""
    try:
        status = (PROC / "status").read_text().splitlines()
        peak = int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024
        return peak, "run" if _peak_was_reset else "process"
    except (OSError, StopIteration):
        return maxrss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss), "process"


class CostMonitor(L.Callback):
    """Times the training epochs (validation excluded) and records peak memory.

    ``train_state_mb`` is the deterministic part of training memory: weights, plus gradients and
    two Adam moments for each trainable weight (float32). It is what a regime changes, independent
    of what else the process holds. ``peak_rss_mb`` is the run's own peak where the OS can say it
    (``peak_rss_of``).
    """

    def __init__(self) -> None:
        self.epoch_seconds: list[float] = []
        self.epoch_cpu_seconds: list[float] = []  # this process's CPU time: steadier on a shared machine
        self.fit_seconds = 0.0
        self._fit_start = self._epoch_start = self._epoch_cpu_start = 0.0
        self._epoch_open = False

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.epoch_seconds, self.epoch_cpu_seconds = [], []
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._fit_start = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_open = True
        _finish_gpu_work(pl_module)
        self._epoch_start, self._epoch_cpu_start = time.perf_counter(), time.process_time()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._epoch_open:
            _finish_gpu_work(pl_module)
            self.epoch_seconds.append(time.perf_counter() - self._epoch_start)
            self.epoch_cpu_seconds.append(time.process_time() - self._epoch_cpu_start)
            self._epoch_open = False

    on_validation_start = on_train_epoch_end  # validation inside an epoch ends its timing

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.fit_seconds = time.perf_counter() - self._fit_start

    def summary(self, pl_module: L.LightningModule) -> dict[str, Any]:
        trainable, total = count_parameters(pl_module)
        peak, whose = peak_rss()
        cost = {
            "train_seconds": round(sum(self.epoch_seconds), 4),
            "fit_seconds": round(self.fit_seconds, 4),
            "seconds_per_epoch": round(median(self.epoch_seconds), 5) if self.epoch_seconds else 0.0,
            "epochs": len(self.epoch_seconds),
            "train_state_mb": round(4 * (total + 3 * trainable) / 2**20, 3),
            "peak_rss_mb": round(peak, 1),
            "peak_rss_of": whose,
        }
        if torch.cuda.is_available():
            cost["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        return cost


def _finish_gpu_work(pl_module: L.LightningModule) -> None:
    """A GPU runs asynchronously: its clock reading counts only once the work queued so far is done."""
    if pl_module.device.type == "cuda":
        torch.cuda.synchronize(pl_module.device)


class SeedPerStep(L.Callback):
    """Seeds torch's RNG before every training step from (seed, epoch, step).

    Dropout masks then depend only on where a step sits in training, not on what ran before it (a
    data-loader iterator, a validation pass), so a run resumed from a checkpoint continues exactly as
    the uninterrupted run would have. Batch order is fixed the same way by ``EpochShuffle``.
    """

    def __init__(self, seed: int | None) -> None:
        self.seed = seed

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int
    ) -> None:
        if self.seed is not None:  # DDP processes: other masks
            seed_step(
                mixed_seed(self.seed, trainer.current_epoch, batch_idx, trainer.global_rank), pl_module.device
            )


def seed_step(seed: int, device: torch.device) -> None:
    """Seed the generators a step's dropout draws from: the CPU's, and on a GPU that device's own.

    ``torch.manual_seed`` also queues the seeding of every CUDA and XPU device, recording a stack trace
    each time: more than a head-only step costs on CPU (BENCHMARKS.md times both). The CPU generator
    ends in the same state either way. Other accelerators (MPS, XPU) keep ``torch.manual_seed``.
    """
    if device.type not in ("cpu", "cuda"):
        torch.manual_seed(seed)
        return
    torch.random.default_generator.manual_seed(seed)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        torch.cuda.default_generators[index].manual_seed(seed)


class InterruptReport(L.Callback):
    """On Ctrl-C, SIGTERM or a crash, say where the last complete checkpoint is and how to resume."""

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        paths = (c.last_model_path for c in trainer.checkpoint_callbacks)
        last = next((p for p in paths if p and Path(p).is_file()), "")  # never a hint to a file not there
        where = " before its first checkpoint"
        if last:
            where = f"; last checkpoint: {last}; resume with: ckpt_path={last}"
        print(f"run interrupted ({type(exception).__name__}){where}", file=sys.stderr)


class SettingsInCheckpoint(L.Callback):
    """Writes the settings that shaped training into every checkpoint, so that a resume under other
    settings can be refused by name instead of silently continuing another experiment; and what the run
    did to the body before its first epoch (``done_before``: the tuning on pairs), which a resume takes
    from the checkpoint instead of doing again."""

    KEY = "headswap_training_settings"
    DONE_KEY = "headswap_done_before_training"

    def __init__(self, settings: dict[str, Any], done_before: dict[str, Any] | None = None) -> None:
        self.settings, self.done_before = settings, done_before or {}

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[self.KEY] = self.settings
        checkpoint[self.DONE_KEY] = self.done_before


class GradualUnfreezing(BaseFinetuning):
    """Carries out a regime's ``unfreeze`` stages (ULMFiT-style gradual unfreezing).

    At each stage's epoch its body parts become trainable and join the optimizer as a new parameter
    group with the stage's own rate. A regime without stages leaves everything as it is, so this
    callback can stay in every run: the regime, not the loop, decides.
    """

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if pl_module.regime.unfreeze and trainer.world_size > 1:
            raise ConfigError(
                f"regime={pl_module.regime.name} unfreezes parts during training, which DDP cannot follow "
                "(it syncs only the weights that train when it starts): run it on one process"
            )
        super().setup(trainer, pl_module, stage)

    def freeze_before_training(self, pl_module: L.LightningModule) -> None:
        """Nothing to do: the classifier applied the regime's starting flags when it was built."""

    def finetune_function(self, pl_module: L.LightningModule, epoch: int, optimizer: Optimizer) -> None:
        parts = pl_module.body.parts()
        for k, stage in enumerate(pl_module.regime.unfreeze):
            modules = [parts[n] for n in resolve_parts(parts, stage["parts"])]
            if int(stage["epoch"]) < epoch:  # a resumed run: the group is restored, its flags are not
                self.make_trainable(modules)
            elif int(stage["epoch"]) == epoch:
                groups = len(optimizer.param_groups)
                self.unfreeze_and_add_param_group(modules, optimizer, lr=float(stage["lr"]))
                if len(optimizer.param_groups) > groups:  # nothing is added when every part already trains
                    optimizer.param_groups[-1]["name"] = f"body.stage{k}"
                    for config in pl_module.trainer.lr_scheduler_configs:
                        if isinstance(config.scheduler, PerGroupSchedule):
                            config.scheduler.sync()  # the new group starts at its scheduled rate
