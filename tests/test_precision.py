"""trainer.precision's default follows the hardware: bf16 mixed only where the chip computes it natively."""

from pathlib import Path

import pytest
import torch

from headswap.app import precision
from headswap.app.precision import BF16, FP32, auto_precision, cpu_flags
from tests.conftest import TINY, compose_cfg


def with_cpu_flags(monkeypatch: pytest.MonkeyPatch, flags: set[str], bf16_faster: bool = True) -> None:
    """A CPU listing ``flags`` whose bf16 matrix product times faster than fp32 (or not)."""
    monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
    monkeypatch.setattr(precision, "cpu_bf16_pays", lambda: bf16_faster)


def test_a_cpu_listing_bf16_that_computes_it_slower_trains_in_32_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    """This project met one: AVX512-BF16 in its flags, a bf16 matrix product 1.7x slower than fp32."""
    with_cpu_flags(monkeypatch, {"avx2", "avx512_bf16"}, bf16_faster=False)
    assert auto_precision("cpu") == FP32


def test_whether_bf16_pays_is_timed_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    precision.cpu_bf16_pays.cache_clear()
    calls = []
    real = torch.Tensor.__matmul__
    monkeypatch.setattr(torch.Tensor, "__matmul__", lambda a, b: calls.append(1) or real(a, b))
    first = precision.cpu_bf16_pays(rows=64, width=32, repeats=2)
    assert precision.cpu_bf16_pays(rows=64, width=32, repeats=2) == first and len(calls) == 6  # 2 x (1 + 2)
    precision.cpu_bf16_pays.cache_clear()


def test_cpu_without_native_bf16_trains_in_32_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    with_cpu_flags(monkeypatch, {"avx2", "avx512f", "fma"})  # bf16 would be emulated, slowly
    assert auto_precision("cpu") == FP32


@pytest.mark.parametrize("flag", ["avx512_bf16", "amx_bf16"])
def test_cpu_with_native_bf16_trains_in_bf16_mixed(monkeypatch: pytest.MonkeyPatch, flag: str) -> None:
    with_cpu_flags(monkeypatch, {"avx2", flag})
    assert auto_precision("cpu") == BF16
    assert auto_precision("cpu", body_bf16=False) == FP32  # a body that is faster in fp32 keeps it


@pytest.mark.parametrize(("bf16_gpu", "expected"), [(True, BF16), (False, FP32)])
def test_gpu_precision_follows_the_gpu_not_the_cpu(
    monkeypatch: pytest.MonkeyPatch, bf16_gpu: bool, expected: str
) -> None:
    with_cpu_flags(monkeypatch, {"avx512_bf16"} if not bf16_gpu else set())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16_gpu)
    assert auto_precision("gpu") == expected
    assert auto_precision("auto") == expected


def test_cpu_flags_reads_the_flags_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\nmodel name\t: X\n")
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "absent") == set()


@pytest.mark.parametrize(("native", "body", "expected"), [(True, "minilm", BF16), (False, "minilm", FP32)])
def test_the_config_resolves_precision_per_body_and_hardware(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, native: bool, body: str, expected: str
) -> None:
    with_cpu_flags(monkeypatch, {"amx_bf16"} if native else set())
    assert compose_cfg(tmp_path, [*TINY, f"body={body}"]).trainer.precision == expected
    assert compose_cfg(tmp_path, TINY).trainer.precision == FP32  # the tiny body: fp32 measured faster
    gpu = compose_cfg(tmp_path, [*TINY, f"body={body}", "trainer=gpu"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert gpu.trainer.precision == BF16  # trainer=gpu: bf16 where the GPU has it
    overridden = compose_cfg(tmp_path, [*TINY, f"body={body}", "trainer.precision=32"])
    assert overridden.trainer.precision == 32
