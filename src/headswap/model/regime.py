"""A regime is data: which parts of the body train, and at what learning rates.

The training loop never asks which regime it runs. It asks the regime for ``requires_grad`` flags
and optimizer parameter groups, and every regime (head-only, partial, full, ...) goes through the
same code.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import takewhile
from typing import Any

from torch import nn

from headswap.errors import ConfigError
from headswap.model.pairs import PairSettings


@dataclass(frozen=True)
class Regime:
    """The single source of a regime's settings (``conf/regime/*.yaml`` hold only what differs).

    ``body_trainable`` holds patterns over the body's part names (``embed``, ``blocks.0``, ..., ``norm``).

    ``blocks.-1`` names the last block; shell-style wildcards work (``*`` is the whole body).
    The head and any learned pool always train, at ``head_lr``; trainable body parts train at ``body_lr``.

    - ``layer_decay`` < 1 gives each body part its own rate, ``body_lr * layer_decay**depth``, depth
      counted from the top (the last block and the final norm are depth 0).
    - ``unfreeze`` stages (``{epoch, parts, lr}``) add body parts to the optimizer at an epoch, each with
      its own rate: gradual unfreezing, carried out by ``headswap.lit.callbacks.GradualUnfreezing``.
    - ``adapters`` (``{r, alpha, dropout, targets}``) adds LoRA adapters to the named projections of a
      frozen body; only the adapters and the head train.
    - ``pairs`` (``headswap.model.pairs.PairSettings``' fields) first tunes the whole body on contrastive
      pairs of the training part (SetFit's step), then the regime's own parts train as they say.
    """

    name: str
    body_trainable: tuple[str, ...] = ()
    head_lr: float = 1e-3
    body_lr: float = 0.0
    layer_decay: float = 1.0
    unfreeze: tuple[dict[str, Any], ...] = ()
    adapters: dict[str, Any] | None = None
    pairs: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.pairs is not None:
            object.__setattr__(self, "pairs", dict(self.pairs))
            known = [f.name for f in dataclasses.fields(PairSettings)]
            unknown = sorted(set(self.pairs) - set(known))
            if unknown:
                raise ConfigError(
                    f"regime.pairs has no setting {unknown[0]!r}: its settings are {known}",
                    key=f"regime.pairs.{unknown[0]}",
                )
            PairSettings(**self.pairs)  # a bad value fails before any data is read
        object.__setattr__(self, "body_trainable", tuple(self.body_trainable))
        object.__setattr__(self, "unfreeze", tuple(dict(stage) for stage in self.unfreeze))
        if not 0.0 < self.layer_decay <= 1.0:
            raise ConfigError(f"regime.layer_decay={self.layer_decay} must be in (0, 1]")
        for stage in self.unfreeze:
            if set(stage) != {"epoch", "parts", "lr"} or int(stage["epoch"]) < 1 or float(stage["lr"]) <= 0:
                raise ConfigError(
                    f"regime.unfreeze stage {stage} must have epoch >= 1, parts and lr > 0, e.g. "
                    "{epoch: 2, parts: [blocks.-1], lr: 1e-3}"
                )
        if self.head_lr <= 0:
            raise ConfigError(f"regime.head_lr={self.head_lr} must be > 0")
        if self.body_lr < 0 or ((self.body_trainable or self.adapters) and self.body_lr == 0):
            raise ConfigError(
                f"regime.body_lr={self.body_lr} must be > 0 when body parts or adapters train "
                f"({list(self.body_trainable)}); use body_trainable=[] to freeze the body"
            )

    @property
    def pair_settings(self) -> PairSettings | None:
        """``pairs``, checked: the body's step on contrastive pairs before the head trains; None: none."""
        return None if self.pairs is None else PairSettings(**self.pairs)

    def scale_body_rates(self, factor: float) -> Regime:
        """This regime with every body rate (``body_lr``, each ``unfreeze`` stage's) times ``factor``.

        Regimes' rates suit the tiny body; a pretrained body says how much gentler its weights need
        to be moved (``body.lr_scale``), so one regime file serves every body. The head's rate stays.
        """
        if factor <= 0:
            raise ConfigError(f"body.lr_scale={factor} must be > 0")
        stages = tuple({**stage, "lr": float(stage["lr"]) * factor} for stage in self.unfreeze)
        return dataclasses.replace(self, body_lr=self.body_lr * factor, unfreeze=stages)

    def apply_requires_grad(self, parts: Mapping[str, nn.Module]) -> list[str]:
        """Set ``requires_grad`` on every body parameter from this regime; return the trainable part names.

        The one place where a regime freezes or unfreezes weights (``GradualUnfreezing`` adds later stages).
        """
        chosen = resolve_parts(parts, self.body_trainable)
        for name, module in parts.items():
            module.requires_grad_(name in chosen)
            for param_name, param in module.named_parameters():
                if "lora_" in param_name:  # adapters always train; the weights they adapt stay frozen
                    param.requires_grad_(True)
        return chosen

    def optimizer_groups(self, parts: Mapping[str, nn.Module], head: Iterable[nn.Parameter]) -> list[dict]:
        """Optimizer parameter groups holding exactly the parameters that train now, each at its rate.

        Reads ``requires_grad`` and changes nothing: call ``apply_requires_grad`` first.
        """
        if self.layer_decay == 1.0:
            body = [("body", list(parts.values()), self.body_lr)]
        else:  # depth counted from the top: the final norm and the last block 0, then 1, 2, ... downwards
            below_norm = [n for n in parts if n != "norm"]
            depth = {"norm": 0, **{n: i for i, n in enumerate(reversed(below_norm))}}
            body = [(f"body.{n}", [m], self.body_lr * self.layer_decay ** depth[n]) for n, m in parts.items()]
        groups = [{"name": "head", "params": [p for p in head if p.requires_grad], "lr": self.head_lr}]
        for name, modules, lr in body:
            params = [p for m in modules for p in m.parameters() if p.requires_grad]
            groups.append({"name": name, "params": params, "lr": lr})
        return [g for g in groups if g["params"]]


def resolve_parts(parts: Mapping[str, nn.Module], patterns: Sequence[str]) -> list[str]:
    """Part names matched by ``patterns`` in body order; a pattern that matches nothing is an error."""
    names = list(parts)
    chosen: set[str] = set()
    for pattern in patterns:
        matched = fnmatch.filter(names, _resolve_negative_index(pattern, names))
        if not matched:
            raise ConfigError(f"regime entry {pattern!r} matches no body part; choose from {names}")
        chosen.update(matched)
    return [n for n in names if n in chosen]


def _resolve_negative_index(pattern: str, names: list[str]) -> str:
    """``blocks.-1`` -> ``blocks.<last>``: lets a regime name the last block of a body of any depth."""
    prefix, _, index = pattern.rpartition(".")
    if not index.startswith("-") or not index[1:].isdigit():
        return pattern
    indexed = sorted(int(n.rpartition(".")[2]) for n in names if n.startswith(prefix + "."))
    return f"{prefix}.{indexed[int(index)]}" if int(index[1:]) <= len(indexed) else pattern


def trains(module: nn.Module) -> bool:
    """Whether any weight of ``module`` is trainable now."""
    return any(p.requires_grad for p in module.parameters())


def frozen_prefix_blocks(parts: Mapping[str, nn.Module]) -> int:
    """How many blocks, counted from the bottom, are frozen together with the embeddings (0 when the
    embeddings train). While they stay frozen and in eval mode, what they compute for an example is fixed."""
    names = list(parts)
    if not names or trains(parts[names[0]]):
        return 0
    frozen = takewhile(lambda name: name.startswith("blocks.") and not trains(parts[name]), names[1:])
    return len(list(frozen))


def set_train_modes(body: nn.Module, parts: Mapping[str, nn.Module]) -> None:
    """Frozen parts run in eval mode (no dropout); parts with trainable weights train. A fully frozen
    body is in eval mode throughout, so it computes the same features at every step."""
    body.train(trains(body))
    for module in parts.values():
        module.train(trains(module))


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    params = list(module.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
