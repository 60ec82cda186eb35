"""scripts/bench.py on tiny settings: it measures every row and writes its markdown."""

from __future__ import annotations

from pathlib import Path

from headswap.jobs import bench

from .conftest import compose_cfg


def test_bench_writes_its_tables(tmp_path: Path) -> None:
    out = tmp_path / "BENCH.md"
    cfg = compose_cfg(tmp_path, ["data.source.n_per_class=40", "pretrain.epochs=1", "bench.reps=1",
                                 "bench.epochs=2", "bench.commands=false", f"bench.out={out}"], config_name="bench")
    text = bench.run(cfg)
    assert out.read_text() == text
    for regime in ("head", "partial", "full"):
        assert f"| {regime} |" in text and f"Lightning / plain loop, {regime} <= 1.1 |" in text
    assert "| cached features |" in text and "| body run every step |" in text
    assert "full / head-only (cached) per epoch >= 10 |" in text
