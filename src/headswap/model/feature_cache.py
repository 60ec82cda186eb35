"""What the frozen part of a model computes, once per example, reused every epoch.

A frozen body in eval mode maps each text to the same hidden states at every step, so head-only
training need not run it again: after the first epoch a step costs only what trains. Rows are either
pooled vectors (D, when the pool has nothing to learn) or hidden states (T x D, for a learned pool).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence


class FeatureCache:
    def __init__(self) -> None:
        self._store: dict[int, Tensor] = {}

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        self._store.clear()

    def get(self, keys: Tensor, attention_mask: Tensor, compute: Callable[[], Tensor]) -> Tensor:
        """B x D or B x T x D features of examples ``keys``; ``compute()`` runs the frozen part on a miss."""
        ids = keys.tolist()
        if any(k not in self._store for k in ids):
            features = compute()
            lengths = attention_mask.sum(dim=1).tolist()
            for k, f, n in zip(ids, features, lengths):
                # hidden states are stored without padding: the batch they return to may be shorter or longer
                self._store[k] = (f[:n] if f.dim() == 2 else f).clone()  # not a view of the whole batch
        rows = [self._store[k] for k in ids]
        if rows[0].dim() == 1:
            return torch.stack(rows)  # B x D
        return pad_sequence(rows, batch_first=True)[:, : attention_mask.shape[1]]  # B x T x D
