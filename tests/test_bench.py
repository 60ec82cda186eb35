"""The benchmarks (benchmarks/): figures derived from the measurements, verdicts from the figures, and a
real measurement of each kind on tiny settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from benchmarks import bench, measure, render
from benchmarks.loops import alternate, plain_epochs
from benchmarks.serve_load import Timed, load, serving, summarize
from hydra import initialize_config_dir
from omegaconf import OmegaConf

from headswap.errors import ConfigError
from headswap.lit import HeadSwapClassifier
from headswap.model import BodyConfig, MeanPool, Regime, TransformerBody
from headswap.training.bodies import pretrained_body
from headswap.training.build import build_datamodule

from .conftest import CONF, TINY, compose_cfg, run_train_script


@pytest.mark.parametrize(
    ("measured", "bound", "lower", "verdict"),
    [
        (1.05, 1.10, True, "met"),
        (1.104, 1.10, True, "met"),  # judged as printed: 1.10
        (1.32, 1.10, True, "missed by 20%"),
        (12.0, 10.0, False, "met"),
        (4.0, 10.0, False, "missed by 60%"),
    ],
)
def test_one_verdict_rule_judges_the_printed_figure(
    measured: float, bound: float, lower: bool, verdict: str
) -> None:
    assert render.verdict(measured, bound, lower) == verdict


def test_alternate_interleaves_runs_and_drops_each_runs_first_epoch() -> None:
    order: list[str] = []

    def run(name: str, epochs: list[tuple[float, float]]):
        return lambda: order.append(name) or epochs

    stats = alternate(
        {"a": run("a", [(9.0, 9.0), (1.0, 0.5), (3.0, 1.5)]), "b": run("b", [(9.0, 9.0), (2.0, 2.0)])}, reps=2
    )
    assert order == ["a", "b", "a", "b"]
    assert stats["a"]["wall"] == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 4}
    assert stats["a"]["cpu"] == {"median": 1.0, "min": 0.5, "max": 1.5, "n": 4}
    assert stats["b"]["wall"] == {"median": 2.0, "min": 2.0, "max": 2.0, "n": 2}


def timings(lightning: float, plain: float) -> dict:
    def stat(seconds: float) -> dict:
        return {
            clock: {"median": seconds, "min": seconds, "max": seconds, "n": 1} for clock in ("wall", "cpu")
        }

    names = {f"lightning/{r}": stat(lightning * (10 if r == "full" else 1)) for r in render.REGIMES}
    names |= {f"plain/{r}": stat(plain * (10 if r == "full" else 1)) for r in render.REGIMES}
    return names | {"bare/head": stat(lightning), "lightning/head-uncached": stat(lightning * 3)}


def test_fixture_targets_are_ratios_of_the_medians() -> None:
    targets = {
        name: (measured, met) for name, measured, _, met in render.fixture_targets(timings(0.012, 0.010), {})
    }
    assert targets["Lightning / plain loop, head (wall)"][0] == pytest.approx(1.2)
    assert targets["full / head-only (cached) per epoch (cpu)"][0] == pytest.approx(10.0)
    demo = render.fixture_targets(timings(0.01, 0.01), {"demo.py, first run (pre-trains)": {"seconds": 25.0}})
    assert demo[-1][1:] == (25.0, 20.0, True)


def test_shared_machine_targets_are_the_defaults_slowdown_and_its_cost_alone() -> None:
    def pair(epoch: float) -> dict:
        return {"epoch": {"median": epoch}, "predict": {"median": 1.0}, "threads": ["2"]}

    figures = {
        "pairs": {
            "torch's default (before) | alone": pair(5.0),
            "torch's default (before) | beside 1 busy process": pair(20.0),
            "headswap's default | alone": pair(5.5),
            "headswap's default | beside 1 busy process": pair(11.0),
        }
    }
    (busy, alone) = render.shared_targets(figures)
    assert busy[1:] == (pytest.approx(2.0), 2.5, True)
    assert alone[1:] == (pytest.approx(1.1), 1.05, True)
    assert render.verdict(alone[1], alone[2], alone[3]) != "met"


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


def test_pretrained_epochs_scale_to_the_training_part_and_gradual_mixes_its_stages() -> None:
    rows = render.pretrained_epochs(pretrained_figures())
    # head: later epochs 0.5 s x 4 = 2 s wall, CPU 0.25 x 4 = 1 s; first epoch 1.5 x 4 = 6 s
    assert rows["head"]["project"] == {"first_wall": 6.0, "first_cpu": 4.0, "wall": 2.0, "cpu": 1.0}
    assert rows["full"]["plain"]["wall"] == 200.0
    # gradual: (head first 6 + 3 x 2 + partial first 12 + 3 x 4 + 4 x 40) / 12; plain: the full loop
    assert rows["gradual"]["project"]["wall"] == pytest.approx((6 + 6 + 12 + 12 + 160) / 12)
    assert rows["gradual"]["plain"] == rows["full"]["plain"]
    targets = {
        name: (measured, render.verdict(measured, bound, lower))
        for name, measured, bound, lower in render.pretrained_targets(pretrained_figures())
    }
    assert targets["full: plain full / headswap full"] == (pytest.approx(5.0), "met")
    assert targets["partial: plain full / headswap partial"] == (pytest.approx(50.0), "met")
    slow = pretrained_figures()
    slow["predict"]["project"] = 150.0
    assert render.pretrained_targets(slow)[-1][1] == 150.0
    assert render.verdict(150.0, 300.0, False) == "missed by 50%"


def test_the_report_says_what_was_not_measured() -> None:
    measured = {
        "command": "python scripts/bench.py",
        "machine": {"cpu": "test"},
        "fixture": {
            "data": "Fixture, 512 training texts",
            "steps": 16,
            "reps": 1,
            "epochs": 2,
            "cpu": timings(0.01, 0.01),
            "gpu": None,
        },
        "commands": {},
        "serve_load": None,
        "pretrained_body": "body=minilm",
        "pretrained": [{**pretrained_figures(), "device": "NVIDIA H200"}],
    }
    text = render.render(measured)
    assert "Unmeasured: this machine has no CUDA GPU" in text and "Serving under load" not in text
    assert "A pretrained body on the GPU (NVIDIA H200)" in text
    assert render.render(json.loads(json.dumps(measured))) == text  # the JSON round trip renders the same
    on_gpu = {
        **measured["fixture"],
        "data": "SMSSpamCollection, 3790 training texts",
        "gpu": timings(0.01, 0.01),
    }
    gpu = "\n".join(render.gpu_section(on_gpu, "NVIDIA H200"))
    assert "NVIDIA H200" in gpu and "SMS full fine-tuning epoch on the GPU" in gpu and "| met |" in gpu


def test_keep_first_keeps_the_first_rows_of_the_training_part(tmp_path: Path) -> None:
    dm = build_datamodule(compose_cfg(tmp_path, TINY))
    texts, keys = dm.texts("train")[:10], dm.parts["train"].keys[:10].tolist()
    measure.keep_first(dm, 10)
    assert dm.texts("train") == texts and dm.parts["train"].keys.tolist() == keys
    assert len(dm.parts["train"]) == len(dm.parts["train"].labels) == 10


def test_the_plain_loop_trains_the_regimes_parameters_and_times_each_epoch(tmp_path: Path) -> None:
    dm = build_datamodule(compose_cfg(tmp_path, TINY))
    torch.manual_seed(0)
    model = HeadSwapClassifier(TransformerBody(BodyConfig()), MeanPool(64), Regime("head", head_lr=1e-2))
    body_before = {k: v.clone() for k, v in model.body.state_dict().items()}
    head_before = model.classifier.head[1].weight.clone()
    epochs = plain_epochs(
        model.classifier, dm.train_dataloader(), model.build_optimizer(), 2, torch.device("cpu"), seed=0
    )
    assert len(epochs) == 2 and all(wall > 0 and cpu > 0 for wall, cpu in epochs)
    assert all(torch.equal(body_before[k], v) for k, v in model.body.state_dict().items())
    assert not torch.equal(head_before, model.classifier.head[1].weight)
    assert len(model.classifier.cache) == len(dm.parts["train"])  # the frozen body ran once per example


def test_bench_writes_json_and_the_markdown_rendered_from_it(tmp_path: Path) -> None:
    out = tmp_path / "BENCH.md"
    overrides = ["data.source.n_per_class=40", "pretrain.epochs=1", "bench.reps=1", "bench.epochs=2"]
    cfg = compose_cfg(tmp_path, [*overrides, "bench.commands=false", f"bench.out={out}"], config_name="bench")
    text = bench.run(cfg)
    measured = json.loads(out.with_suffix(".json").read_text())
    assert out.read_text() == text == render.render(measured)
    cpu = measured["fixture"]["cpu"]
    assert set(cpu) == {
        *(f"{k}/{r}" for k in ("lightning", "plain") for r in render.REGIMES),
        "bare/head",
        "lightning/head-uncached",
    }
    assert all(
        row[clock]["n"] == 1 and row[clock]["median"] > 0 for row in cpu.values() for clock in ("wall", "cpu")
    )
    assert (
        measured["fixture"]["steps"] == 2 and measured["commands"] == {}
    )  # 48 training texts, batches of 32


def test_serve_load_without_a_run_is_refused_before_any_measurement(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, ["bench.serve_load=true"], config_name="bench")
    with pytest.raises(ConfigError, match="needs bench.serve_load_run=RUN_DIR"):
        bench.run(cfg)
    assert not [p for p in (tmp_path / ".cache").rglob("*") if p.is_file()]  # no body was pre-trained


def test_summary_counts_errors_and_takes_percentiles_of_answered_requests() -> None:
    answered = [Timed(ms / 1e3, True) for ms in range(1, 101)]  # 1 .. 100 ms
    failed = [Timed(5.0, False)] * 4  # slow failures must not count as latencies
    s = summarize(answered + failed, wall_seconds=2.0, texts_per_request=8)
    assert (s["requests"], s["answered"], s["errors"]) == (104, 100, 4)
    assert s["requests_per_s"] == 50.0 and s["texts_per_s"] == 400.0
    assert s["p50_ms"] == pytest.approx(50.5) and s["p95_ms"] == pytest.approx(95.05)


@pytest.mark.slow  # trains a run in a subprocess and serves it
def test_a_bounded_load_run_answers_every_request(tmp_path: Path) -> None:
    run = run_train_script(
        tmp_path, "data.source.n_per_class=40", "pretrain.epochs=1", "trainer.max_epochs=1"
    )
    with serving(run, "--max-batch-size=4", "--batch-timeout=0.01") as server:
        summary = load(server.port, clients=2, requests=3, texts_per_request=5)
    assert (summary["requests"], summary["answered"], summary["errors"]) == (6, 6, 0)
    assert summary["texts_per_s"] == pytest.approx(5 * summary["requests_per_s"])
    assert 0 < summary["p50_ms"] <= summary["p95_ms"]


@pytest.mark.slow  # pre-trains the tiny body and trains four regimes twice
def test_the_pretrained_section_measures_every_regime_both_ways_on_the_device(tmp_path: Path) -> None:
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
    with initialize_config_dir(str(CONF), version_base="1.3"):
        figures = measure.pretrained(section, lambda c, d: pretrained_body(c, d)[0], torch.device("cpu"))
    assert figures["device"] == "cpu" and figures["rows"] == 48 and figures["epochs"] == 2
    assert set(figures["regimes"]) == set(measure.PRETRAINED_REGIMES)
    for row in figures["regimes"].values():
        assert row["batches"] == "length-grouped batches" and row["precision"] == "32-true"  # tiny: fp32
        for loop in ("project", "plain"):
            assert len(row[loop]) == 2 and all(wall > 0 and cpu > 0 for wall, cpu in row[loop])
    assert figures["predict"]["project"] > 0 and figures["predict"]["plain"] > 0
    assert {name for name, *_ in render.pretrained_targets(figures)} == {
        "full: plain full / headswap full",
        "partial: plain full / headswap partial",
        "predict texts/s",
    }
