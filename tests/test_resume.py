"""Runs that survive: resume from a checkpoint, interruption by a signal, bad checkpoints, own folders."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from filelock import FileLock

from headswap.app.launch import remove_if_unused
from headswap.jobs import train
from headswap.lit.callbacks import InterruptReport

from .conftest import ROOT, TINY, compose_cfg, run_train_script

FULL = [*TINY[:2], "regime=full", "trainer.enable_progress_bar=false"]


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 300) -> None:
    """Poll until ``condition`` holds; the deadline is generous and only turns a hang into a failure."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def test_resumed_run_ends_like_an_uninterrupted_one_in_its_own_folder(tmp_path: Path) -> None:
    whole = train.run(compose_cfg(tmp_path, [*FULL, "trainer.max_epochs=3"], output="whole"))
    # "Killed" after its first epoch: all that is left of it is the checkpoint of that epoch.
    train.run(compose_cfg(tmp_path, [*FULL, "trainer.max_epochs=1"], output="killed"))
    killed = files_of(tmp_path / "killed")
    last = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    torch.manual_seed(4321)  # whatever the RNG holds at resume time must not matter
    resumed = train.run(
        compose_cfg(tmp_path, [*FULL, "trainer.max_epochs=3", f"ckpt_path={last}"], output="resumed")
    )
    assert resumed["test"] == whole["test"]
    assert resumed["best_val"] == whole["best_val"]
    assert resumed["cost"]["epochs"] == 2  # only the epochs that were missing ran
    assert files_of(tmp_path / "killed") == killed  # the killed run's folder is left exactly as it was
    assert (tmp_path / "resumed" / "checkpoints" / "last.ckpt").is_file()


def test_resume_under_other_settings_is_refused_and_destroys_nothing(tmp_path: Path) -> None:
    head = [*TINY[:2], "trainer.max_epochs=1"]
    train.run(compose_cfg(tmp_path, head, output="head"))
    before = files_of(tmp_path / "head")
    last = tmp_path / "head" / "checkpoints" / "last.ckpt"
    with pytest.raises(
        ValueError,
        match=r"other settings: regime.body_lr=0.0 \(now 0.001\), .*regime.name=head \(now full\)",
    ):
        train.run(compose_cfg(tmp_path, [*head, "regime=full", f"ckpt_path={last}"], output="full"))
    with pytest.raises(
        ValueError,
        match=r"other settings: seed=0 \(now 1\); resume with .*drop ckpt_path to start a new run$",
    ):
        train.run(compose_cfg(tmp_path, [*head, "seed=1", f"ckpt_path={last}"], output="seed1"))
    assert files_of(tmp_path / "head") == before
    refused_runs_saved = set(tmp_path.glob("*/checkpoints/*.ckpt")) - set(tmp_path.glob("head/checkpoints/*"))
    assert not refused_runs_saved


def test_resume_may_extend_a_constant_schedule_but_not_a_decaying_one(tmp_path: Path) -> None:
    """A cosine schedule spreads over every step of max_epochs, so more epochs would be another curve."""
    cosine = [*TINY[:2], "regime=full", "schedule=cosine", "trainer.max_epochs=1"]
    train.run(compose_cfg(tmp_path, cosine, output="cosine"))
    last = tmp_path / "cosine" / "checkpoints" / "last.ckpt"
    longer = [*cosine, "trainer.max_epochs=2", f"ckpt_path={last}"]
    with pytest.raises(ValueError, match=r"other settings: trainer.max_epochs=1 \(now 2\)"):
        train.run(compose_cfg(tmp_path, longer, output="cosine_longer"))
    constant = [*TINY[:2], "regime=full", "trainer.max_epochs=1"]
    train.run(compose_cfg(tmp_path, constant, output="constant"))
    last = tmp_path / "constant" / "checkpoints" / "last.ckpt"
    extended = train.run(
        compose_cfg(tmp_path, [*constant, "trainer.max_epochs=2", f"ckpt_path={last}"], output="more")
    )
    assert extended["cost"]["epochs"] == 1  # the second epoch only: the first came from the checkpoint


def test_missing_and_mismatched_checkpoints_fail_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.ckpt does not exist"):
        train.run(compose_cfg(tmp_path, [*FULL, f"ckpt_path={tmp_path / 'nope.ckpt'}"]))
    train.run(compose_cfg(tmp_path, [*FULL, "trainer.max_epochs=1"], output="small"))
    last = tmp_path / "small" / "checkpoints" / "last.ckpt"
    with pytest.raises(
        ValueError,
        match=r"other settings: body.model.d_model=64 \(now 32\)",
    ):
        train.run(compose_cfg(tmp_path, [*FULL, "body.model.d_model=32", f"ckpt_path={last}"]))


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_interrupted_training_exits_128_plus_signal_and_says_how_to_resume(
    tmp_path: Path, signum: int, code: int
) -> None:
    cmd = [
        sys.executable,
        "scripts/train.py",
        *FULL[:3],
        "trainer.max_epochs=500",
        f"paths.root_dir={tmp_path}",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: bool(list(tmp_path.glob("logs/train/runs/*/checkpoints/last.ckpt"))), "a checkpoint")
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == code, stderr[-2000:]
    (last,) = tmp_path.glob("logs/train/runs/*/checkpoints/last.ckpt")
    assert f"last checkpoint: {last}" in stderr and f"ckpt_path={last}" in stderr
    assert stderr.rstrip().endswith(f"interrupted by {signal.Signals(signum).name}: exit {code}")
    assert not list(tmp_path.rglob("*.tmp"))  # nothing half-written
    assert not list(tmp_path.glob("logs/train/runs/*/metrics.json"))  # no report of an unfinished run
    torch.load(last, weights_only=True)  # the checkpoint left behind is complete


@pytest.mark.slow
def test_interrupted_pretraining_exits_143_and_leaves_no_held_lock(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "scripts/pretrain.py",
        TINY[0],
        "pretrain.epochs=5000",
        f"paths.root_dir={tmp_path}",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def pretraining() -> bool:
        return any(
            "pre-training the body" in p.read_text() for p in tmp_path.glob("logs/pretrain/runs/*/*.log")
        )

    wait_for(pretraining, "pre-training to begin")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 143 and stderr.rstrip().endswith("interrupted by SIGTERM: exit 143")
    bodies = tmp_path / ".cache" / "headswap" / "bodies"
    assert not list(bodies.glob("*.pt")) and not list(bodies.glob("*.json"))  # nothing cached
    assert not list(tmp_path.rglob("*.tmp"))
    # FileLock's (empty) lock file stays by design; the lock itself is released, not held by the dead run.
    (lock,) = bodies.glob("*.lock")
    with FileLock(lock, timeout=0):
        pass


def test_interrupt_report_names_no_checkpoint_that_is_not_there(tmp_path: Path, capsys) -> None:
    last = tmp_path / "last.ckpt"
    trainer = SimpleNamespace(checkpoint_callbacks=[SimpleNamespace(last_model_path=str(last))])
    InterruptReport().on_exception(trainer, None, KeyboardInterrupt())
    assert capsys.readouterr().err == "run interrupted (KeyboardInterrupt) before its first checkpoint\n"
    last.write_bytes(b"")
    InterruptReport().on_exception(trainer, None, KeyboardInterrupt())
    assert f"last checkpoint: {last}; resume with: ckpt_path={last}" in capsys.readouterr().err


# Runs scripts/train.py with Hydra's clock stopped, so that two processes start "in the same second".
FROZEN_CLOCK = """
import datetime, runpy, sys
import hydra.core.utils

class Frozen(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2030, 1, 2, 3, 4, 5)

hydra.core.utils.datetime = Frozen
sys.argv = ["scripts/train.py", *sys.argv[1:]]
runpy.run_path("scripts/train.py", run_name="__main__")
"""


@pytest.mark.slow
def test_two_runs_started_in_the_same_second_get_their_own_folders(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", FROZEN_CLOCK, *TINY, f"paths.root_dir={tmp_path}"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    runs = sorted((tmp_path / "logs" / "train" / "runs").iterdir())
    assert [r.name for r in runs] == sorted(f"2030-01-02_03-04-05_{p.pid}" for p in procs)
    assert all(json.loads((r / "metrics.json").read_text())["output_dir"] == str(r) for r in runs)


def test_resume_with_another_body_is_refused_before_pre_training_it(tmp_path: Path) -> None:
    head = [*TINY[:2], "trainer.max_epochs=1"]
    train.run(compose_cfg(tmp_path, head, output="head"))
    bodies = tmp_path / ".cache" / "headswap" / "bodies"
    cached = sorted(bodies.glob("*.pt"))
    last = tmp_path / "head" / "checkpoints" / "last.ckpt"
    with pytest.raises(ValueError, match=r"other settings: body.model.n_layers=2 \(now 1\)"):
        train.run(
            compose_cfg(tmp_path, [*head, "body.model.n_layers=1", f"ckpt_path={last}"], output="other")
        )
    assert sorted(bodies.glob("*.pt")) == cached  # the other body was never pre-trained


@pytest.mark.slow
def test_a_refused_resume_leaves_no_run_folder(tmp_path: Path) -> None:
    done = run_train_script(tmp_path, *TINY)
    refused = tmp_path / "refused"
    cmd = [
        sys.executable,
        "scripts/train.py",
        *TINY,
        "regime=full",
        f"ckpt_path={done / 'checkpoints' / 'last.ckpt'}",
        f"paths.root_dir={tmp_path}",
        f"hydra.run.dir={refused}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "was trained with other settings" in proc.stderr
    assert not refused.exists()
    assert (done / "metrics.json").is_file()  # the run it named is untouched


def test_only_a_folder_holding_nothing_but_hydras_record_is_removed(tmp_path: Path) -> None:
    for name in ("refused", "killed"):
        (tmp_path / name / ".hydra").mkdir(parents=True)
        (tmp_path / name / ".hydra" / "config.yaml").write_text("seed: 0\n")
        (tmp_path / name / "train.log").write_text("")
        (tmp_path / name / "checkpoints").mkdir()
    (tmp_path / "killed" / "checkpoints" / "last.ckpt").write_bytes(b"weights")
    for name in ("refused", "killed"):
        remove_if_unused(tmp_path / name)
    assert not (tmp_path / "refused").exists()
    assert (tmp_path / "killed" / "checkpoints" / "last.ckpt").read_bytes() == b"weights"
