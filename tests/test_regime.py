import pytest
import torch

from headswap.model import BodyConfig, Regime, TransformerBody, count_parameters, set_train_modes


@pytest.fixture
def body() -> TransformerBody:
    return TransformerBody(BodyConfig())


def numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_head_regime_freezes_the_whole_body(body: TransformerBody) -> None:
    assert Regime("head").apply(body.parameter_groups()) == []
    assert count_parameters(body) == (0, numel(body))


def test_partial_regime_trains_last_block_and_final_norm(body: TransformerBody) -> None:
    parts = body.parameter_groups()
    assert Regime("partial", ["blocks.-1", "norm"], body_lr=1e-3).apply(parts) == ["blocks.1", "norm"]
    assert count_parameters(body)[0] == numel(body.blocks[1]) + numel(body.norm)
    assert not any(p.requires_grad for p in body.embed.parameters())


def test_full_regime_trains_everything(body: TransformerBody) -> None:
    assert Regime("full", ["*"], body_lr=1e-3).apply(body.parameter_groups()) == list(body.parameter_groups())
    assert count_parameters(body) == (numel(body), numel(body))


def test_param_groups_hold_exactly_the_trainable_parameters_at_their_rates(body: TransformerBody) -> None:
    head = torch.nn.Linear(64, 2)
    groups = Regime("partial", ["blocks.-1"], head_lr=0.01, body_lr=0.001).param_groups(
        body.parameter_groups(), head.parameters()
    )
    assert [(g["name"], g["lr"]) for g in groups] == [("head", 0.01), ("body", 0.001)]
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in head.parameters()}
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in body.blocks[1].parameters()}
    head_only = Regime("head").param_groups(body.parameter_groups(), head.parameters())
    assert [g["name"] for g in head_only] == ["head"]


def test_unknown_part_is_an_error_listing_the_choices(body: TransformerBody) -> None:
    with pytest.raises(ValueError, match=r"regime entry 'blocks.7' matches no body part; choose from \['embed'"):
        Regime("x", ["blocks.7"], body_lr=1e-3).apply(body.parameter_groups())
    with pytest.raises(ValueError, match="matches no body part"):
        Regime("x", ["blocks.-3"], body_lr=1e-3).apply(body.parameter_groups())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"head_lr": -1.0}, "regime.head_lr=-1.0"), ({"body_trainable": ["*"], "body_lr": 0.0}, "regime.body_lr=0.0")],
)
def test_bad_rates_name_the_key(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Regime("x", **kwargs)


def test_frozen_parts_run_in_eval_mode(body: TransformerBody) -> None:
    parts = body.parameter_groups()
    Regime("partial", ["blocks.-1"], body_lr=1e-3).apply(parts)
    body.train()
    set_train_modes(body, parts)
    assert [m.training for m in parts.values()] == [False, False, True, False]
    assert [m.training for m in body.embed.modules()] == [False] * 4  # dropout included
    Regime("head").apply(parts)
    set_train_modes(body, parts)
    assert not any(m.training for m in body.modules())
