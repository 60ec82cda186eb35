"""Learning-rate schedules per optimizer group (``head``, ``body``), stepped once per batch.

The head and the body want different things: a fresh head can take a large rate that decays, a
pretrained body a smaller one. Factors are chosen by group name, with a default for the rest, so
groups that join the optimizer later (gradual unfreezing) are scheduled too, from their own rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from headswap.errors import ConfigError

Factor = Callable[[int], float]


class PerGroupSchedule(LRScheduler):
    """Each group's rate is its starting rate times ``factors[group name](step)``; unnamed or unlisted
    groups follow ``default`` (their starting rate unless given)."""

    def __init__(
        self, optimizer: Optimizer, factors: Mapping[str, Factor], default: Factor | None = None
    ) -> None:
        self.factors = dict(factors)
        self.default = default or _one
        super().__init__(optimizer)

    def state_dict(self) -> dict:
        """Counters only: the factor functions are code, rebuilt from config, never pickled."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "factors", "default")}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in ("factors", "default")})

    def sync(self) -> None:
        """Give every group its rate for the current step now, so a group that joined mid-run takes its
        first step at its scheduled rate rather than its bare starting rate."""
        self._last_lr = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_lr(self) -> list[float]:
        rates = []
        for group in self.optimizer.param_groups:
            base = group.setdefault("initial_lr", group["lr"])  # a group added later starts from its own rate
            factor = self.factors.get(group.get("name", ""), self.default)
            rates.append(base * factor(self.last_epoch))
        return rates


def _one(step: int) -> float:
    return 1.0


def constant(optimizer: Optimizer, total_steps: int) -> PerGroupSchedule:
    """Every group keeps its rate (a scheduler all the same, so the rates are logged like any other)."""
    return PerGroupSchedule(optimizer, {})


def cosine_factor(step: int, total_steps: int, warmup_steps: int = 0, min_factor: float = 0.0) -> float:
    """Linear warm-up to 1 over ``warmup_steps``, then cosine decay to ``min_factor`` at ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def linear_factor(step: int, total_steps: int, warmup_steps: int = 0) -> float:
    """Linear warm-up to 1 over ``warmup_steps``, then linear decay to 0 at ``total_steps``
    (sentence-transformers' ``WarmupLinear``, what SetFit tunes its body under)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def _cosine(total_steps: int, warmup_fraction: float, min_factor: float) -> Factor:
    if not 0.0 <= warmup_fraction < 1.0:
        raise ConfigError(f"schedule.warmup_fraction={warmup_fraction} must be in [0, 1)")
    if not 0.0 <= min_factor <= 1.0:
        raise ConfigError(f"schedule.min_factor={min_factor} must be in [0, 1]")
    warmup_steps = int(warmup_fraction * total_steps)
    return partial(cosine_factor, total_steps=total_steps, warmup_steps=warmup_steps, min_factor=min_factor)


def cosine_head(
    optimizer: Optimizer, total_steps: int, warmup_fraction: float = 0.0, min_factor: float = 0.0
) -> PerGroupSchedule:
    """Cosine decay (after optional warm-up) on the head group; every other group stays constant."""
    return PerGroupSchedule(optimizer, {"head": _cosine(total_steps, warmup_fraction, min_factor)})


def cosine(
    optimizer: Optimizer, total_steps: int, warmup_fraction: float = 0.0, min_factor: float = 0.0
) -> PerGroupSchedule:
    """Warm-up, then cosine decay on every group, each from its own rate: the usual full fine-tuning
    schedule, where the body's rate should fall as well as the head's."""
    return PerGroupSchedule(optimizer, {}, default=_cosine(total_steps, warmup_fraction, min_factor))
