import pytest
import torch

from headswap.model import BodyConfig, Regime, TransformerBody, count_parameters, set_train_modes


@pytest.fixture
def body() -> TransformerBody:
    return TransformerBody(BodyConfig())


def numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_head_regime_freezes_the_whole_body(body: TransformerBody) -> None:
    assert Regime("head").apply_requires_grad(body.parts()) == []
    assert count_parameters(body) == (0, numel(body))


def test_partial_regime_trains_last_block_and_final_norm(body: TransformerBody) -> None:
    parts = body.parts()
    assert Regime("partial", ["blocks.-1", "norm"], body_lr=1e-3).apply_requires_grad(parts) == [
        "blocks.1",
        "norm",
    ]
    assert count_parameters(body)[0] == numel(body.blocks[1]) + numel(body.norm)
    assert not any(p.requires_grad for p in body.embed.parameters())


def test_full_regime_trains_everything(body: TransformerBody) -> None:
    assert Regime("full", ["*"], body_lr=1e-3).apply_requires_grad(body.parts()) == list(body.parts())
    assert count_parameters(body) == (numel(body), numel(body))


def test_optimizer_groups_hold_exactly_the_trainable_parameters_at_their_rates(body: TransformerBody) -> None:
    head = torch.nn.Linear(64, 2)
    partial = Regime("partial", ["blocks.-1"], head_lr=0.01, body_lr=0.001)
    partial.apply_requires_grad(body.parts())
    groups = partial.optimizer_groups(body.parts(), head.parameters())
    assert [(g["name"], g["lr"]) for g in groups] == [("head", 0.01), ("body", 0.001)]
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in head.parameters()}
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in body.blocks[1].parameters()}
    Regime("head").apply_requires_grad(body.parts())
    head_only = Regime("head").optimizer_groups(body.parts(), head.parameters())
    assert [g["name"] for g in head_only] == ["head"]


def test_unknown_part_is_an_error_listing_the_choices(body: TransformerBody) -> None:
    with pytest.raises(
        ValueError, match=r"regime entry 'blocks.7' matches no body part; choose from \['embed'"
    ):
        Regime("x", ["blocks.7"], body_lr=1e-3).apply_requires_grad(body.parts())
    with pytest.raises(ValueError, match="matches no body part"):
        Regime("x", ["blocks.-3"], body_lr=1e-3).apply_requires_grad(body.parts())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"head_lr": -1.0}, "regime.head_lr=-1.0"),
        ({"body_trainable": ["*"], "body_lr": 0.0}, "regime.body_lr=0.0"),
    ],
)
def test_bad_rates_name_the_key(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Regime("x", **kwargs)


def test_optimizer_groups_change_no_flag(body: TransformerBody) -> None:
    """Setting ``requires_grad`` is ``apply_requires_grad``'s job alone: building groups reads the flags."""
    Regime("full", ["*"], body_lr=1e-3).apply_requires_grad(body.parts())
    groups = Regime("head").optimizer_groups(body.parts(), torch.nn.Linear(64, 2).parameters())
    assert all(p.requires_grad for p in body.parameters())
    assert [g["name"] for g in groups] == ["head", "body"]


def test_frozen_parts_run_in_eval_mode(body: TransformerBody) -> None:
    parts = body.parts()
    Regime("partial", ["blocks.-1"], body_lr=1e-3).apply_requires_grad(parts)
    body.train()
    set_train_modes(body, parts)
    assert [m.training for m in parts.values()] == [False, False, True, False]
    assert [m.training for m in body.embed.modules()] == [False] * 4  # dropout included
    Regime("head").apply_requires_grad(parts)
    set_train_modes(body, parts)
    assert not any(m.training for m in body.modules())


def test_a_bodys_lr_scale_scales_every_body_rate_and_leaves_the_head_alone() -> None:
    stages = [{"epoch": 2, "parts": ["blocks.-1"], "lr": 1e-3}, {"epoch": 4, "parts": ["*"], "lr": 2e-4}]
    regime = Regime("gradual", body_trainable=["norm"], head_lr=1e-2, body_lr=1e-3, unfreeze=stages)
    scaled = regime.scale_body_rates(0.03)
    assert (scaled.head_lr, scaled.body_lr) == (1e-2, pytest.approx(3e-5))
    assert [s["lr"] for s in scaled.unfreeze] == [pytest.approx(3e-5), pytest.approx(6e-6)]
    assert [s["parts"] for s in scaled.unfreeze] == [["blocks.-1"], ["*"]] and regime.body_lr == 1e-3
    with pytest.raises(ValueError, match=r"body.lr_scale=0 must be > 0"):
        regime.scale_body_rates(0)
