"""Real multiruns through scripts/train.py: a tiny sweep, its comparison, parallel jobs, a failing job."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest

from .conftest import ROOT, TINY

pytestmark = pytest.mark.slow  # each test runs a sweep of scripts/train.py

SWEEP = ["-m", "regime=head,full", "seed=0,1", "trainer.max_epochs=1", *TINY[:2], TINY[3]]


def run_script(
    args: list[str], tmp_path: Path, script: str = "scripts/train.py"
) -> subprocess.CompletedProcess:
    cmd = (
        [sys.executable, script, *args, f"paths.root_dir={tmp_path}"]
        if script.endswith("train.py")
        else [sys.executable, script, *args]
    )
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def jobs_of(tmp_path: Path) -> tuple[Path, dict[str, dict]]:
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    return sweep, {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/metrics.json")}


def test_tiny_sweep_ends_with_a_comparison_that_matches_the_jobs(tmp_path: Path) -> None:
    proc = run_script(SWEEP, tmp_path)
    sweep, jobs = jobs_of(tmp_path)
    assert len(jobs) == 4
    assert all("regime=" in name and "seed=" in name for name in jobs)  # folders named by overrides
    assert sum(not j["pretrained_body"]["cached"] for j in jobs.values()) == 1  # one pre-training
    assert "by validation F1; test metrics beside it" in proc.stdout  # printed by the multirun-end callback
    for plot in ("f1_by_group.png", "f1_vs_time.png", "confusion_matrices.png"):
        height, width, _ = matplotlib.image.imread(sweep / plot).shape  # a readable image, not an empty file
        assert height > 100 and width > 100
    lines = (sweep / "comparison.md").read_text().splitlines()
    for regime in ("head", "full"):  # one summary row each, over its 2 runs
        assert sum(line.startswith(f"| regime={regime} | 2 |") for line in lines) == 1
    val_f1 = {
        r: sum(j["best_val"]["f1"] for name, j in jobs.items() if f"regime={r}," in name)
        for r in ("head", "full")
    }
    better, worse = sorted(val_f1, key=val_f1.get, reverse=True)  # the paired row: ranked by validation
    assert sum(line.startswith(f"| regime={better} | regime={worse} | 2 |") for line in lines) == 1

    again = run_script([str(sweep)], tmp_path, script="scripts/compare.py")
    assert "regime=head" in again.stdout and "regime=full" in again.stdout
    with (sweep / "comparison.csv").open() as f:
        rows = {row["group"]: row for row in csv.DictReader(f)}
    for regime in ("head", "full"):
        mine = [j for name, j in jobs.items() if f"regime={regime}," in name]
        for metric in ("precision", "recall", "f1", "accuracy"):
            mean = sum(j["test"][metric] for j in mine) / 2
            assert float(rows[f"regime={regime}"][f"{metric}_mean"]) == pytest.approx(mean, abs=1e-6)
        val_f1 = sum(j["best_val"]["f1"] for j in mine) / 2
        assert float(rows[f"regime={regime}"]["val_f1_mean"]) == pytest.approx(val_f1, abs=1e-6)
        seconds = sum(j["cost"]["train_seconds"] for j in mine) / 2
        assert float(rows[f"regime={regime}"]["train_seconds_mean"]) == pytest.approx(seconds, abs=1e-4)


def test_joblib_runs_the_jobs_in_two_workers_with_one_pretraining(tmp_path: Path) -> None:
    """What matters, not how the OS schedules the workers: two processes, one pre-training, every job
    done with its own settings. (Whether the jobs overlap in time depends on the machine's load.)"""
    run_script([*SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], tmp_path)
    _, jobs = jobs_of(tmp_path)
    assert sorted((j["regime"], j["seed"]) for j in jobs.values()) == [
        ("full", 0),
        ("full", 1),
        ("head", 0),
        ("head", 1),
    ]
    assert len({j["time"]["pid"] for j in jobs.values()}) == 2  # two worker processes
    assert sum(not j["pretrained_body"]["cached"] for j in jobs.values()) == 1
    assert len({j["pretrained_body"]["path"] for j in jobs.values()}) == 1
    for name, job in jobs.items():
        assert f"regime={job['regime']}," in name and f"seed={job['seed']}," in name
        assert sum(map(sum, job["confusion_matrix"])) == 16  # every test message scored (8 + 8)
        assert job["cost"]["epochs"] == 1


def test_a_failing_job_does_not_stop_the_sweep(tmp_path: Path) -> None:
    proc = run_script(["-m", "regime.head_lr=0.01,-1", *TINY[:3], TINY[3]], tmp_path)
    sweep, jobs = jobs_of(tmp_path)
    assert list(jobs) == [next(n for n in jobs if "head_lr=0.01" in n)]
    (error,) = sweep.glob("*/error.txt")
    assert error.read_text().startswith("ConfigError: regime.head_lr=-1.0")  # the user's error, by its type
    assert "failed or missing" in proc.stdout


def test_a_sweep_over_two_csv_files_by_absolute_path_is_compared(tmp_path: Path) -> None:
    """Paths in overrides must not nest the job folders, and compare finds the jobs with or without
    the sweep folder named."""
    files = []
    for name, flip in (("a.csv", 0), ("b.csv", 1)):
        folder = tmp_path / "data" / name.removesuffix(".csv")
        folder.mkdir(parents=True)
        rows = [f"spam offer {i},{1 - flip}" if i % 2 else f"hello friend {i},{flip}" for i in range(80)]
        (folder / name).write_text("text,label\n" + "\n".join(rows) + "\n")
        files.append(str(folder / name))
    args = ["-m", f"data.path={files[0]},{files[1]}", "data=csv", "data.positive_label=1", "data.max_len=24"]
    proc = run_script([*args, "pretrain.epochs=1", "trainer.max_epochs=1", TINY[3]], tmp_path)
    sweep, jobs = jobs_of(tmp_path)
    assert len(jobs) == 2  # both found one level down: the folders are flat
    for n, name in enumerate(sorted(jobs)):  # numbered, as a path is no plain value
        assert name.startswith(f"{n}_") and "data.path=_" in name and "/" not in name
    assert "by validation F1; test metrics beside it" in proc.stdout
    table = (sweep / "comparison.md").read_text()
    for f in files:
        assert f"| data.path={f} | 1 |" in table
    again = run_script(["--log-dir", str(tmp_path / "logs")], tmp_path, script="scripts/compare.py")
    assert f"wrote {sweep / 'comparison.md'}" in again.stdout.replace("\n", "")
