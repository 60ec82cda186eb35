"""The transformer body: what stays when the language-model head is swapped for a classifier."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from headswap.errors import ConfigError


@dataclass(frozen=True)
class BodyConfig:
    """The tiny body's shape; the single source of ``body.model``'s keys and defaults (``conf/body/``)."""

    vocab_size: int = 260
    max_len: int = 32  # size of the position table: no sequence may be longer
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 256
    dropout: float = 0.1  # on embeddings and residual branches
    attn_dropout: float = 0.0  # on attention weights: costly on CPU (a mask per head and token pair)
    causal: bool = True  # fine-tuning attention sees only earlier tokens; pre-training is always causal

    def __post_init__(self) -> None:
        for key in ("vocab_size", "max_len", "d_model", "n_heads", "n_layers", "d_ff"):
            if getattr(self, key) < 1:
                raise ConfigError(f"body.model.{key}={getattr(self, key)} must be >= 1")
        if self.d_model % self.n_heads:
            raise ConfigError(
                f"body.model.n_heads={self.n_heads} does not divide body.model.d_model={self.d_model}: "
                "pick a head count that divides the hidden size"
            )
        for key in ("dropout", "attn_dropout"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ConfigError(f"body.model.{key}={getattr(self, key)} must be in [0, 1)")


def attention_mask_4d(attention_mask: Tensor, causal: bool) -> Tensor:
    """B x T padding mask (1 = token) -> B x 1 x T x T boolean mask (True = may attend)."""
    keys = attention_mask.bool()[:, None, None, :]  # B x 1 x 1 x T
    if not causal:
        return keys
    t = attention_mask.shape[1]
    lower = torch.ones(t, t, dtype=torch.bool, device=attention_mask.device).tril()
    return keys & lower  # B x 1 x T x T


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate q/k/v/out projections (plain Linears: LoRA wraps them)."""

    def __init__(self, cfg: BodyConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.dropout = cfg.attn_dropout
        self.q_proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.k_proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.v_proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.out_proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, t, d = x.shape

        def heads(y: Tensor) -> Tensor:  # B x T x D -> B x H x T x D/H
            return y.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        return self.out_proj(y.transpose(1, 2).reshape(b, t, d))


class FeedForward(nn.Module):
    """The block's position-wise MLP: D -> d_ff -> D with GELU, dropout on its output."""

    def __init__(self, cfg: BodyConfig) -> None:
        super().__init__()
        self.fc_in = nn.Linear(cfg.d_model, cfg.d_ff)
        self.fc_out = nn.Linear(cfg.d_ff, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc_out(F.gelu(self.fc_in(x))))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + ff(ln(x))."""

    def __init__(self, cfg: BodyConfig) -> None:
        super().__init__()
        self.ln_attn = nn.LayerNorm(cfg.d_model)
        self.attn = SelfAttention(cfg)
        self.ln_ff = nn.LayerNorm(cfg.d_model)
        self.ff = FeedForward(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = x + self.drop(self.attn(self.ln_attn(x), mask))
        return x + self.ff(self.ln_ff(x))


class Embeddings(nn.Module):
    """Token plus learned position embeddings: ids B x T -> B x T x D."""

    def __init__(self, cfg: BodyConfig) -> None:
        super().__init__()
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.max_len, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, input_ids: Tensor) -> Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        return self.drop(self.tok(input_ids) + self.pos(positions))  # B x T x D


class TransformerBody(nn.Module):
    """Token ids and padding mask -> hidden states B x T x D. No output head: that is the point."""

    name = "tiny"  # what reports call this body, beside a pretrained model's name
    splits = True  # hidden_before and hidden_from rebuild forward: a frozen prefix can be cached

    def __init__(self, cfg: BodyConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.d_model, self.causal = cfg.d_model, cfg.causal
        self.max_len = cfg.max_len  # the longest sequence the position table holds
        self.embed = Embeddings(cfg)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(cfg.d_model)
        self.apply(_init_weights)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, causal: bool | None = None) -> Tensor:
        """``causal`` overrides the config's choice: next-token pre-training must never see ahead."""
        if input_ids.shape[1] > self.cfg.max_len:
            raise ValueError(
                f"sequence length {input_ids.shape[1]} exceeds body.model.max_len={self.cfg.max_len}: "
                "truncate inputs or build a body with a longer position table"
            )
        mask = attention_mask_4d(attention_mask, self.cfg.causal if causal is None else causal)
        return self._from_block(self.embed(input_ids), mask, 0)

    def hidden_before(self, input_ids: Tensor, attention_mask: Tensor, block: int) -> Tensor:
        """Hidden states B x T x D entering ``blocks.{block}``: what a frozen prefix computes."""
        mask = attention_mask_4d(attention_mask, self.cfg.causal)
        x = self.embed(input_ids)
        for b in self.blocks[:block]:
            x = b(x, mask)
        return x  # B x T x D

    def hidden_from(self, hidden: Tensor, attention_mask: Tensor, block: int) -> Tensor:
        """The rest of ``forward`` from ``hidden_before(..., block)``'s output: B x T x D."""
        return self._from_block(hidden, attention_mask_4d(attention_mask, self.cfg.causal), block)

    def _from_block(self, x: Tensor, mask: Tensor, block: int) -> Tensor:
        for b in self.blocks[block:]:
            x = b(x, mask)
        return self.norm(x)  # B x T x D

    def parts(self) -> dict[str, nn.Module]:
        """The body's named parts in input-to-output order; regimes choose among these names."""
        return {
            "embed": self.embed,
            **{f"blocks.{i}": block for i, block in enumerate(self.blocks)},
            "norm": self.norm,
        }


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


def build_body(**kwargs: object) -> TransformerBody:
    """Hydra entry point: ``body`` config keys -> a freshly initialised body."""
    return TransformerBody(BodyConfig(**kwargs))  # type: ignore[arg-type]
