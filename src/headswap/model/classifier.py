"""The head-swapped classifier: body -> pool -> head, as a plain ``nn.Module``.

No Lightning and no Hydra: build it in a notebook, call it on token ids, export it. Training concerns
(steps, metrics, the optimizer, the feature cache) live in ``headswap.lit.classifier``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from headswap.model.pooling import Pool
from headswap.model.regime import trains


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


def linear_head(in_dim: int, standardize: bool = True, num_classes: int = 2) -> nn.Module:
    """``Linear(in_dim, num_classes)``, optionally after a per-feature standardisation of its input.

    A frozen body's pooled features share a large common component and vary little around it;
    standardising them (as MAE's linear probing does with a BatchNorm) lets a linear head converge
    in a few epochs. ``Standardize`` uses running statistics in training too, so a batch's make-up
    hardly moves its examples' logits; at inference it is a fixed affine map and the head stays linear.
    """
    norm = Standardize(in_dim) if standardize else nn.Identity()
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
