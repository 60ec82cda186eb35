"""The head-swapped classifier: body -> pool -> head, as a plain ``nn.Module``.

No Lightning and no Hydra: build it in a notebook, call it on token ids, export it. Training concerns
(steps, metrics, the optimizer, the feature cache) live in ``headswap.lit.classifier``.
"""

from __future__ import annotations

from torch import Tensor, nn

from headswap.model.pooling import Pool
from headswap.model.regime import trains


def linear_head(in_dim: int, standardize: bool = True, num_classes: int = 2) -> nn.Module:
    """``Linear(in_dim, num_classes)``, optionally after a fixed standardisation of its input.

    A frozen body's pooled features share a large common component and vary little around it;
    standardising them (BatchNorm without affine, as in MAE's linear probing) lets a linear head
    converge in a few epochs. At inference it is a fixed affine map, so the head stays linear.
    """
    norm = nn.BatchNorm1d(in_dim, affine=False) if standardize else nn.Identity()
    return nn.Sequential(norm, nn.Linear(in_dim, num_classes))


class Classifier(nn.Module):
    """Token ids B x T and padding mask B x T -> logits B x N (two classes: class 1 is the positive one).

    ``body`` is any module mapping (input_ids, attention_mask) to hidden states B x T x D that names
    its parts in ``parts()`` (see ``TransformerBody``); it is used as given, already pretrained.
    """

    def __init__(self, body: nn.Module, pool: Pool, head: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.pool = pool
        self.head = linear_head(pool.out_dim) if head is None else head

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        hidden = self.body(input_ids, attention_mask)  # B x T x D
        return self.head(self.pool(hidden, attention_mask))  # B x N

    def frozen_features(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """What the parts that do not train compute: hidden states B x T x D, or pooled B x D when the
        pool has nothing to learn either. Depends only on the input while the body is frozen and in
        eval mode, so it can be computed once per example (``FeatureCache``)."""
        hidden = self.body(input_ids, attention_mask)  # B x T x D
        return hidden if trains(self.pool) else self.pool(hidden, attention_mask)

    def logits_from_block(self, hidden: Tensor, attention_mask: Tensor, block: int) -> Tensor:
        """``forward`` from the hidden states B x T x D entering ``blocks.{block}``: B x N logits."""
        out = self.body.hidden_from(hidden, attention_mask, block)  # B x T x D
        return self.head(self.pool(out, attention_mask))

    def logits_from_features(self, features: Tensor, attention_mask: Tensor) -> Tensor:
        """The trainable rest of ``forward`` on ``frozen_features``' output: B x N logits."""
        pooled = self.pool(features, attention_mask) if trains(self.pool) else features  # B x D
        return self.head(pooled)
