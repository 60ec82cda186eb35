"""Runs that survive: resume from a checkpoint, interruption by SIGTERM, bad checkpoints."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from headswap.jobs import train

from .conftest import ROOT, TINY, compose_cfg

FULL = [*TINY[:2], "regime=full", "trainer.enable_progress_bar=false"]


def test_resumed_run_ends_like_an_uninterrupted_one(tmp_path: Path) -> None:
    whole = train.run(compose_cfg(tmp_path, [*FULL, "trainer.max_epochs=3"], output="whole"))
    # "Killed" after its first epoch: all that is left of it is the checkpoint of that epoch.
    train.run(compose_cfg(tmp_path, [*FULL, "trainer.max_epochs=1"], output="killed"))
    last = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    torch.manual_seed(4321)  # whatever the RNG holds at resume time must not matter
    resumed = train.run(
        compose_cfg(tmp_path, [*FULL, "trainer.max_epochs=3", f"ckpt_path={last}"], output="resumed")
    )
    assert resumed["test"] == whole["test"]
    assert resumed["best_val"] == whole["best_val"]
    assert resumed["cost"]["epochs"] == 2  # only the epochs that were missing ran


def test_missing_and_mismatched_checkpoints_fail_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.ckpt does not exist"):
        train.run(compose_cfg(tmp_path, [*FULL, f"ckpt_path={tmp_path / 'nope.ckpt'}"]))
    train.run(compose_cfg(tmp_path, [*FULL, "trainer.max_epochs=1"], output="small"))
    last = tmp_path / "small" / "checkpoints" / "last.ckpt"
    with pytest.raises(
        ValueError,
        match=r"tensor 'classifier.body.embed.tok.weight' has shape \(260, 64\) in the file but \(260, 32\)",
    ):
        train.run(compose_cfg(tmp_path, [*FULL, "body.model.d_model=32", f"ckpt_path={last}"]))


def test_sigterm_leaves_complete_files_and_says_how_to_resume(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "scripts/train.py",
        *FULL[:3],
        "trainer.max_epochs=500",
        f"paths.root_dir={tmp_path}",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not list(tmp_path.glob("logs/train/runs/*/checkpoints/last.ckpt")) and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    (last,) = tmp_path.glob("logs/train/runs/*/checkpoints/last.ckpt")
    assert f"last checkpoint: {last}" in stderr and f"ckpt_path={last}" in stderr
    assert not list(tmp_path.rglob("*.tmp"))  # nothing half-written
    assert not list(tmp_path.glob("logs/train/runs/*/metrics.json"))  # no report of an unfinished run
    torch.load(last, weights_only=True)  # the checkpoint left behind is complete
