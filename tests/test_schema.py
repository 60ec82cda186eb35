"""Each setting is defined once: the config schemas are generated from the dataclasses that use them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hydra.errors import InstantiationException, MissingConfigException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from headswap.app.launch import root_cause
from headswap.app.schema import Source, schema_of
from headswap.data import TableSource
from headswap.data.config import DataConfig, OwnParts
from headswap.lit import PretrainConfig
from headswap.model import BodyConfig, ByteTokenizer, Regime
from headswap.training.bodies import pretrain_key
from headswap.training.build import build_datamodule

from .conftest import compose_cfg


@pytest.mark.parametrize(
    ("classes", "node", "overrides"),
    [
        ((Regime,), "regime", []),
        ((BodyConfig,), "body.model", []),
        ((PretrainConfig,), "pretrain", []),
        ((DataConfig, Source), "data", []),
        ((DataConfig, Source), "data", ["data=sms_spam_collection"]),
        ((DataConfig, TableSource, OwnParts), "data", ["data=csv", "data.path=x.csv"]),
    ],
)
def test_config_keys_are_the_dataclass_fields(
    tmp_path: Path, classes: tuple[type, ...], node: str, overrides: list[str]
) -> None:
    cfg = compose_cfg(tmp_path, overrides)
    keys = set(OmegaConf.select(cfg, node)) - {"_target_", "_convert_"}
    assert keys == {f.name for cls in classes for f in dataclasses.fields(cls)}


def test_a_field_added_to_the_dataclass_reaches_the_schema() -> None:
    @dataclasses.dataclass(frozen=True)
    class Extended(BodyConfig):
        rotary: bool = False

    fields = {f.name: f.default for f in dataclasses.fields(schema_of(Extended, "x.y"))}
    assert fields["rotary"] is False and fields["_target_"] == "x.y" and fields["d_model"] == 64


def test_defaults_come_from_the_dataclass(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, ["data.max_len=32"])
    assert instantiate(cfg.body.model).cfg == BodyConfig()  # tiny.yaml sets only max_len, from the data
    assert instantiate(cfg.pretrain) == PretrainConfig()
    assert instantiate(cfg.regime) == Regime("head", head_lr=1e-2)
    data = instantiate(cfg.data, tokenizer=ByteTokenizer())
    assert data.config == DataConfig()  # fixture.yaml sets only its source


def test_schema_nodes_are_not_a_users_choice(tmp_path: Path) -> None:
    with pytest.raises(MissingConfigException) as err:
        compose_cfg(tmp_path, ["regime=schema"])
    assert "schema" not in err.value.options


@pytest.mark.parametrize("override", ["pretrain.epochs=0", "pretrain.lr=0", "pretrain.batch_size=0"])
def test_pretrain_values_out_of_range_name_the_key(tmp_path: Path, override: str) -> None:
    key = override.split("=")[0]
    with pytest.raises(InstantiationException) as err:
        instantiate(compose_cfg(tmp_path, [override]).pretrain)
    assert re.match(rf"{key}=0(\.0)? must be", str(root_cause(err.value)))


def test_a_field_with_a_default_factory_keeps_its_default() -> None:
    @dataclasses.dataclass
    class WithList:
        parts: list[str] = dataclasses.field(default_factory=lambda: ["norm"])

    (field,) = [f for f in dataclasses.fields(schema_of(WithList, "x.y")) if f.name == "parts"]
    assert field.default_factory() == ["norm"]


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ([], "72fec70c3eec06f2"),
        (["data=fixture_hard"], "f999a9a8027edeb4"),
        (["experiment=sms_full"], "a2a36bda08998268"),
    ],
)
def test_the_data_schema_keeps_cached_bodies_valid(tmp_path: Path, overrides: list[str], key: str) -> None:
    """The keys of bodies cached before ``data`` had a schema: the same settings give the same body."""
    cfg = compose_cfg(tmp_path, overrides)
    assert pretrain_key(cfg, build_datamodule(cfg)) == key
