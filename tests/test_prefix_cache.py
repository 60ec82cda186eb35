"""The frozen-prefix cache: the lowest frozen blocks run once per example, and logits do not change."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from torch import nn

from headswap.lit import HeadSwapClassifier
from headswap.model import MeanPool, Regime
from headswap.model.body import BodyConfig, TransformerBody
from headswap.model.regime import frozen_prefix_blocks
from tests.hf_models import write_tiny_bert


def batch(vocab: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (6, 12), generator=generator)  # B x T
    lengths = torch.tensor([12, 9, 7, 12, 3, 5])
    mask = (torch.arange(12) < lengths[:, None]).long()  # B x T
    return ids * mask, mask, torch.arange(100, 106)


def classifier(body: nn.Module, trainable: tuple[str, ...], **kwargs: object) -> HeadSwapClassifier:
    torch.manual_seed(0)
    regime = Regime("partial", body_trainable=trainable, body_lr=1e-3)
    return HeadSwapClassifier(body, MeanPool(body.d_model), regime, **kwargs)


def tiny_body(layers: int = 3) -> TransformerBody:
    torch.manual_seed(0)
    return TransformerBody(BodyConfig(max_len=16, n_layers=layers, dropout=0.0))


def uncached(model: HeadSwapClassifier, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return model(ids, mask)  # no keys: nothing is cached


def test_frozen_prefix_counts_the_frozen_blocks_above_frozen_embeddings() -> None:
    parts = tiny_body().parts()
    assert frozen_prefix_blocks(parts) == 0  # everything trains
    for name in ("embed", "blocks.0", "blocks.1"):
        parts[name].requires_grad_(False)
    assert frozen_prefix_blocks(parts) == 2
    parts["embed"].requires_grad_(True)
    assert frozen_prefix_blocks(parts) == 0  # the embeddings train: nothing below the blocks is fixed


def test_prefix_cached_logits_match_uncached_ones_in_training_and_evaluation() -> None:
    model = classifier(tiny_body(), ("blocks.-1", "norm"))
    ids, mask, keys = batch(256)
    model.on_train_epoch_start()  # as Lightning starts an epoch: modes set, the frozen prefix read
    assert model.classifier.frozen_part() == 2
    first = model(ids, mask, keys)  # computes and stores the prefix's hidden states
    assert len(model.classifier.cache) == 6 and model.classifier.cache.kind == 2
    torch.testing.assert_close(model(ids, mask, keys), first)  # from the cache
    torch.testing.assert_close(first, uncached(model, ids, mask))
    first.sum().backward()  # gradients reach the trainable block through the cached input
    assert model.body.blocks[2].ff.fc_in.weight.grad is not None
    assert model.body.blocks[0].ff.fc_in.weight.grad is None
    model.eval()  # evaluation: every part in eval mode, the prefix still frozen
    assert model.classifier.frozen_part() == 2
    torch.testing.assert_close(
        model(ids[:3, :9], mask[:3, :9], keys[:3]), uncached(model, ids[:3, :9], mask[:3, :9])
    )


def test_the_cache_is_rebuilt_when_a_stage_unfreezes_more_blocks() -> None:
    model = classifier(tiny_body(), ("blocks.-1", "norm"))
    ids, mask, keys = batch(256)
    model.on_train_epoch_start()
    model(ids, mask, keys)
    model.body.blocks[1].requires_grad_(True)  # gradual unfreezing's next stage
    model.on_train_epoch_start()
    assert model.classifier.frozen_part() == 1
    logits = model(ids, mask, keys)
    assert model.classifier.cache.kind == 1 and len(model.classifier.cache) == 6
    stored = model.classifier.cache._store[100]
    torch.testing.assert_close(stored, model.body.hidden_before(ids[:1], mask[:1], 1)[0])
    torch.testing.assert_close(logits, uncached(model, ids, mask))


def test_over_its_budget_the_cache_empties_and_the_prefix_runs_every_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = classifier(tiny_body(), ("blocks.-1", "norm"), prefix_cache_mb=0.001)  # 1 kB: too small
    ids, mask, keys = batch(256)
    model.on_train_epoch_start()
    with caplog.at_level(logging.WARNING):
        logits = [model(ids, mask, keys) for _ in range(3)]
    assert model.classifier.cache.over_budget and len(model.classifier.cache) == 0
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1  # said once
    assert "model.prefix_cache_mb" in caplog.records[0].message
    for each in logits:
        torch.testing.assert_close(each, uncached(model, ids, mask))


def test_rows_computed_under_bf16_autocast_are_stored_in_bf16() -> None:
    model = classifier(tiny_body(), ("blocks.-1", "norm"))
    ids, mask, keys = batch(256)
    model.on_train_epoch_start()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(ids, mask, keys)
        cached = model(ids, mask, keys)
    assert model.classifier.cache._store[100].dtype == torch.bfloat16
    assert model.classifier.cache.megabytes < 6 * 12 * 64 * 4 / 2**20  # half the fp32 bytes
    assert cached.isfinite().all()


def test_prefix_cached_logits_match_uncached_ones_for_a_hugging_face_body(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from headswap.model.hf_body import load_hf_body

    body = load_hf_body(write_tiny_bert(tmp_path / "bert"))
    model = classifier(body, ("blocks.-1",))
    ids, mask, keys = batch(body.encoder.config.vocab_size)
    model.on_train_epoch_start()
    assert model.classifier.frozen_part() == 1
    model.train(False)  # the trainable block's dropout off, so both paths are deterministic
    cached = [model(ids, mask, keys) for _ in range(2)]
    assert len(model.classifier.cache) == 6
    reference = model.classifier(ids, mask)
    for logits in cached:
        torch.testing.assert_close(logits, reference, atol=1e-5, rtol=1e-4)


def test_cached_rows_come_back_on_the_device_of_the_batch_that_asks() -> None:
    """A GPU fit fills the cache; evaluation after it runs on the CPU (Lightning moves the module back)."""
    from headswap.model.feature_cache import FeatureCache

    cache = FeatureCache(budget_mb=1.0)
    keys, mask = torch.tensor([3, 5]), torch.ones(2, 4, dtype=torch.long)
    cache.get(keys, mask, lambda: torch.randn(2, 4, 8))  # filled
    elsewhere = cache.get(keys, mask.to("meta"), lambda: pytest.fail("a hit must not recompute"))
    assert elsewhere.device.type == "meta" and elsewhere.shape == (2, 4, 8)
