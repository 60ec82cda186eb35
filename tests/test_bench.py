"""scripts/bench.py: its figures agree with its measurements, and each verdict with its figure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from headswap.jobs import bench

from .conftest import compose_cfg


def test_target_verdicts_follow_the_bound() -> None:
    assert bench.target_row("ratio", 1.05, 1.10, True) == "| ratio <= 1.1 | 1.05 | met |"
    assert bench.target_row("ratio", 1.32, 1.10, True) == "| ratio <= 1.1 | 1.32 | missed by 20% |"
    assert bench.target_row("speed-up", 12.0, 10.0, False) == "| speed-up >= 10 | 12.00 | met |"
    assert bench.target_row("speed-up", 4.0, 10.0, False) == "| speed-up >= 10 | 4.00 | missed by 60% |"


def test_alternate_interleaves_runs_and_drops_each_runs_first_epoch() -> None:
    order: list[str] = []

    def run(name: str, epochs: list[float]):
        return lambda: order.append(name) or epochs

    stats = bench.alternate({"a": run("a", [9.0, 1.0, 3.0]), "b": run("b", [9.0, 2.0])}, reps=2)
    assert order == ["a", "b", "a", "b"]
    assert stats["a"] == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 4}
    assert stats["b"] == {"median": 2.0, "min": 2.0, "max": 2.0, "n": 2}


def test_bench_writes_tables_whose_ratios_are_its_medians(tmp_path: Path) -> None:
    out = tmp_path / "BENCH.md"
    cfg = compose_cfg(
        tmp_path,
        [
            "data.source.n_per_class=40",
            "pretrain.epochs=1",
            "bench.reps=1",
            "bench.epochs=2",
            "bench.commands=false",
            f"bench.out={out}",
        ],
        config_name="bench",
    )
    text = bench.run(cfg)
    assert out.read_text() == text
    row = re.compile(r"\| (head|partial|full) \| ([\d.]+) ms \(.*?\) \| ([\d.]+) ms \(.*?\) \| ([\d.]+)x \|")
    rows = {m[1]: (float(m[2]), float(m[3]), float(m[4])) for m in row.finditer(text)}
    assert set(rows) == {"head", "partial", "full"}
    for regime, (lightning, plain, ratio) in rows.items():
        assert lightning > 0 and plain > 0
        rounding = ratio * (0.05 / lightning + 0.05 / plain) + 0.005  # the table shows ms to 0.1
        assert ratio == pytest.approx(lightning / plain, abs=rounding)
        (verdict,) = re.findall(rf"\| Lightning / plain loop, {regime} <= 1.1 \| ([\d.]+) \| (.+) \|", text)
        assert float(verdict[0]) == pytest.approx(ratio, abs=0.011)
        assert (verdict[1] == "met") == (float(verdict[0]) <= 1.10)
    head_ms, speedup = map(
        float, re.search(r"\| cached features \| ([\d.]+) ms \| ([\d.]+)x \|", text).groups()
    )
    full_ms = rows["full"][0]
    assert speedup == pytest.approx(full_ms / head_ms, abs=speedup * (0.05 / full_ms + 0.05 / head_ms) + 0.05)
    assert "| body run every step |" in text
