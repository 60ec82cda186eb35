"""What the frozen part of a model computes, once per example, reused every epoch.

A frozen part in eval mode maps each text to the same values at every step, so training need not run
it again. Rows are pooled vectors (D: a frozen body whose pool has nothing to learn), or hidden states
(T x D, kept without padding): a frozen body's output for a learned pool, or what the frozen lowest
blocks hand to the first trainable one (``partial``, ``gradual`` before its last stage). The cache is
bounded by a memory budget: past it, the cache empties and the frozen part is computed as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

log = logging.getLogger(__name__)


class FeatureCache:
    """Per-example rows, keyed by corpus position, for one ``kind`` of frozen computation at a time.

    Rows are stored in bf16 when they were computed under bf16 autocast (half the memory) and returned
    in the dtype they were computed in.
    """

    def __init__(self, budget_mb: float = float("inf")) -> None:
        self.budget_bytes = budget_mb * 2**20
        self._store: dict[int, Tensor] = {}
        self._bytes = 0
        self._dtype = torch.float32
        self.kind: Hashable = None
        self.over_budget = False
        self._warned = False

    def __len__(self) -> int:
        return len(self._store)

    @property
    def megabytes(self) -> float:
        return self._bytes / 2**20

    def clear(self) -> None:
        self._store.clear()
        self._bytes = 0

    def use_for(self, kind: Hashable) -> None:
        """Rows of another computation (a stage unfroze more blocks) make every stored row stale."""
        if kind != self.kind:
            self.clear()
            self.kind, self.over_budget = kind, False

    def get(self, keys: Tensor, attention_mask: Tensor, compute: Callable[[], Tensor]) -> Tensor:
        """B x D or B x T x D features of examples ``keys``; ``compute()`` runs the frozen part on a miss."""
        if self.over_budget:
            return compute()
        ids = keys.tolist()
        if any(k not in self._store for k in ids):
            features = compute()
            self._dtype = features.dtype
            stored = torch.bfloat16 if _under_bf16_autocast(features.device.type) else features.dtype
            lengths = attention_mask.sum(dim=1).tolist()
            for k, f, n in zip(ids, features, lengths):
                # hidden states are stored without padding: the batch they return to may be shorter or longer
                row = (f[:n] if f.dim() == 2 else f).to(stored).clone()  # not a view of the whole batch
                self._bytes += row.nbytes - (self._store[k].nbytes if k in self._store else 0)
                self._store[k] = row
            if self._bytes > self.budget_bytes:
                if not self._warned:
                    log.warning(
                        "feature cache: over its budget of %.0f MB; computing the frozen part every step "
                        "(raise model.prefix_cache_mb to keep it)",
                        self.budget_bytes / 2**20,
                    )
                    self._warned = True
                self.clear()
                self.over_budget = True
            return features
        rows = [self._store[k] for k in ids]
        like = {"dtype": self._dtype, "device": attention_mask.device}  # a GPU fit's rows, a CPU evaluation
        if rows[0].dim() == 1:
            return torch.stack(rows).to(**like)  # B x D
        return pad_sequence(rows, batch_first=True)[:, : attention_mask.shape[1]].to(**like)  # B x T x D


def _under_bf16_autocast(device_type: str) -> bool:
    return torch.is_autocast_enabled(device_type) and torch.get_autocast_dtype(device_type) == torch.bfloat16
