"""Hidden states of a frozen body, computed once per example and reused every epoch.

A frozen body in eval mode maps each text to the same hidden states at every step, so head-only
training need not run it again: after the first epoch a step costs only the pool and the head.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor
from torch.nn.utils.rnn import pad_sequence


class FeatureCache:
    def __init__(self) -> None:
        self._store: dict[int, Tensor] = {}

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        self._store.clear()

    def hidden(self, keys: Tensor, attention_mask: Tensor, compute: Callable[[], Tensor]) -> Tensor:
        """B x T x D hidden states for examples ``keys``; ``compute()`` runs the body on a miss."""
        ids = keys.tolist()
        if any(k not in self._store for k in ids):
            hidden = compute()  # B x T x D
            for k, h, n in zip(ids, hidden, attention_mask.sum(dim=1).tolist()):
                self._store[k] = h[:n]  # without padding: the batch it returns to may be shorter or longer
        rows = [self._store[k] for k in ids]
        out = pad_sequence(rows, batch_first=True)  # B x max_len_in_batch x D, zeros where padded
        return out[:, : attention_mask.shape[1]]
