"""Structured configs generated from the dataclasses that define each setting, registered with Hydra.

Each setting is defined once, in the plain code: ``Regime`` (``headswap.model.regime``), ``BodyConfig``
(``headswap.model.body``), ``PretrainConfig`` (``headswap.lit.pretraining``) and ``DataConfig``
(``headswap.data.config``; ``data=csv`` adds ``TableSource``'s file settings). This module turns each
dataclass into a schema with the same fields, types and defaults plus the ``_target_`` that builds it,
and stores it under ``schema/<group>``, out of the user's choices. A YAML file in ``conf/`` starts
from its schema (``defaults: [/schema/regime@_here_, _self_]``) and holds only what differs.

A wrong type (``regime.head_lr=abc``) then fails while Hydra composes the config, naming the key;
values out of range fail when the dataclass is built (``__post_init__``), before any data is read.
``register()`` stores the schemas and registers every resolver the configs use: each Hydra script calls it
before ``@hydra.main`` composes its config, and the tests before they compose one.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from headswap.app.resolvers import register_resolvers
from headswap.data import TableSource
from headswap.data.config import DataConfig, OwnParts
from headswap.lit.pretraining import PretrainConfig
from headswap.model.body import BodyConfig
from headswap.model.regime import Regime


def schema_of(cls: type, target: str, convert: str | None = None, also: tuple[type, ...] = ()) -> type:
    """A dataclass with ``cls``'s fields (types and defaults), then those of the classes in ``also``,
    plus ``_target_`` (and ``_convert_``)."""
    fields: list[tuple[str, Any, Any]] = [("_target_", str, field(default=target))]
    if convert is not None:
        fields.append(("_convert_", str, field(default=convert)))
    for each in (cls, *also):
        hints = typing.get_type_hints(each)
        for f in dataclasses.fields(each):
            if f.default_factory is not dataclasses.MISSING:
                default = field(default_factory=f.default_factory)
            else:
                default = field(default=MISSING if f.default is dataclasses.MISSING else f.default)
            fields.append((f.name, _omegaconf_type(hints[f.name]), default))
    return dataclasses.make_dataclass(f"{cls.__name__}Schema", fields)


def _omegaconf_type(hint: Any) -> Any:
    """OmegaConf reads ``Optional[X]`` but not the ``X | None`` spelling, nor a union of two types
    (``str | int``: a column's name or index), which it then takes as it comes."""
    if isinstance(hint, types.UnionType):
        if len([a for a in hint.__args__ if a is not type(None)]) > 1:
            return Any
        return Optional[typing.Union[tuple(a for a in hint.__args__ if a is not type(None))]]  # noqa: UP045, UP007
    return hint


@dataclass
class Source:
    """The corpus a data config reads: a ``TextSource``'s ``_target_`` and its own settings."""

    source: Any = MISSING


@dataclass
class BodySchema:
    """``body=tiny``: the tokenizer that comes with the body, and the body itself (``body=hf`` has its
    own keys, in ``conf/body/hf.yaml``)."""

    name: str = "tiny"  # what reports and comparisons call the body
    lm_pretraining: bool = True  # pre-train it on the training texts first (cached); a pretrained body: false
    lr_scale: float = 1.0  # factor on the regime's body rates
    bf16: bool = False  # bf16 mixed precision where the chip has it; the tiny body runs faster in fp32
    tokenizer: dict[str, Any] = field(default_factory=dict)
    model: Any = field(default_factory=schema_of(BodyConfig, "headswap.model.body.build_body"))


def register() -> None:
    """The schemas under ``schema/<group>`` and every resolver."""
    register_resolvers()
    cs = ConfigStore.instance()
    cs.store(group="schema", name="regime", node=schema_of(Regime, "headswap.model.regime.Regime", "all"))
    cs.store(group="schema", name="body", node=BodySchema)
    cs.store(
        group="schema",
        name="data",
        node=schema_of(DataConfig, "headswap.lit.datamodule.TextDataModule", also=(Source,)),
    )
    cs.store(
        group="schema",
        name="data_table",
        node=schema_of(DataConfig, "headswap.lit.datamodule.table_datamodule", also=(TableSource, OwnParts)),
    )
    cs.store(
        group="schema",
        name="pretrain",
        node=schema_of(PretrainConfig, "headswap.lit.pretraining.PretrainConfig"),
    )
