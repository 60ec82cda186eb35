"""A finished run that travels: ``export --bundle`` holds what predict and serve need, and nothing else;
on another machine (here: with the run folder and the model folder gone) it predicts as the run did."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from headswap.errors import DataError
from headswap.io import safe_load
from headswap.training.bundle import write_bundle
from headswap.training.finished_run import load_finished_run
from tests.hf_models import write_tiny_bert

from .conftest import ROOT, run_train_script

pytestmark = pytest.mark.slow  # trains runs in subprocesses (module fixtures)

TEXTS = ["WIN a FREE prize now", "are we still on for dinner", "call me"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    overrides = ("data.source.n_per_class=40", "pretrain.epochs=1", "trainer.max_epochs=2")
    return run_train_script(tmp_path_factory.mktemp("tiny"), *overrides)


@pytest.fixture(scope="module")
def hf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("hf")
    bert = write_tiny_bert(tmp / "tiny-bert")
    overrides = ("body=hf", f"body.path={bert}", "data.source.n_per_class=20", "trainer.max_epochs=1")
    return run_train_script(tmp, *overrides), bert


def predict(run: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "scripts/predict.py", str(run), "--json", *TEXTS]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_bundle_holds_the_weights_config_and_record_and_nothing_else(tiny: Path, tmp_path: Path) -> None:
    bundle = write_bundle(tiny, tmp_path / "bundle")
    files = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    (checkpoint,) = [f for f in files if f.endswith(".ckpt")]
    assert files == {".hydra/config.yaml", "metrics.json", checkpoint}
    state = safe_load(bundle / checkpoint)
    assert set(state) == {"state_dict"}  # no optimizer state, no loops' counters
    expected = load_finished_run(tiny).probabilities(TEXTS)
    assert torch.equal(load_finished_run(bundle).probabilities(TEXTS), expected)


def test_a_packed_bundle_predicts_as_the_run_did_with_the_run_gone(tiny: Path, tmp_path: Path) -> None:
    before = predict(tiny)
    run = tmp_path / "run"
    shutil.copytree(tiny, run)
    packed = write_bundle(run, tmp_path / "elsewhere" / "classifier.tar.gz")
    shutil.rmtree(run)
    after = predict(packed)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout


def test_a_pretrained_body_travels_inside_its_bundle(hf: tuple[Path, Path], tmp_path: Path) -> None:
    run, bert = hf
    before = predict(run)
    model = tmp_path / "model"
    shutil.copytree(bert, model)  # the run trained on a copy we can take away
    moved = tmp_path / "run"
    shutil.copytree(run, moved)
    config = moved / ".hydra" / "config.yaml"
    config.write_text(config.read_text().replace(str(bert), str(model)))
    packed = write_bundle(moved, tmp_path / "out" / "bert.tgz")
    shutil.rmtree(model)  # the model folder is not on the next machine
    after = predict(packed)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout


def test_a_bundle_never_overwrites(tiny: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(DataError):
        write_bundle(tiny, tmp_path / "taken")
    assert not any((tmp_path / "taken").iterdir())


def test_a_file_that_is_not_a_bundle_is_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "run.tar.gz"
    fake.write_text("not a tar file")
    proc = predict(fake)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and str(fake) in proc.stderr
