"""``trainer.precision``'s default: bf16 mixed precision where the chip computes bf16 faster, else 32-bit.

bf16 autocast halves a pretrained body's step on some CPUs with AVX512-BF16 or AMX, but a CPU without
them emulates bf16 and runs slower than fp32, and one that lists AVX512-BF16 may still run it slower
(this project met both: docs/results.md). So on a CPU the flags are asked first and a transformer-sized
matrix product is timed both ways once per process; bf16 is chosen only where it is clearly faster.
"""

from __future__ import annotations

import functools
import time
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


@functools.cache
def cpu_bf16_pays(rows: int = 64 * 48, width: int = 384, repeats: int = 5) -> bool:
    """Whether bf16 autocast runs a MiniLM-sized matrix product (a batch of 64 texts of 48 tokens by a
    384 x 1536 weight) at least 10% faster than fp32 here, each timed by its fastest of ``repeats``."""
    x, w = torch.randn(rows, width), torch.randn(width, 4 * width)

    def fastest(bf16: bool) -> float:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            x @ w  # warm-up: the kernels' first call
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                x @ w
                times.append(time.perf_counter() - start)
        return min(times)

    return fastest(True) < 0.9 * fastest(False)


def gpu_has_bf16() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def auto_precision(accelerator: str = "cpu", body_bf16: bool = True) -> str:
    """``${auto_precision:${trainer.accelerator},${body.bf16}}``: ``bf16-mixed`` where the device that
    trains computes bf16 natively and faster (a GPU with bf16; a CPU: ``cpu_bf16_pays``) and the body
    gains from it (``body.bf16``; the tiny body is faster in fp32), ``32-true`` elsewhere.
    ``trainer.precision=32`` or ``=bf16-mixed`` overrides it either way."""
    if not body_bf16:
        return FP32
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    faster = gpu_has_bf16() if on_gpu else cpu_has_native_bf16() and cpu_bf16_pays()
    return BF16 if faster else FP32
