"""Schedules, gradual unfreezing and layer-wise decay: each one config choice, checked as it trains."""

from __future__ import annotations

import math
from functools import partial

import lightning as L
import pytest
import torch

from headswap.data import FixtureHard
from headswap.lit import HeadSwapClassifier, TextDataModule
from headswap.lit.callbacks import GradualUnfreezing
from headswap.lit.quiet import quiet_trainer
from headswap.model import BodyConfig, ByteTokenizer, MeanPool, Regime, TransformerBody
from headswap.model.schedules import constant, cosine, cosine_factor, cosine_head


@pytest.fixture(scope="module")
def datamodule() -> TextDataModule:
    dm = TextDataModule(FixtureHard(n_per_class=40), ByteTokenizer(), batch_size=16, shuffle_seed=0)
    dm.setup()
    return dm  # 52 training texts: 4 steps per epoch


class Recorder(L.Callback):
    """What trains and at which rates, seen at every step."""

    def __init__(self) -> None:
        self.trainable: dict[int, set[str]] = {}
        self.in_optimizer: dict[int, set[int]] = {}
        self.rates: list[dict[str, float]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        epoch = trainer.current_epoch
        self.trainable[epoch] = {n for n, p in pl_module.named_parameters() if p.requires_grad}
        self.in_optimizer[epoch] = {id(p) for g in trainer.optimizers[0].param_groups for p in g["params"]}
        self.rates.append({g["name"]: g["lr"] for g in trainer.optimizers[0].param_groups})


def fit(model: HeadSwapClassifier, dm: TextDataModule, epochs: int, callbacks: list) -> Recorder:
    recorder = Recorder()
    quiet_trainer(max_epochs=epochs, callbacks=[*callbacks, recorder]).fit(model, datamodule=dm)
    return recorder


def model_with(regime: Regime, **kwargs) -> HeadSwapClassifier:
    torch.manual_seed(0)
    return HeadSwapClassifier(TransformerBody(BodyConfig()), MeanPool(64), regime, **kwargs)


def test_gradual_unfreezing_trains_exactly_each_stages_parts(datamodule: TextDataModule) -> None:
    regime = Regime(
        "gradual",
        head_lr=1e-2,
        unfreeze=[
            {"epoch": 1, "parts": ["blocks.-1", "norm"], "lr": 1e-3},
            {"epoch": 3, "parts": ["embed", "blocks.0"], "lr": 3e-4},
        ],
    )
    model = model_with(regime)
    seen = fit(model, datamodule, epochs=4, callbacks=[GradualUnfreezing()])
    head = {"classifier.head.1.weight", "classifier.head.1.bias"}
    last = {
        n
        for n, _ in model.named_parameters()
        if n.startswith(("classifier.body.blocks.1.", "classifier.body.norm."))
    }
    everything = {n for n, _ in model.named_parameters()}
    assert [seen.trainable[e] for e in range(4)] == [head, head | last, head | last, everything]
    ids = {n: id(p) for n, p in model.named_parameters()}
    for epoch in range(4):  # the optimizer holds exactly what trains
        assert seen.in_optimizer[epoch] == {ids[n] for n in seen.trainable[epoch]}
    assert seen.rates[0] == {"head": 1e-2}
    assert seen.rates[-1] == {"head": 1e-2, "body.stage0": 1e-3, "body.stage1": 3e-4}


def test_cosine_head_follows_the_formula_and_leaves_the_body_constant(datamodule: TextDataModule) -> None:
    regime = Regime("full", ["*"], head_lr=1e-2, body_lr=1e-3)
    model = model_with(regime, schedule=partial(cosine_head, warmup_fraction=0.25, min_factor=0.1))
    seen = fit(model, datamodule, epochs=3, callbacks=[])
    total, warmup = 12, 3  # 4 steps x 3 epochs, 25% warm-up
    for step, rates in enumerate(seen.rates):
        assert rates["head"] == pytest.approx(1e-2 * cosine_factor(step, total, warmup, 0.1))
        assert rates["body"] == pytest.approx(1e-3)
    assert seen.rates[0]["head"] == pytest.approx(1e-2 / 3)  # warm-up starts at 1/3
    assert seen.rates[warmup]["head"] == pytest.approx(1e-2)  # peak after warm-up


def test_cosine_decays_every_group_from_its_own_rate(datamodule: TextDataModule) -> None:
    regime = Regime("full", ["*"], head_lr=1e-2, body_lr=1e-3)
    model = model_with(regime, schedule=partial(cosine, warmup_fraction=0.25, min_factor=0.1))
    seen = fit(model, datamodule, epochs=3, callbacks=[])
    total, warmup = 12, 3
    for step, rates in enumerate(seen.rates):
        factor = cosine_factor(step, total, warmup, 0.1)
        assert rates == pytest.approx({"head": 1e-2 * factor, "body": 1e-3 * factor})
    assert seen.rates[-1]["body"] < seen.rates[warmup]["body"] / 5  # near min_factor by the last step


def test_a_group_unfrozen_under_cosine_starts_at_its_scheduled_rate(datamodule: TextDataModule) -> None:
    regime = Regime(
        "gradual", head_lr=1e-2, unfreeze=[{"epoch": 1, "parts": ["blocks.-1", "norm"], "lr": 1e-3}]
    )
    model = model_with(regime, schedule=partial(cosine, min_factor=0.1))
    seen = fit(model, datamodule, epochs=3, callbacks=[GradualUnfreezing()])
    for step, rates in enumerate(seen.rates):  # recorded before each step: what that step uses
        factor = cosine_factor(step, 12, 0, 0.1)
        expected = {"head": 1e-2 * factor, **({"body.stage0": 1e-3 * factor} if step >= 4 else {})}
        assert rates == pytest.approx(expected), step


def test_cosine_factor_by_hand() -> None:
    assert cosine_factor(0, 10) == 1.0
    assert cosine_factor(5, 10) == pytest.approx(0.5)
    assert cosine_factor(10, 10, min_factor=0.2) == pytest.approx(0.2)
    assert cosine_factor(1, 10, warmup_steps=4) == pytest.approx(0.5)
    assert cosine_factor(7, 10, warmup_steps=4) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))


def test_constant_schedule_keeps_rates(datamodule: TextDataModule) -> None:
    model = model_with(Regime("partial", ["blocks.-1"], head_lr=1e-2, body_lr=1e-3), schedule=constant)
    seen = fit(model, datamodule, epochs=2, callbacks=[])
    assert all(r == {"head": 1e-2, "body": 1e-3} for r in seen.rates)


def test_layer_decay_gives_each_part_its_rate() -> None:
    body = TransformerBody(BodyConfig())
    regime = Regime("full_llrd", ["*"], head_lr=1e-2, body_lr=1e-3, layer_decay=0.5)
    regime.apply_requires_grad(body.parts())
    groups = regime.optimizer_groups(body.parts(), torch.nn.Linear(64, 2).parameters())
    rates = {g["name"]: g["lr"] for g in groups}
    assert rates == pytest.approx(
        {"head": 1e-2, "body.norm": 1e-3, "body.blocks.1": 1e-3, "body.blocks.0": 5e-4, "body.embed": 2.5e-4}
    )


@pytest.mark.parametrize(
    "stage", [{"epoch": 0, "parts": ["norm"], "lr": 1e-3}, {"epoch": 2, "parts": ["norm"]}]
)
def test_bad_unfreeze_stage_names_the_key(stage: dict) -> None:
    with pytest.raises(ValueError, match="regime.unfreeze stage"):
        Regime("gradual", unfreeze=[stage])


def test_lora_trains_only_adapters_and_head_and_keeps_base_weights(datamodule: TextDataModule) -> None:
    targets = ["q_proj", "k_proj", "v_proj", "out_proj", "fc_in", "fc_out"]
    regime = Regime("lora", head_lr=1e-2, body_lr=3e-3, adapters={"r": 4, "alpha": 8, "targets": targets})
    model = model_with(regime)
    base = {k: v.clone() for k, v in model.body.state_dict().items() if "lora_" not in k}
    trainable, _ = model.parameter_counts()
    per_block = 4 * 4 * (64 + 64) + 4 * (64 + 256) + 4 * (256 + 64)  # r * (in + out) for each target
    assert trainable == 2 * per_block + (64 * 2 + 2)
    seen = fit(model, datamodule, epochs=2, callbacks=[])
    assert all("lora_" in n or n.startswith("classifier.head.") for n in seen.trainable[1])
    after = model.body.state_dict()
    assert all(torch.equal(base[k], after[k]) for k in base)
    assert any(not torch.equal(v, torch.zeros_like(v)) for k, v in after.items() if "lora_B" in k)


@pytest.mark.parametrize("pool", ["mean", "weightedmean", "cls", "lasttoken", "max", "attention"])
@pytest.mark.parametrize(
    "schedule", [constant, partial(cosine_head, warmup_fraction=0.2), partial(cosine, warmup_fraction=0.2)]
)
def test_head_regime_keeps_the_body_bit_identical_for_every_pool_and_schedule(
    datamodule: TextDataModule, pool: str, schedule
) -> None:
    from headswap.model import pooling

    pool_cls = next(
        c for c in vars(pooling).values() if getattr(c, "name", None) == pool and c is not pooling.Pool
    )
    torch.manual_seed(0)
    model = HeadSwapClassifier(
        TransformerBody(BodyConfig()), pool_cls(64), Regime("head", head_lr=1e-2), schedule=schedule
    )
    before = {k: v.clone() for k, v in model.body.state_dict().items()}
    seen = fit(model, datamodule, epochs=2, callbacks=[])
    assert all(torch.equal(before[k], v) for k, v in model.body.state_dict().items())
    assert all(not n.startswith("classifier.body.") for n in seen.trainable[1])


def test_resumed_gradual_run_makes_passed_stages_trainable_again() -> None:
    regime = Regime("gradual", head_lr=1e-2, unfreeze=[{"epoch": 1, "parts": ["blocks.-1"], "lr": 1e-3}])
    model = model_with(regime)
    optimizer = model.build_optimizer()
    optimizer.add_param_group({"params": list(model.body.blocks[1].parameters()), "lr": 1e-3})  # as restored
    GradualUnfreezing().finetune_function(model, 3, optimizer)
    assert all(p.requires_grad for p in model.body.blocks[1].parameters())
    assert not any(p.requires_grad for p in model.body.blocks[0].parameters())
    assert [g.get("name") for g in optimizer.param_groups] == ["head", None]  # nothing renamed


def test_schedule_state_is_plain_data_for_checkpoints(tmp_path) -> None:
    model = model_with(Regime("full", ["*"], head_lr=1e-2, body_lr=1e-3))
    scheduler = cosine_head(model.build_optimizer(), total_steps=10, warmup_fraction=0.2)
    scheduler.step()
    torch.save(scheduler.state_dict(), tmp_path / "s.pt")
    restored = cosine_head(model.build_optimizer(), total_steps=10, warmup_fraction=0.2)
    restored.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert restored.last_epoch == 1 and restored.get_last_lr() == pytest.approx(scheduler.get_last_lr())
