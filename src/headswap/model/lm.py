"""The language model used for pre-training: the body plus the head that headswap later removes."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from headswap.model.body import TransformerBody


class LanguageModel(nn.Module):
    def __init__(self, body: TransformerBody) -> None:
        super().__init__()
        self.body = body
        self.lm_head = nn.Linear(body.d_model, body.cfg.vocab_size, bias=False)
        nn.init.normal_(self.lm_head.weight, std=0.02)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        # causal whatever the body's fine-tuning setting: a bidirectional body would read its targets
        return self.lm_head(self.body(input_ids, attention_mask, causal=True))  # B x T x V

    def next_token_loss(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Mean cross-entropy of predicting token t+1 from tokens <= t; padding targets are ignored."""
        logits = self(input_ids[:, :-1], attention_mask[:, :-1])  # B x T-1 x V
        targets = input_ids[:, 1:].masked_fill(attention_mask[:, 1:] == 0, -100)  # B x T-1
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)
