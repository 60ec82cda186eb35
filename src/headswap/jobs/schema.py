"""Structured configs: the types of the config groups' keys, registered with Hydra's ConfigStore.

A wrong type (``regime.head_lr=abc``) fails while Hydra composes the config, naming the key; values out
of range fail when the objects are built (``check_config``), before any data is read or model trained.
Importing this module registers the schemas; the scripts and the tests do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class RegimeSchema:
    _target_: str = "headswap.model.regime.Regime"
    _convert_: str = "all"
    name: str = "???"
    body_trainable: list[str] = field(default_factory=list)
    head_lr: float = 1e-3
    body_lr: float = 0.0
    layer_decay: float = 1.0
    unfreeze: list[Any] = field(default_factory=list)
    adapters: Optional[dict[str, Any]] = None


@dataclass
class BodyModelSchema:
    _target_: str = "headswap.model.body.build_body"
    vocab_size: int = 260
    max_len: int = 32
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 256
    dropout: float = 0.1
    attn_dropout: float = 0.0
    causal: bool = True


@dataclass
class BodySchema:
    tokenizer: dict[str, Any] = field(default_factory=dict)
    model: BodyModelSchema = field(default_factory=BodyModelSchema)


@dataclass
class PretrainSchema:
    epochs: int = 5
    lr: float = 3e-3
    weight_decay: float = 0.01
    cosine: bool = False
    batch_size: int = 32
    seed: int = 0


def register() -> None:
    cs = ConfigStore.instance()
    cs.store(group="regime", name="schema", node=RegimeSchema)
    cs.store(group="body", name="schema", node=BodySchema)
    cs.store(group="pretrain", name="schema", node=PretrainSchema)


register()
