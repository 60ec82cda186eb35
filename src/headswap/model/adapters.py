"""LoRA adapters on a frozen body, through the ``peft`` library (the optional ``lora`` extra).

By default every ``nn.Linear`` inside the body's blocks gets an adapter: the tiny body's ``q_proj``,
``k_proj``, ``v_proj``, ``out_proj``, ``fc_in`` and ``fc_out``; a BERT encoder's ``query``, ``key``,
``value`` and ``dense`` (the attention output and both feed-forward projections).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from headswap.errors import ConfigError, MissingExtra


def block_linear_names(body: nn.Module) -> list[str]:
    """The names (last component) of every ``nn.Linear`` in the body's blocks: what LoRA wraps by default."""
    blocks = [module for name, module in body.parts().items() if name.startswith("blocks.")]
    names = {n.rpartition(".")[2] for b in blocks for n, m in b.named_modules() if isinstance(m, nn.Linear)}
    return sorted(names)


def add_lora(
    body: nn.Module,
    r: int = 8,
    alpha: float = 16.0,
    dropout: float = 0.0,
    targets: Sequence[str] | None = None,
) -> nn.Module:
    """Wrap ``targets`` (default: ``block_linear_names(body)``) in ``body`` with rank-``r`` adapters
    (B starts at zero: outputs do not move)."""
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ModuleNotFoundError:
        raise MissingExtra('regime=lora needs peft: pip install -e ".[lora]"') from None
    if r < 1:
        raise ConfigError(f"regime.adapters.r={r} must be >= 1")
    config = LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets or block_linear_names(body))
    )
    return inject_adapter_in_model(config, body)
