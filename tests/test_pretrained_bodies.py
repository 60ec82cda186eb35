"""body=minilm, the packaged all-MiniLM-L6-v2: trained from the command line and used, offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from headswap.jobs import pretrain, train
from headswap.jobs.predict import predict
from tests.conftest import ROOT, compose_cfg, run_train_script
from tests.hf_models import write_tiny_bert

pytestmark = pytest.mark.slow  # MiniLM and HF bodies trained end to end

SPAM, HAM = "WINNER!! Claim your free prize now", "Hey Sam, are we still on for dinner tonight?"
QUICK = ("trainer.max_epochs=2", "trainer.enable_progress_bar=false")


@pytest.fixture(scope="module")
def minilm_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Head-only on 40 fixture texts: MiniLM's features separate adverts from chat after a few epochs."""
    tmp = tmp_path_factory.mktemp("minilm")
    return run_train_script(tmp, "body=minilm", "data.source.n_per_class=20", "trainer.max_epochs=4")


def test_minilm_run_names_its_body_and_skips_lm_pretraining(minilm_run: Path) -> None:
    record = json.loads((minilm_run / "metrics.json").read_text())
    assert record["body"] == "all-MiniLM-L6-v2" and record["regime"] == "head"
    assert record["pretrained_body"]["lm_pretraining"] is False
    assert record["params"]["trainable"] == 384 * 2 + 2  # the head alone: the encoder is frozen
    assert record["params"]["total"] == 22_565_376 + record["params"]["trainable"]
    assert not (minilm_run.parent / ".cache").exists()  # nothing pre-trained, nothing cached


def test_predict_with_minilm_says_spam_and_ham(minilm_run: Path) -> None:
    spam, ham = predict(minilm_run, [SPAM, HAM])
    assert (spam.label, ham.label) == ("spam", "ham")
    assert spam.probability > 0.5 > ham.probability and spam.threshold == 0.5


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("body.path=null", "error: body.path is not set"),
        ("body.path={weightless}", "error: body.path={weightless}: no weights there"),
    ],
)
def test_hf_body_without_a_model_fails_in_one_line_and_writes_nothing(
    tmp_path: Path, override: str, message: str
) -> None:
    weightless = tmp_path / "weightless"
    weightless.mkdir()
    (weightless / "config.json").write_text('{"model_type": "bert", "hidden_size": 16}')
    cmd = [
        sys.executable,
        "scripts/train.py",
        "body=hf",
        override.format(weightless=weightless),
        f"paths.root_dir={tmp_path}",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith(message.format(weightless=weightless)) and proc.stderr.count("\n") == 1
    assert not (tmp_path / "run").exists()  # a refused run leaves no folder, not even Hydra's record
    assert not (tmp_path / ".cache").exists()


def test_pretrain_job_refuses_a_body_that_arrives_pretrained(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, ["body=minilm"], config_name="pretrain")
    with pytest.raises(ValueError, match="body all-MiniLM-L6-v2 arrives pretrained"):
        pretrain.run(cfg)


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.mark.parametrize(
    ("regime", "pool", "trained"),
    [
        ("partial", "cls", ["blocks.1"]),  # norm is empty in a post-norm encoder: nothing else to train
        ("gradual", "attention", ["blocks.1"]),  # the last layer joins at epoch 1 (of 2)
        ("lora", "mean", ["blocks.0", "blocks.1"]),  # the adapters in both layers
        ("full", "max", ["embed", "blocks.0", "blocks.1"]),
    ],
)
def test_every_regime_and_pool_runs_on_an_hf_body(
    tmp_path: Path, bert_dir: Path, regime: str, pool: str, trained: list[str]
) -> None:
    overrides = [f"body.path={bert_dir}", f"regime={regime}", f"pool={pool}", "regime.unfreeze.0.epoch=1"]
    if regime != "gradual":
        overrides.pop()
    cfg = compose_cfg(tmp_path, ["body=hf", "data.source.n_per_class=20", *QUICK, *overrides])
    record = train.run(cfg)
    assert (record["body"], record["regime"], record["pool"]) == (bert_dir.name, regime, pool)
    assert record["params"]["body_trainable_parts"] == trained
