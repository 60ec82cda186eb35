"""Token-id sequences of different lengths as one padded batch: the one padding rule of training,
evaluation, predict and the export's preprocessing."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence


def pad_batch(ids: Sequence[Sequence[int] | Tensor], pad_id: int) -> dict[str, Tensor]:
    """Pads to the longest sequence: ``input_ids`` (B x T, ``pad_id`` after each text) and
    ``attention_mask`` (B x T, 1 on real tokens)."""
    lengths = torch.tensor([len(x) for x in ids])
    input_ids = pad_sequence([torch.as_tensor(x) for x in ids], batch_first=True, padding_value=pad_id)
    attention_mask = (torch.arange(input_ids.shape[1]) < lengths[:, None]).long()  # B x T
    return {"input_ids": input_ids, "attention_mask": attention_mask}
