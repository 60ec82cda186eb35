"""``trainer.precision``'s default: bf16 mixed precision where the chip computes bf16 natively, else 32-bit.

bf16 autocast halves a pretrained body's step on a CPU with AVX512-BF16 or AMX, but a CPU without them
emulates bf16 and runs slower than fp32, so the choice is read from the hardware, never assumed.
"""

from __future__ import annotations

from pathlib import Path

import torch

BF16 = "bf16-mixed"
FP32 = "32-true"
SPELLINGS = {BF16: ("bf16-mixed", "bf16-true", "bf16"), FP32: ("32", "32-true", "64", "64-true")}
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def precision_of(value: object) -> str | None:
    """A ``trainer.precision`` as one of the two a CPU predicts in (BF16, FP32); None for any other."""
    return next((name for name, spellings in SPELLINGS.items() if str(value) in spellings), None)


def cpuinfo(field: str, path: Path = Path("/proc/cpuinfo")) -> str:
    """The first value of ``field`` (``flags``, ``model name``) as Linux lists it; "" where there is none."""
    if not path.is_file():
        return ""
    lines = path.read_text(errors="replace").splitlines()
    return next((line.split(":", 1)[1].strip() for line in lines if line.split(":")[0].strip() == field), "")


def cpu_flags(path: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags; empty where there is no /proc/cpuinfo."""
    return set(cpuinfo("flags", path).split())


def cpu_has_native_bf16() -> bool:
    return bool(NATIVE_BF16_FLAGS & cpu_flags())


def gpu_has_bf16() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def auto_precision(accelerator: str = "cpu", body_bf16: bool = True) -> str:
    """``${auto_precision:${trainer.accelerator},${body.bf16}}``: ``bf16-mixed`` where the device that
    trains has native bf16 and the body gains from it (``body.bf16``; the tiny body is faster in fp32),
    ``32-true`` elsewhere. ``trainer.precision=32`` or ``=bf16-mixed`` overrides it either way."""
    if not body_bf16:
        return FP32
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    native = gpu_has_bf16() if on_gpu else cpu_has_native_bf16()
    return BF16 if native else FP32
