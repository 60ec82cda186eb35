"""LoRA adapters on a frozen body, through the ``peft`` library (the optional ``lora`` extra).

The body's attention and feed-forward projections are plain ``nn.Linear`` layers named ``q_proj``,
``k_proj``, ``v_proj``, ``out_proj``, ``fc_in`` and ``fc_out``, so peft wraps them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def add_lora(
    body: nn.Module,
    r: int = 8,
    alpha: float = 16.0,
    dropout: float = 0.0,
    targets: Sequence[str] = ("q_proj", "v_proj"),
) -> nn.Module:
    """Wrap ``targets`` in ``body`` with rank-``r`` adapters (B starts at zero: outputs do not move)."""
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ModuleNotFoundError:
        raise ModuleNotFoundError('regime=lora needs peft: pip install -e ".[lora]"') from None
    if r < 1:
        raise ValueError(f"regime.adapters.r={r} must be >= 1")
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets))
    return inject_adapter_in_model(config, body)
