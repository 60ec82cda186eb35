"""Two processes on the CPU (gloo): the synced test metrics equal a one-process evaluation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.utils import instantiate

from headswap.io import safe_load
from headswap.scoring import score
from headswap.training.build import build_datamodule
from headswap.training.evaluation import split_logits

from .conftest import ROOT, TINY, compose_cfg

pytestmark = pytest.mark.slow  # two processes under DDP

OVERRIDES = [*TINY[:2], "regime=partial", "trainer.max_epochs=2", "trainer.enable_progress_bar=false"]


def test_ddp_cpu_metrics_equal_single_process_evaluation(tmp_path: Path) -> None:
    cmd = [sys.executable, "scripts/train.py", "trainer=ddp_cpu", *OVERRIDES, f"paths.root_dir={tmp_path}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (metrics_file,) = tmp_path.glob("logs/train/runs/*/metrics.json")  # one report, from rank 0
    ddp = json.loads(metrics_file.read_text())
    best = metrics_file.parent / "checkpoints" / f"epoch{ddp['best_val']['epoch']:03d}.ckpt"

    cfg = compose_cfg(tmp_path, OVERRIDES)
    dm = build_datamodule(cfg)
    model = instantiate(cfg.model, body=instantiate(cfg.body.model), task=dm.task)
    model.load_state_dict(safe_load(best)["state_dict"])
    test = split_logits(model.classifier, dm.test_dataloader(), model.device)
    single = score(test.logits, test.labels, dm.task)

    assert ddp["confusion_matrix"] == single.confusion_matrix
    assert sum(map(sum, ddp["confusion_matrix"])) == 16  # every test example once
    for metric in ("precision", "recall", "f1", "accuracy", "roc_auc", "pr_auc"):
        assert ddp["test"][metric] == pytest.approx(single.figures[metric], abs=1e-5), metric
