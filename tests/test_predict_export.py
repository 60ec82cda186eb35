"""A trained classifier in use: predict.py on new texts and export.py to ONNX, for both kinds of body."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from headswap.jobs.export import export
from headswap.jobs.predict import predict, read_lines
from headswap.training.finished_run import load_finished_run
from tests.conftest import ROOT, run_train_script
from tests.hf_models import write_tiny_bert

pytestmark = pytest.mark.slow  # a trained run, and predict/export as scripts

SPAM, HAM = "WINNER!! Claim your free prize now", "Hey Sam, are we still on for dinner tonight?"


def script(name: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, f"scripts/{name}.py", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, input=stdin, timeout=300)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny body fine-tuned on the default fixture (its openings: adverts are spam, chat is ham)."""
    tmp = tmp_path_factory.mktemp("tiny")
    overrides = ("data.source.n_per_class=100", "pretrain.epochs=1", "regime=full", "trainer.max_epochs=3")
    return run_train_script(tmp, *overrides)


@pytest.fixture(scope="module")
def hf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT through body=hf: the whole pretrained-body path in seconds."""
    tmp = tmp_path_factory.mktemp("hf")
    bert = write_tiny_bert(tmp / "tiny-bert")
    return run_train_script(
        tmp, "body=hf", f"body.path={bert}", "data.source.n_per_class=20", "trainer.max_epochs=1"
    )


def test_predict_script_labels_spam_and_ham_with_probability_and_threshold(tiny_run: Path) -> None:
    proc = script("predict", str(tiny_run), SPAM, HAM)
    assert proc.returncode == 0, proc.stderr
    spam, ham = proc.stdout.decode().splitlines()
    label, probability, threshold, text = spam.split("\t")
    assert (label, text, threshold) == ("spam", SPAM, "(threshold 0.500)") and float(probability) > 0.5
    assert ham.startswith("ham\t") and float(ham.split("\t")[1]) < 0.5


def test_predict_reads_stdin_and_prints_json_lines_at_the_tuned_threshold(tiny_run: Path) -> None:
    proc = script(
        "predict", str(tiny_run), "--json", "--tuned-threshold", stdin=f"{SPAM}\n\n{HAM}\n".encode()
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    tuned = json.loads((tiny_run / "metrics.json").read_text())["test_at_val_threshold"]["threshold"]
    assert [r["text"] for r in rows] == [SPAM, HAM]  # the blank line is skipped
    assert all(r["threshold"] == tuned for r in rows)
    assert [r["label"] for r in rows] == ["spam" if r["probability"] >= tuned else "ham" for r in rows]


def test_predictions_equal_the_runs_own_test_probabilities(tiny_run: Path) -> None:
    """The loaded checkpoint is the best epoch's: a text scores as it did in training's evaluation."""
    run = load_finished_run(tiny_run)
    assert run.checkpoint.name == f"epoch{run.record['best_val']['epoch']:03d}.ckpt"
    batch_of_one = predict(tiny_run, [SPAM])[0].probability
    assert predict(tiny_run, [SPAM, HAM, "x" * 500])[0].probability == pytest.approx(batch_of_one, abs=1e-6)


@pytest.mark.parametrize("kind", ["tiny", "hf"])
def test_onnx_export_gives_the_checkpoints_probabilities(kind: str, tiny_run: Path, hf_run: Path) -> None:
    import onnxruntime

    run_dir = {"tiny": tiny_run, "hf": hf_run}[kind]
    model_file = export(run_dir)
    assert model_file == run_dir / "export" / "model.onnx"
    settings = json.loads((model_file.parent / "preprocessing.json").read_text())
    assert settings["labels"] == ["ham", "spam"] and settings["threshold"] == 0.5
    assert (model_file.parent / "tokenizer").is_dir() == (kind == "hf")
    run = load_finished_run(run_dir)
    texts = [SPAM, HAM, "ok", "Final notice: your unclaimed prize expires today. Call now!"]
    batch = run.batch(texts)  # padded to the longest: the mask must do its work in ONNX too
    session = onnxruntime.InferenceSession(str(model_file))
    inputs = {k: batch[k].numpy() for k in ("input_ids", "attention_mask")}
    onnx_probabilities = session.run(["probabilities"], inputs)[0][:, 1]
    np.testing.assert_allclose(onnx_probabilities, run.positive_probabilities(texts), atol=1e-4)


def test_hf_body_run_names_its_body_and_predicts(hf_run: Path) -> None:
    record = json.loads((hf_run / "metrics.json").read_text())
    assert record["body"] == "tiny-bert" and record["pretrained_body"]["lm_pretraining"] is False
    assert not (hf_run.parent / ".cache").exists()  # no LM pre-training, nothing cached
    (prediction,) = predict(hf_run, [SPAM])
    assert prediction.label in ("ham", "spam") and 0.0 <= prediction.probability <= 1.0


def test_predict_input_that_is_not_utf8_fails_in_one_line(tiny_run: Path, tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_bytes(b"fine\nnot \xe9 utf-8\n")
    proc = script("predict", str(tiny_run), "--file", str(texts))
    assert proc.returncode == 2 and proc.stdout == b""
    assert (
        proc.stderr.decode()
        == f"error: {texts}: line 2 is not UTF-8 (byte 0xe9 at column 5): save the file as UTF-8\n"
    )
    with pytest.raises(ValueError, match="stdin: line 1 is not UTF-8"):
        read_lines(iter([b"\xff\n"]), "stdin")  # type: ignore[arg-type]


def test_a_folder_that_is_not_a_finished_run_fails_in_one_line(tmp_path: Path) -> None:
    proc = script("predict", str(tmp_path), "hello")
    assert proc.returncode == 2 and proc.stdout == b""
    message = (
        f"{tmp_path} is not a finished run: config.yaml is missing; pass a folder that "
        "scripts/train.py wrote, such as logs/train/runs/<time>"
    )
    assert proc.stderr.decode() == f"error: {message}\n"
    with pytest.raises(FileNotFoundError) as raised:
        export(tmp_path)
    assert str(raised.value) == message
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_checkpoint_that_does_not_fit_its_config_fails_in_one_line(tiny_run: Path, tmp_path: Path) -> None:
    changed = tmp_path / "run"
    shutil.copytree(tiny_run, changed, ignore=shutil.ignore_patterns("export"))
    cfg = OmegaConf.load(changed / ".hydra" / "config.yaml")
    cfg.body.model.d_model = 32  # as if the config had been edited after training
    OmegaConf.save(cfg, changed / ".hydra" / "config.yaml")
    with pytest.raises(ValueError) as raised:
        export(changed)
    message = str(raised.value)
    assert (
        message.startswith(f"checkpoint {changed / 'checkpoints'}") and "does not fit this model" in message
    )
    assert "\n" not in message and not (changed / "export").exists()
