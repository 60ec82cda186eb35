"""scripts/bench.py: its figures agree with its measurements, and each verdict with its figure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from headswap.jobs import bench
from headswap.training import bench_pretrained

from .conftest import ROOT, compose_cfg


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


def pretrained_figures() -> dict:
    def regime(project: float, plain: float) -> dict:
        return {
            "project": [(project * 3, project * 2), (project, project / 2), (project, project / 2)],
            "plain": [(plain, plain), (plain, plain), (plain, plain)],
            "precision": "bf16-mixed",
            "batches": "random batches",
        }

    return {
        "rows": 100,
        "n_train": 400,  # every per-epoch figure is scaled by 4
        "epochs": 3,
        "startup_s": 1.5,
        "regimes": {
            "head": regime(0.5, 10.0),
            "partial": regime(1.0, 20.0),
            "lora": regime(8.0, 30.0),
            "full": regime(10.0, 50.0),
        },
        "predict": {"texts": 1000, "project": 350.0, "plain": 50.0},
    }


def test_pretrained_section_scales_epochs_and_judges_targets_from_its_figures() -> None:
    text = bench_pretrained.render_pretrained(pretrained_figures(), "body=minilm")
    assert "on 100 of the 400 training texts" in text and "times 4.00" in text
    # head: later epochs 0.5 s x 4 = 2 s wall, CPU 0.25 x 4 = 1 s; plain full 50 x 4 = 200 s: 100x
    assert "| head (cached) | 2.0 s | 1.0 s | 40.0 s | 40.0 s | 100.0x |" in text
    assert "| full | 40.0 s | 20.0 s | 200.0 s | 200.0 s | 5.0x |" in text
    # gradual: (head first 6 + 3 x 2 + partial first 12 + 3 x 4 + 4 x 40) / 12 = 16.33 s; plain: the full loop
    assert "| gradual | 16.3 s |" in text and "| 200.0 s | 200.0 s | 12.2x |" in text
    assert "| full: plain full / headswap full >= 4 | 5.00 | met |" in text
    assert "| partial: plain full / headswap partial >= 10 | 50.00 | met |" in text
    assert "| predict texts/s >= 300 | 350.00 | met |" in text
    slow = pretrained_figures()
    slow["predict"]["project"] = 150.0
    assert "| predict texts/s >= 300 | 150.00 | missed by 50% |" in bench_pretrained.render_pretrained(
        slow, "x"
    )


def test_subset_keeps_the_first_rows_of_the_training_part(tmp_path: Path) -> None:
    from headswap.data import FixtureHard
    from headswap.lit import TextDataModule
    from headswap.model import ByteTokenizer

    dm = TextDataModule(FixtureHard(n_per_class=40), ByteTokenizer())
    dm.setup()
    texts, keys = dm.texts("train")[:10], dm.parts["train"].keys[:10].tolist()
    bench_pretrained.subset(dm, 10)
    assert dm.texts("train") == texts and dm.parts["train"].keys.tolist() == keys
    assert len(dm.parts["train"]) == len(dm.parts["train"].labels) == 10


def test_the_gpu_run_of_the_pretrained_section_says_where_it_ran() -> None:
    figures = {**pretrained_figures(), "device": "NVIDIA H200"}
    assert (
        "## A pretrained body on the GPU (NVIDIA H200): body=minilm ("
        in bench_pretrained.render_pretrained(figures, "body=minilm")
    )
    assert "## A pretrained body: body=minilm (" in bench_pretrained.render_pretrained(
        pretrained_figures(), "body=minilm"
    )


@pytest.mark.slow  # pre-trains the tiny body and trains four regimes twice
def test_the_pretrained_section_measures_every_regime_both_ways_on_the_device(tmp_path: Path) -> None:
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    from headswap.training.bodies import pretrained_body

    section = OmegaConf.create(
        {
            "overrides": ["body=tiny", f"paths.root_dir={tmp_path}", "pretrain.epochs=1"],
            "rows": 48,
            "epochs": 2,
            "batch_size": 16,
            "max_len": 32,
            "threads": 1,
        }
    )
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        figures = bench_pretrained.measure(
            section, lambda c, d: pretrained_body(c, d)[0], torch.device("cpu")
        )
    assert figures["device"] == "cpu" and figures["rows"] == 48 and figures["epochs"] == 2
    assert set(figures["regimes"]) == set(bench_pretrained.REGIMES)
    for row in figures["regimes"].values():
        assert row["batches"] == "length-grouped batches" and row["precision"] == "32-true"  # tiny: fp32
        for loop in ("project", "plain"):
            assert len(row[loop]) == 2 and all(wall > 0 and cpu > 0 for wall, cpu in row[loop])
    assert figures["predict"]["project"] > 0 and figures["predict"]["plain"] > 0
    text = bench_pretrained.render_pretrained(figures, "body=tiny")
    assert text.count("| ") > 10 and "predict texts/s >= 300" in text
