"""The head-swapped classifier: body -> pool -> head, as a plain ``nn.Module``.

No Lightning and no Hydra: build it in a notebook, call it on token ids, export it. Training concerns
(steps, metrics, the optimizer) live in ``headswap.lit.classifier``; what a frozen part computes, and
whether it is cached, is decided here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from headswap.errors import ConfigError
from headswap.model.adapters import add_lora
from headswap.model.feature_cache import FeatureCache
from headswap.model.pooling import Pool
from headswap.model.regime import frozen_prefix_blocks, set_train_modes, trains

Frozen = Literal["pooled", "hidden"] | int  # see Classifier.frozen_part


class Standardize(nn.BatchNorm1d):
    """Per-feature standardisation by running statistics: what else is in a batch moves an example's output
    only through a running average, in training as at inference.

    ``BatchNorm1d`` standardises a training batch by that batch's own statistics. When a batch's make-up
    follows its label (length-grouped batches: spam runs long), that removes the very difference the
    head must learn, and inference, which uses the running statistics, sees features the head never
    trained on. This is Batch Renormalization (Ioffe, 2017) without its clipping: a training batch
    first updates the running mean and variance (an exponential average, started from the first batch),
    then is standardised by them, as at inference; its gradient still flows through the batch's own
    statistics as in BatchNorm, so a body that trains below the head cannot lower the loss by shifting
    every feature at once. A subclass, so checkpoints and the ONNX graph keep BatchNorm's form.
    """

    def __init__(self, num_features: int, momentum: float = 0.1) -> None:
        super().__init__(num_features, momentum=momentum, affine=False)

    def forward(self, x: Tensor) -> Tensor:  # B x D -> B x D
        if not self.training or x.shape[0] < 2:  # one example has no variance: statistics left alone
            return F.batch_norm(x, self.running_mean, self.running_var, training=False, eps=self.eps)
        features = x.float()
        batch_mean, batch_std = features.mean(0), (features.var(0, unbiased=False) + self.eps).sqrt()
        with torch.no_grad():
            # the first batch sets the statistics; a tensor, so a GPU step does not wait for the host
            weight = torch.where(self.num_batches_tracked == 0, 1.0, self.momentum).to(self.running_mean)
            self.running_mean.lerp_(batch_mean.to(self.running_mean), weight)
            self.running_var.lerp_(features.var(0).to(self.running_var), weight)  # unbiased, as BatchNorm's
            self.num_batches_tracked += 1
            mean, std = self.running_mean.float(), (self.running_var.float() + self.eps).sqrt()
            scale, shift = batch_std / std, (batch_mean - mean) / std  # D, D: constants
        # = (x - running mean) / running std in value; BatchNorm's gradient
        return ((features - batch_mean) / batch_std * scale + shift).to(x.dtype)


class UnitLength(nn.Module):
    """Each vector scaled to length 1 (in fp32): what sentence-transformers' ``Normalize`` hands a
    head, and so what SetFit's logistic regression is fitted on. With an L2 penalty on the head
    (``model.head_c``) the penalty's strength then means the same for every body, whatever the
    scale of its pooled vectors."""

    def forward(self, x: Tensor) -> Tensor:  # B x D -> B x D
        return F.normalize(x.float(), dim=-1)


def linear_head(
    in_dim: int, standardize: bool = True, num_classes: int = 2, unit_length: bool = False
) -> nn.Module:
    """``Linear(in_dim, num_classes)``, optionally after a standardisation of its input: per feature
    (``standardize``) or per vector (``unit_length``); one of the two at most.

    A frozen body's pooled features share a large common component and vary little around it;
    standardising them (as MAE's linear probing does with a BatchNorm) lets a linear head converge
    in a few epochs. ``Standardize`` uses running statistics in training too, so a batch's make-up
    hardly moves its examples' logits; at inference it is a fixed affine map and the head stays linear.
    """
    if standardize and unit_length:
        raise ConfigError(
            "model.standardize=true and model.unit_length=true both rescale the head's input: set one "
            "of them to false",
            key="model.unit_length",
        )
    norm = Standardize(in_dim) if standardize else UnitLength() if unit_length else nn.Identity()
    return nn.Sequential(norm, nn.Linear(in_dim, num_classes))


class Classifier(nn.Module):
    """Token ids B x T and padding mask B x T -> logits B x N (two classes: class 1 is the positive one).

    ``body`` is any module mapping (input_ids, attention_mask) to hidden states B x T x D that names
    its parts in ``parts()`` (see ``TransformerBody``); it is used as given, already pretrained.

    With a ``cache``, a call that passes ``keys`` (each example's corpus position) computes what the
    frozen part of the model gives an example once and reads it back at every later call: the decision
    what that part is lives here (``frozen_part``), so one ``forward`` serves training, evaluation and
    a notebook alike. New body weights (a checkpoint, or by hand) empty the cache.
    """

    def __init__(
        self, body: nn.Module, pool: Pool, head: nn.Module | None = None, cache: FeatureCache | None = None
    ) -> None:
        super().__init__()
        self.body = body
        self.pool = pool
        self.head = linear_head(pool.out_dim) if head is None else head
        self.cache = cache
        if cache is not None:  # a bound method, so a deep copy's hook clears the copy's cache
            body.register_load_state_dict_pre_hook(self._body_changed)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, keys: Tensor | None = None) -> Tensor:
        frozen = self.frozen_part() if keys is not None and self.cache is not None else None
        if frozen is None:
            return self.head(self.pool(self.body(input_ids, attention_mask), attention_mask))  # B x N
        self.cache.use_for(frozen)
        with torch.no_grad():
            fixed = self.cache.get(
                keys, attention_mask, lambda: self._up_to(frozen, input_ids, attention_mask)
            )
        return self._on_from(frozen, fixed, attention_mask)

    def frozen_part(self) -> Frozen | None:
        """What this model computes the same way for an example at every call, so it can be cached:
        ``"pooled"`` (nothing in the body or the pool learns: the pooled vector B x D), ``"hidden"`` (the
        pool learns: the body's hidden states B x T x D), ``k`` (the embeddings and the ``k`` lowest
        blocks: the hidden states entering block ``k``), or None. A frozen part counts only in eval mode,
        where dropout draws nothing; ``set_train_modes`` puts it there."""
        body = self.body
        if not trains(body) and not body.training:
            return "hidden" if trains(self.pool) else "pooled"
        if not getattr(body, "splits", False):
            return None
        parts = body.parts()
        k = frozen_prefix_blocks(parts)
        below = list(parts.values())[: k + 1]  # the embeddings and the k blocks
        return k if k and not any(part.training for part in below) else None

    def _body_changed(self, *_: object) -> None:  # a load_state_dict pre-hook's arguments
        self.cache.clear()

    def set_train_modes(self) -> None:
        """Frozen body parts in eval mode (no dropout, cacheable), everything that learns in train mode."""
        set_train_modes(self.body, self.body.parts())
        self.pool.train()
        self.head.train()

    def _up_to(self, frozen: Frozen, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """What ``frozen_part`` names, computed."""
        if isinstance(frozen, int):
            return self.body.hidden_before(input_ids, attention_mask, frozen)  # B x T x D
        hidden = self.body(input_ids, attention_mask)  # B x T x D
        return self.pool(hidden, attention_mask) if frozen == "pooled" else hidden

    def _on_from(self, frozen: Frozen, fixed: Tensor, attention_mask: Tensor) -> Tensor:
        """The rest of ``forward`` from ``_up_to``'s output: B x N logits."""
        if frozen == "pooled":
            return self.head(fixed)
        hidden = self.body.hidden_from(fixed, attention_mask, frozen) if isinstance(frozen, int) else fixed
        return self.head(self.pool(hidden, attention_mask))


def build_classifier(
    body: nn.Module,
    pool: Pool,
    num_classes: int,
    standardize: bool = True,
    adapters: Mapping[str, Any] | None = None,
    cache_mb: float | None = None,
    unit_length: bool = False,
) -> Classifier:
    """The one assembly of a classifier: the body (with the regime's LoRA ``adapters``, if any), the pool,
    and a ``linear_head`` of ``num_classes``; a feature cache of ``cache_mb`` megabytes (None: no cache).
    Training and a finished run loaded back both build here, so a checkpoint always fits. The head is
    drawn before the adapters: the order of random draws fixes what a seed trains."""
    head = linear_head(pool.out_dim, standardize, num_classes, unit_length)
    if adapters:
        add_lora(body, **adapters)
    return Classifier(body, pool, head, None if cache_mb is None else FeatureCache(cache_mb))
