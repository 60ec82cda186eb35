"""``regime=contrastive``: SetFit's step in the project's loop. Pairs are drawn by (seed, epoch) alone and
hold both kinds; the body is tuned on them, then the head trains on the tuned body, frozen; the time it
took counts as training, and a finished run predicts with the tuned body."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

from headswap.errors import ConfigError
from headswap.io import safe_load
from headswap.jobs import train
from headswap.lit.pair_tuning import PairSampler, pair_loader
from headswap.model import Regime
from headswap.model.pairs import PairSettings, draw_pairs, pair_loss
from headswap.training.build import build_datamodule
from headswap.training.finished_run import load_finished_run

from .conftest import as_hydra_saves_it, assert_refused, compose_cfg

LABELS = [0, 0, 0, 1, 1, 2, 2, 2]
QUICK = ["pretrain.epochs=1", "trainer.max_epochs=3", "trainer.enable_progress_bar=false"]
BUDGET = ["data.train_per_class=6", "data.val_per_class=6", "regime.pairs.per_example=2"]


def test_pairs_follow_seed_and_epoch_alone() -> None:
    assert draw_pairs(LABELS, 3, seed=1, epoch=0) == draw_pairs(LABELS, 3, seed=1, epoch=0)
    assert draw_pairs(LABELS, 3, seed=1, epoch=0) != draw_pairs(LABELS, 3, seed=1, epoch=1)
    assert draw_pairs(LABELS, 3, seed=1, epoch=0) != draw_pairs(LABELS, 3, seed=2, epoch=0)
    sampler = PairSampler(LABELS, 3, seed=1)
    sampler.set_epoch(1)
    assert list(sampler) == draw_pairs(LABELS, 3, seed=1, epoch=1) and len(sampler) == 2 * 3 * len(LABELS)


@pytest.mark.parametrize("per_example", [1, 20])
def test_pairs_hold_both_kinds_in_equal_numbers_with_true_targets(per_example: int) -> None:
    pairs = draw_pairs(LABELS, per_example, seed=0)
    kinds = Counter(target for _, _, target in pairs)
    assert kinds == {1.0: per_example * len(LABELS), 0.0: per_example * len(LABELS)}
    assert all((LABELS[i] == LABELS[j]) == (target == 1.0) for i, j, target in pairs)
    assert [t for _, _, t in pairs[:4]] == [1.0, 0.0, 1.0, 0.0]  # alternating, as SetFit's
    every = {(i, j) for i in range(8) for j in range(i, 8)}  # an example with itself too, as SetFit's
    distinct = {(i, j) for i, j, _ in pairs}
    assert distinct <= every and len(distinct) == min(len(every), len(pairs))  # none again before all


def test_one_class_has_no_pairs_to_contrast() -> None:
    with pytest.raises(ConfigError) as err:
        draw_pairs([1, 1, 1], 2, seed=0)
    assert err.value.key == "regime"


def test_the_loss_is_the_squared_gap_between_cosine_similarity_and_target() -> None:
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # similarity 1 and 0
    assert pair_loss(a, b, torch.tensor([1.0, 0.0])).item() == 0.0
    assert pair_loss(a, b, torch.tensor([0.0, 1.0])).item() == pytest.approx(1.0)


def test_a_batch_holds_both_texts_of_its_pairs(tmp_path: Path) -> None:
    dm = build_datamodule(compose_cfg(tmp_path, ["data.train_per_class=4"]))
    texts = dm.parts["train"]
    loader = pair_loader(texts, dm.collate.pad_id, PairSettings(per_example=1, batch_size=4), seed=0)
    batch = next(iter(loader))
    pairs = draw_pairs(texts.labels.tolist(), 1, seed=0)[:4]
    assert batch["input_ids"].shape[0] == 8 and batch["targets"].tolist() == [t for _, _, t in pairs]
    assert batch["keys"].tolist() == [texts.keys[i].item() for i, _, _ in pairs] + [
        texts.keys[j].item() for _, j, _ in pairs
    ]


@pytest.mark.parametrize(
    ("pairs", "key"),
    [
        ({"per_example": 0}, "regime.pairs.per_example"),
        ({"per_example": 2.5}, "regime.pairs.per_example"),
        ({"epochs": True}, "regime.pairs.epochs"),
        ({"lr": "abc"}, "regime.pairs.lr"),
        ({"lr": float("nan")}, "regime.pairs.lr"),
        ({"warmup": 1.0}, "regime.pairs.warmup"),
        ({"weight_decay": -0.1}, "regime.pairs.weight_decay"),
        ({"iterations": 3}, "regime.pairs.iterations"),
    ],
)
def test_bad_pair_settings_are_named(pairs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        Regime(name="contrastive", pairs=pairs)
    assert_refused(err.value, key)


def test_a_bad_pair_setting_from_the_command_line_is_refused_before_training(tmp_path: Path) -> None:
    with pytest.raises(Exception) as err:
        train.run(compose_cfg(tmp_path, ["regime=contrastive", "regime.pairs.lr=abc", *QUICK]))
    assert_refused(err.value, "regime.pairs.lr")
    assert not (tmp_path / "metrics.json").exists()


def test_a_training_part_with_too_many_pairs_to_list_is_refused_before_tuning() -> None:
    PairSampler([0, 1] * 2235 + [0], per_example=1, seed=0)  # 4,471 examples: 9,997,156 pairs
    with pytest.raises(ConfigError) as err:
        PairSampler([0, 1] * 2236, per_example=1, seed=0)  # 4,472: 10,001,628
    assert_refused(err.value, "data.train_per_class")


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("pool=attention", "pool"),
        ("trainer.devices=2", "trainer.devices"),
        ("+trainer.num_nodes=2", "trainer.num_nodes"),
    ],
)
def test_a_pool_that_learns_and_several_processes_are_refused(tmp_path: Path, setting: str, key: str) -> None:
    with pytest.raises(Exception) as err:
        train.run(compose_cfg(tmp_path, ["regime=contrastive", setting, *QUICK]))
    assert isinstance(assert_refused(err.value, key), ConfigError)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    tmp_path = tmp_path_factory.mktemp("contrastive")
    out = {}
    for regime in ("head", "contrastive"):
        more = BUDGET if regime == "contrastive" else BUDGET[:2]
        cfg = compose_cfg(tmp_path, [f"regime={regime}", *QUICK, *more], output=regime)
        out[regime] = (tmp_path / regime, train.run(as_hydra_saves_it(cfg)))
    return out


def test_the_body_is_tuned_then_frozen_while_the_head_trains(runs) -> None:
    (head_dir, head), (dir_, record) = runs["head"], runs["contrastive"]
    tuning = record["pretrained_body"]["pair_tuning"]
    assert tuning["pairs"] == 2 * 2 * 12 and tuning["steps"] == 3  # 48 pairs in batches of 16
    params, total = record["params"], head["params"]["total"]
    assert params["body_trainable_parts"] == [] and tuning["params"] == total - head["params"]["trainable"]
    assert params["trainable"] == params["total"] == total  # every weight trained: the body, then the head
    cost = record["cost"]
    assert cost["pair_tuning_seconds"] == tuning["seconds"] > 0
    assert cost["train_seconds"] > cost["pair_tuning_seconds"] and cost["fit_seconds"] > tuning["seconds"]
    assert cost["train_state_mb"] == round(4 * (total + 3 * tuning["params"]) / 2**20, 3)
    body = {k: v for k, v in safe_load(dir_ / record["checkpoint"])["state_dict"].items() if ".body." in k}
    untuned = safe_load(head_dir / head["checkpoint"])["state_dict"]  # the same pretrained body, frozen
    assert body.keys() == {k for k in untuned if ".body." in k}
    assert any(not torch.equal(v, untuned[k]) for k, v in body.items())


def test_a_finished_contrastive_run_predicts_with_its_tuned_body(runs) -> None:
    dir_, record = runs["contrastive"]
    run = load_finished_run(dir_)
    saved = safe_load(dir_ / record["checkpoint"])["state_dict"]
    for name, value in run.classifier.body.state_dict().items():
        assert torch.equal(value, saved[f"classifier.body.{name}"])


def test_a_contrastive_run_is_deterministic(runs, tmp_path: Path) -> None:
    again = train.run(compose_cfg(tmp_path, ["regime=contrastive", *QUICK, *BUDGET]))
    assert again["test"] == runs["contrastive"][1]["test"]


def test_a_resumed_contrastive_run_takes_its_tuned_body_from_the_checkpoint(
    runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed = compose_cfg(
        tmp_path, ["regime=contrastive", *QUICK, *BUDGET, "trainer.max_epochs=1"], output="k"
    )
    train.run(killed)
    last = tmp_path / "k" / "checkpoints" / "last.ckpt"

    def tune_again(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a resume tuned the body on pairs again")

    monkeypatch.setattr("headswap.training.bodies.tune_on_pairs", tune_again)
    resumed = train.run(
        compose_cfg(tmp_path, ["regime=contrastive", *QUICK, *BUDGET, f"ckpt_path={last}"], output="r")
    )
    whole = runs["contrastive"][1]
    assert resumed["test"] == whole["test"] and resumed["cost"]["epochs"] == 2
    tuning = resumed["pretrained_body"]["pair_tuning"]
    assert tuning["resumed"] is True and tuning["pairs"] == whole["pretrained_body"]["pair_tuning"]["pairs"]
    assert resumed["cost"]["pair_tuning_seconds"] == 0.0  # the tuning was the killed run's work
