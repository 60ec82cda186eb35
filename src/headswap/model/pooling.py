"""Pooling: B x T x D hidden states and a B x T padding mask -> one B x D vector per text.

Names follow sentence-transformers (``mean``, ``cls``, ``lasttoken``, ``weightedmean``, ``max``), plus a
learned ``attention`` pool. Every pool ignores padding: the pooled vector of a text does not depend on
how much padding its batch added.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class Pool(nn.Module):
    """Base class: every pool maps D-dimensional states to a D-dimensional vector."""

    name = "pool"

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.out_dim = d_model


class MeanPool(Pool):
    """Mask-weighted mean: padding positions contribute nothing to sum or count."""

    name = "mean"

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        m = mask.unsqueeze(-1).to(hidden.dtype)  # B x T x 1
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)  # B x D


class WeightedMeanPool(Pool):
    """Mean weighted by position (1, 2, ..., T): later tokens of a causal body have seen more text."""

    name = "weightedmean"

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        positions = torch.arange(1, hidden.shape[1] + 1, device=hidden.device, dtype=hidden.dtype)
        w = (mask.to(hidden.dtype) * positions).unsqueeze(-1)  # B x T x 1
        return (hidden * w).sum(1) / w.sum(1).clamp(min=1.0)


class ClsPool(Pool):
    """State of the first token (the tokenizer's ``cls`` or ``bos``); meaningful with a bidirectional body."""

    name = "cls"

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        return hidden[:, 0]


class LastTokenPool(Pool):
    """State of the last real token: under causal attention, the only one that has seen the whole text."""

    name = "lasttoken"

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        positions = torch.arange(hidden.shape[1], device=hidden.device)
        last = (mask.long() * positions).argmax(dim=1)  # B: index of the last non-padding token
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


class MaxPool(Pool):
    """Element-wise max over real tokens only."""

    name = "max"

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        pad = ~mask.bool().unsqueeze(-1)  # B x T x 1
        return hidden.masked_fill(pad, torch.finfo(hidden.dtype).min).amax(dim=1)


class AttentionPool(Pool):
    """One learned query attends over the real tokens. Starts as the mean pool (query = 0)."""

    name = "attention"

    def __init__(self, d_model: int) -> None:
        super().__init__(d_model)
        self.query = nn.Parameter(torch.zeros(d_model))

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        scores = hidden @ self.query / math.sqrt(hidden.shape[-1])  # B x T
        scores = scores.masked_fill(~mask.bool(), float("-inf"))
        weights = scores.softmax(dim=1).unsqueeze(-1)  # B x T x 1
        return (hidden * weights).sum(1)
