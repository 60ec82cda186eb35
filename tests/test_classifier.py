"""The classifier under each regime, trained for real on a small fixture."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from headswap.data import FixtureHard
from headswap.lit import HeadSwapClassifier, PadCollate, TextDataModule
from headswap.lit.quiet import quiet_trainer
from headswap.model import BodyConfig, ByteTokenizer, Classifier, MeanPool, Regime, TransformerBody

REGIMES = {
    "head": Regime("head", head_lr=1e-2),
    "partial": Regime("partial", ["blocks.-1", "norm"], head_lr=1e-2, body_lr=1e-3),
    "full": Regime("full", ["*"], head_lr=1e-2, body_lr=1e-3),
}


@pytest.fixture(scope="module")
def datamodule() -> TextDataModule:
    dm = TextDataModule(FixtureHard(n_per_class=40), ByteTokenizer(), batch_size=16)
    dm.setup()
    return dm


def make_model(regime: str) -> HeadSwapClassifier:
    torch.manual_seed(0)
    body = TransformerBody(BodyConfig(dropout=0.1))
    return HeadSwapClassifier(body, MeanPool(64), REGIMES[regime])


def fit(model: HeadSwapClassifier, dm: TextDataModule, epochs: int = 2) -> L.Trainer:
    trainer = quiet_trainer(max_epochs=epochs)
    trainer.fit(model, datamodule=dm)
    return trainer


def body_state(model: HeadSwapClassifier) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.body.state_dict().items()}


def test_head_only_leaves_the_body_bit_identical(datamodule: TextDataModule) -> None:
    model = make_model("head")
    before = body_state(model)
    head_before = model.classifier.head[1].weight.clone()
    fit(model, datamodule)
    after = model.body.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not torch.equal(head_before, model.classifier.head[1].weight)


@pytest.mark.parametrize("regime", ["partial", "full"])
def test_trained_regimes_change_exactly_their_parts(datamodule: TextDataModule, regime: str) -> None:
    model = make_model(regime)
    before = body_state(model)
    fit(model, datamodule)
    changed = {
        k.split(".")[0] + ("." + k.split(".")[1] if k.startswith("blocks") else "")
        for k, v in model.body.state_dict().items()
        if not torch.equal(before[k], v)
    }
    expected = {"blocks.1", "norm"} if regime == "partial" else {"embed", "blocks.0", "blocks.1", "norm"}
    assert changed == expected


@pytest.mark.parametrize("regime", REGIMES)
def test_optimizer_holds_exactly_the_regimes_parameters(datamodule: TextDataModule, regime: str) -> None:
    model = make_model(regime)
    trainer = fit(model, datamodule, epochs=1)
    in_optimizer = {id(p) for g in trainer.optimizers[0].param_groups for p in g["params"]}
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert in_optimizer == trainable
    lrs = {g["name"]: g["lr"] for g in trainer.optimizers[0].param_groups}
    assert lrs == ({"head": 1e-2} if regime == "head" else {"head": 1e-2, "body": 1e-3})


def test_trainable_parameter_counts_per_regime() -> None:
    body_total = sum(p.numel() for p in TransformerBody(BodyConfig()).parameters())
    head = 64 * 2 + 2
    block = sum(p.numel() for p in TransformerBody(BodyConfig()).blocks[1].parameters())
    counts = {name: make_model(name).parameter_counts() for name in REGIMES}
    assert counts["head"] == (head, body_total + head)
    assert counts["partial"] == (head + block + 2 * 64, body_total + head)
    assert counts["full"] == (body_total + head, body_total + head)


def test_frozen_body_runs_in_eval_mode_without_a_graph(datamodule: TextDataModule) -> None:
    seen: list[tuple[bool, bool]] = []
    model = make_model("head")
    model.body.register_forward_hook(
        lambda m, args, out: seen.append((any(s.training for s in m.modules()), out.requires_grad))
    )
    fit(model, datamodule, epochs=1)
    assert seen and set(seen) == {(False, False)}


def test_full_body_runs_in_train_mode_with_a_graph(datamodule: TextDataModule) -> None:
    seen: list[tuple[bool, bool]] = []
    model = make_model("full")
    model.body.register_forward_hook(lambda m, args, out: seen.append((m.training, out.requires_grad)))
    fit(model, datamodule, epochs=1)
    assert (True, True) in seen  # training steps
    assert (False, False) in seen  # validation steps


@pytest.mark.parametrize(("favoured", "recall"), [(1, 1.0), (0, 0.0)])
def test_metrics_score_class_one_as_the_positive_class(
    datamodule: TextDataModule, favoured: int, recall: float
) -> None:
    """A head that always says class ``favoured``: the validation metrics must read class 1 (spam) as
    positive, so always-spam finds every spam message and always-ham none."""
    model = make_model("head")
    linear = model.classifier.head[1]
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor([5.0, -5.0]) if favoured == 0 else torch.tensor([-5.0, 5.0]))
    trainer = quiet_trainer()
    (scores,) = trainer.validate(model, datamodule=datamodule, verbose=False)
    assert scores["val/recall"] == recall
    spam_share = datamodule.parts["val"].labels.float().mean().item()  # 0.5 on the balanced fixture
    assert scores["val/accuracy"] == pytest.approx(spam_share if favoured == 1 else 1 - spam_share)


def test_cached_features_give_the_same_head_as_the_slow_path(datamodule: TextDataModule) -> None:
    heads = {}
    for cache in (True, False):
        torch.manual_seed(0)
        model = HeadSwapClassifier(
            TransformerBody(BodyConfig(dropout=0.1)), MeanPool(64), REGIMES["head"], cache_features=cache
        )
        fit(model, datamodule, epochs=2)  # the second epoch reads every training example from the cache
        heads[cache] = model.classifier.head[1].weight.detach().clone()
        assert (len(model.classifier.cache) > 0) if cache else model.classifier.cache is None
    torch.testing.assert_close(heads[True], heads[False], rtol=1e-5, atol=1e-6)


def test_loading_body_weights_by_hand_empties_the_cache(datamodule: TextDataModule) -> None:
    model = make_model("head")
    fit(model, datamodule, epochs=1)
    assert len(model.classifier.cache) > 0
    model.body.load_state_dict(TransformerBody(BodyConfig()).state_dict())
    assert len(model.classifier.cache) == 0


def test_cache_is_used_only_while_the_body_is_frozen(datamodule: TextDataModule) -> None:
    model = make_model("full")
    fit(model, datamodule, epochs=1)
    assert len(model.classifier.cache) == 0


def test_plain_classifier_runs_without_lightning_and_matches_the_trained_module(
    datamodule: TextDataModule,
) -> None:
    """``Classifier`` is what a notebook or an exporter uses: the Lightning module adds training only."""
    model = make_model("partial")
    fit(model, datamodule, epochs=1)
    plain = model.classifier.eval()
    assert isinstance(plain, Classifier) and not isinstance(plain, L.LightningModule)
    batch = next(iter(datamodule.test_dataloader()))
    with torch.no_grad():
        logits = plain(batch["input_ids"], batch["attention_mask"])
        assert logits.shape == (len(batch["labels"]), 2)
        model.eval()
        assert torch.equal(logits, model(batch["input_ids"], batch["attention_mask"]))
        # the cached path that training and evaluation take (keys given) gives the same logits
        assert plain.frozen_part() == 1  # embeddings and the first block: frozen under partial
        cached = plain(batch["input_ids"], batch["attention_mask"], batch["keys"])
        assert torch.allclose(cached, logits, atol=1e-6)


def test_plain_classifier_builds_from_parts_in_a_notebook() -> None:
    """Built by hand, a batch of texts padded to one length gives each text the probabilities it gets
    alone, and different texts get different ones."""
    torch.manual_seed(0)
    tokenizer = ByteTokenizer()
    net = Classifier(TransformerBody(BodyConfig()), MeanPool(64)).eval()
    texts = ["WINNER!! claim your prize", "see you at dinner, love you"]
    alone = []
    for text in texts:
        ids = torch.tensor([tokenizer.encode(text, 32)])  # 1 x T
        alone.append(net(ids, torch.ones_like(ids)).softmax(-1)[0])
    encoded = [torch.tensor(tokenizer.encode(t, 32)) for t in texts]
    batch = PadCollate(tokenizer.pad_id)(
        [(ids, torch.tensor(0), torch.tensor(i)) for i, ids in enumerate(encoded)]
    )
    together = net(batch["input_ids"], batch["attention_mask"]).softmax(-1)  # 2 x 2
    torch.testing.assert_close(together, torch.stack(alone), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(together[0], together[1])


def test_what_is_frozen_follows_flags_and_modes_changed_after_the_module_was_built() -> None:
    model = make_model("head").eval()
    assert model.classifier.frozen_part() == "pooled"  # body and pool learn nothing: pooled vectors
    model.body.blocks[1].requires_grad_(True)  # by hand, as a notebook might
    assert model.classifier.frozen_part() == 1  # only what enters the last block is fixed now
    model.classifier.train()  # frozen blocks in train mode draw dropout: nothing is fixed
    assert model.classifier.frozen_part() is None
    model.classifier.set_train_modes()  # frozen parts back in eval mode, as every epoch starts
    assert model.classifier.frozen_part() == 1
