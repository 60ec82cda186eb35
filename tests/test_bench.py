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

    def run(name: str, epochs: list[tuple[float, float]]):
        return lambda: order.append(name) or epochs

    stats = bench.alternate(
        {"a": run("a", [(9.0, 9.0), (1.0, 0.5), (3.0, 1.5)]), "b": run("b", [(9.0, 9.0), (2.0, 2.0)])}, reps=2
    )
    assert order == ["a", "b", "a", "b"]
    assert stats["a"]["wall"] == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 4}
    assert stats["a"]["cpu"] == {"median": 1.0, "min": 0.5, "max": 1.5, "n": 4}
    assert stats["b"]["wall"] == {"median": 2.0, "min": 2.0, "max": 2.0, "n": 2}


def test_bench_writes_tables_whose_ratios_are_its_medians(tmp_path: Path) -> None:
    out = tmp_path / "BENCH.md"
    overrides = ["data.source.n_per_class=40", "pretrain.epochs=1", "bench.reps=1", "bench.epochs=2"]
    cfg = compose_cfg(tmp_path, [*overrides, "bench.commands=false", f"bench.out={out}"], config_name="bench")
    text = bench.run(cfg)
    assert out.read_text() == text
    ms = r"([\d.]+) ms \(.*?\)"
    row = re.compile(rf"\| (head|partial|full) \| {ms} \| {ms} \| ([\d.]+)x \| {ms} \| {ms} \| ([\d.]+)x \|")
    rows = {m[1]: [float(x) for x in m.groups()[1:]] for m in row.finditer(text)}
    assert set(rows) == {"head", "partial", "full"}
    for regime, (lit_wall, plain_wall, wall_ratio, lit_cpu, plain_cpu, cpu_ratio) in rows.items():
        for clock, lit, plain, ratio in (
            ("wall", lit_wall, plain_wall, wall_ratio),
            ("cpu", lit_cpu, plain_cpu, cpu_ratio),
        ):
            assert lit > 0 and plain > 0
            rounding = ratio * (0.05 / lit + 0.05 / plain) + 0.005  # the table shows ms to 0.1
            assert ratio == pytest.approx(lit / plain, abs=rounding)
            pattern = rf"\| Lightning / plain loop, {regime} \({clock}\) <= 1.1 \| ([\d.]+) \| (.+) \|"
            ((shown, verdict),) = re.findall(pattern, text)
            assert float(shown) == pytest.approx(ratio, abs=0.011)
            assert (verdict == "met") == (float(shown) <= 1.10)
    head_ms, speedup = map(
        float, re.search(r"\| cached features \| ([\d.]+) ms \| ([\d.]+)x \|", text).groups()
    )
    full_ms = rows["full"][3]
    assert speedup == pytest.approx(full_ms / head_ms, abs=speedup * (0.05 / full_ms + 0.05 / head_ms) + 0.05)
    breakdown = dict(
        re.findall(r"\| (seed the step's dropout|does the body train\?) \| ([\d.]+) us \|", text)
    )
    assert set(breakdown) == {"seed the step's dropout", "does the body train?"}
    assert "| the step itself:" in text and "| Lightning's loop around it" in text


def test_gpu_section_says_unmeasured_without_a_gpu() -> None:
    timings = {
        name: {clock: {"median": 0.01, "min": 0.01, "max": 0.01, "n": 1} for clock in ("wall", "cpu")}
        for name in [f"{kind}/{r}" for kind in ("lightning", "plain") for r in bench.REGIMES]
        + ["bare/head", "lightning/head-uncached"]
    }
    meta = {"command": "x", "machine": {}, "reps": 1, "epochs": 2, "steps": 16, "data": "Fixture"}
    text = bench.markdown(timings, None, [], {}, meta)
    assert "## On a GPU\n\nUnmeasured: this machine has no CUDA GPU." in text
    with_gpu = bench.markdown(timings, timings, [], {}, {**meta, "data": "SMSSpamCollection, 3790 texts"})
    assert "| full | 10.0 ms | 10.0 ms | 1.00x |" in with_gpu
    assert "| SMS full fine-tuning epoch on the GPU (wall s) <= 0.2 | 0.01 | met |" in with_gpu
