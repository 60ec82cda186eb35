"""A trained classifier in use: predict.py on new texts and export.py to ONNX, for both kinds of body."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from headswap.app.precision import BF16, FP32
from headswap.jobs.export import export
from headswap.jobs.predict import Prediction, classify, decided_digits, predict, read_lines
from headswap.run_record import RunRecordError
from headswap.task import Task
from headswap.training.finished_run import load_finished_run, run_precision
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
    assert [r["label"] for r in rows] == ["spam" if r["probability"] > tuned else "ham" for r in rows]
    assert all(set(r["probabilities"]) == {"ham", "spam"} for r in rows)


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
    run.precision = "32"  # the exported model is 32-bit whatever the run trained under
    texts = [SPAM, HAM, "ok", "Final notice: your unclaimed prize expires today. Call now!"]
    batch = run.batch(texts)  # padded to the longest: the mask must do its work in ONNX too
    session = onnxruntime.InferenceSession(str(model_file))
    inputs = {k: batch[k].numpy() for k in ("input_ids", "attention_mask")}
    onnx_probabilities = session.run(["probabilities"], inputs)[0]
    np.testing.assert_allclose(onnx_probabilities, run.probabilities(texts).numpy(), atol=1e-4)


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
        list(read_lines(iter([b"\xff\n"]), "stdin"))


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


def copy_run(run_dir: Path, to: Path) -> Path:
    """A copy of a finished run to change, without its export."""
    shutil.copytree(run_dir, to, ignore=shutil.ignore_patterns("export"))
    return to


def edit_record(run_dir: Path, **changes: object) -> None:
    record = json.loads((run_dir / "metrics.json").read_text())
    (run_dir / "metrics.json").write_text(json.dumps(record | changes))


def three_class_run(tiny_run: Path, to: Path) -> Path:
    """The tiny run given a third class: a 3-way head (a new row of weights) and three labels."""
    run_dir = copy_run(tiny_run, to)
    checkpoint = load_finished_run(run_dir).checkpoint
    state = torch.load(checkpoint, weights_only=True)
    generator = torch.Generator().manual_seed(0)
    for key in ("classifier.head.1.weight", "classifier.head.1.bias"):
        old = state["state_dict"][key]
        state["state_dict"][key] = torch.cat([old, torch.randn(1, *old.shape[1:], generator=generator)])
    torch.save(state, checkpoint)
    record = json.loads((run_dir / "metrics.json").read_text())
    per_class = record["per_class"] | {"other": record["per_class"]["ham"]}
    figures = {k: 0.5 for k in ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")}
    figures["loss"] = 1.0
    record.pop("test_at_val_threshold", None)
    (run_dir / "metrics.json").write_text(json.dumps(record))
    edit_record(
        run_dir,
        labels=["ham", "spam", "other"],
        per_class=per_class,
        monitor="val/macro_f1",
        test={**figures, "ece": None, "brier": None},
        best_val={**figures, "epoch": record["best_val"]["epoch"]},
        confusion_matrix=[[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    )
    return run_dir


def test_predict_imports_no_lightning() -> None:
    """What predict and export load: the plain Classifier, never Lightning (4 s of imports)."""
    check = "import headswap.jobs.predict, headswap.jobs.export, sys; assert 'lightning' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_probabilities_come_back_in_input_order_whatever_the_batches(tiny_run: Path) -> None:
    run = load_finished_run(tiny_run)
    texts = [SPAM, "ok", HAM, "x" * 300, "hi", SPAM + " " + HAM, "a", "Call now!"]
    one_by_one = torch.cat([run.probabilities([t]) for t in texts])  # n x 2
    for batch_size in (1, 3, 64):
        torch.testing.assert_close(run.probabilities(texts, batch_size), one_by_one, atol=1e-5, rtol=0)
    assert torch.allclose(one_by_one.sum(dim=-1), torch.ones(len(texts)))


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_a_file_is_classified_in_batches_printed_as_it_goes(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines are read lazily: a window's results are out before the next window is read, and no batch
    is larger than --batch-size, so memory stays flat in the file's length."""
    from headswap.jobs import predict as predict_job
    from headswap.training.finished_run import FinishedRun

    out, printed_when_read, batch_sizes = io.StringIO(), [], []
    window = 2 * predict_job.WINDOW

    def lines() -> Iterator[bytes]:
        for i in range(3 * window):
            printed_when_read.append(out.getvalue().count("\n"))
            yield f"{SPAM} {i}\n".encode()

    batch_probabilities = FinishedRun.batch_probabilities

    def spy(self: FinishedRun, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        batch_sizes.append(len(batch["input_ids"]))
        return batch_probabilities(self, batch)

    monkeypatch.setattr(FinishedRun, "batch_probabilities", spy)
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=lines()))
    monkeypatch.setattr(sys, "stdout", out)
    assert predict_job.main([str(tiny_run), "--batch-size", "2"]) == 0
    rows = out.getvalue().splitlines()
    assert [row.split("\t")[-1] for row in rows] == [f"{SPAM} {i}" for i in range(3 * window)]
    assert printed_when_read[window + 1] == window and printed_when_read[2 * window + 1] == 2 * window
    assert max(batch_sizes) == 2 and sum(batch_sizes) == 3 * window


def test_a_leading_bom_is_dropped_as_training_drops_it() -> None:
    assert list(read_lines(iter([b"\xef\xbb\xbfhello\r\n", b"\xef\xbb\xbfsecond\n"]), "f")) == [
        "hello",
        "\ufeffsecond",  # only the file's first bytes are a byte-order mark
    ]


def test_the_positive_class_wins_above_the_threshold_as_in_the_metrics() -> None:
    """p > threshold, as torchmetrics' binary metrics count a positive: p == threshold is negative."""
    from torchmetrics.classification import BinaryConfusionMatrix

    probabilities = torch.tensor([[0.5, 0.5], [0.25, 0.75], [0.75, 0.25], [0.4999999, 0.5000001]])
    fake = types.SimpleNamespace(
        task=Task(("ham", "spam")), probabilities=lambda texts, batch_size: probabilities
    )
    labels = [p.label for p in classify(fake, ["a", "b", "c", "d"], 0.5, 64)]  # type: ignore[arg-type]
    confusion = BinaryConfusionMatrix(threshold=0.5)(probabilities[:, 1], torch.ones(4, dtype=torch.long))
    assert labels == ["ham", "spam", "ham", "spam"]
    assert confusion[1].tolist() == [
        labels.count("ham"),
        labels.count("spam"),
    ]  # [fn, tp]


def test_a_printed_threshold_never_rounds_across_the_probability_it_judged() -> None:
    for p, t in ((0.51690, 0.5168973), (0.516896, 0.5168973), (0.5000001, 0.5), (0.75, 0.5)):
        shown_p, shown_t = decided_digits(p, t)
        assert (float(shown_p) > float(shown_t)) == (p > t), (p, t, shown_p, shown_t)
        assert float(shown_t) == t  # the threshold is printed exactly
    assert decided_digits(0.75, 0.5) == ("0.7500", "0.500")


def test_a_text_with_newlines_and_tabs_stays_one_record() -> None:
    text = "line one\nline\ttwo \\ end\r"
    row = Prediction(text, "spam", 0.9, 0.5, {"ham": 0.1, "spam": 0.9}).line()
    assert "\n" not in row and "\r" not in row
    label, probability, threshold, shown = row.split("\t")
    assert shown == "line one\\nline\\ttwo \\\\ end\\r"
    assert shown.encode().decode("unicode_escape") == text


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_predict_with_stdin_closed_fails_in_one_line(tiny_run: Path) -> None:
    proc = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" scripts/predict.py "{tiny_run}" <&-'],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "error: stdin is closed: pass texts as arguments or with --file PATH\n"


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
@pytest.mark.parametrize("how", ["no checkpointing", "deleted"])
def test_a_run_without_its_best_checkpoint_says_why_in_one_line(
    tiny_run: Path, tmp_path: Path, how: str
) -> None:
    run_dir = copy_run(tiny_run, tmp_path / "run")
    record = json.loads((run_dir / "metrics.json").read_text())
    if how == "no checkpointing":  # ~callbacks.model_checkpoint +trainer.enable_checkpointing=false
        shutil.rmtree(run_dir / "checkpoints")
        edit_record(run_dir, best_val=record["best_val"] | {"epoch": None}, checkpoint=None)
        expected = "kept no checkpoint (it trained with trainer.enable_checkpointing=false)"
    else:
        (run_dir / "checkpoints" / f"epoch{record['best_val']['epoch']:03d}.ckpt").unlink()
        expected = "is missing, deleted or moved since training: put it back, or train again"
    for command in (["predict", str(run_dir), SPAM], ["export", str(run_dir)]):
        proc = script(*command)
        assert proc.returncode == 2 and proc.stdout == b"", proc.stderr
        message = proc.stderr.decode()
        assert message.startswith(f"error: {run_dir}") and expected in message and message.count("\n") == 1
        assert "kept none" not in message or how == "no checkpointing"
    assert not (run_dir / "export").exists()


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_a_moved_pretrained_body_says_what_to_do(hf_run: Path, tmp_path: Path) -> None:
    run_dir = copy_run(hf_run, tmp_path / "run")
    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    cfg.body.path = str(tmp_path / "moved-away")
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    for command in (["predict", str(run_dir), SPAM], ["export", str(run_dir)]):
        proc = script(*command)
        message = proc.stderr.decode()
        assert proc.returncode == 2 and message.count("\n") == 1, message
        assert f"pretrained body at {tmp_path / 'moved-away'}, which is no longer there" in message
        assert "put the model folder back at that path, or edit body.path in" in message
        assert "pass" not in message


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_export_follows_the_umask_and_leaves_nothing_when_interrupted(
    tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headswap.jobs import export as export_job

    previous = os.umask(0o022)
    try:
        model_file = export(tiny_run, tmp_path / "ok")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(model_file.stat().st_mode) == 0o644

    def interrupted(module: object, example: object, f: IO[bytes]) -> None:
        f.write(b"half an onnx model")
        raise KeyboardInterrupt

    monkeypatch.setattr(export_job, "write_onnx", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(tiny_run, tmp_path / "interrupted")
    assert list((tmp_path / "interrupted").iterdir()) == []


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_a_three_class_run_predicts_top_k_and_json_and_exports_n_probabilities(
    tiny_run: Path, tmp_path: Path
) -> None:
    import onnxruntime

    run_dir = three_class_run(tiny_run, tmp_path / "run")
    run = load_finished_run(run_dir)
    assert run.labels == ("ham", "spam", "other")
    texts = [SPAM, HAM, "ok"]
    probabilities = run.probabilities(texts)  # 3 x 3
    assert probabilities.shape == (3, 3) and torch.allclose(probabilities.sum(-1), torch.ones(3))

    proc = script("predict", str(run_dir), *texts, "--top-k", "3")
    assert proc.returncode == 0, proc.stderr
    for row, expected in zip(proc.stdout.decode().splitlines(), probabilities.tolist()):
        fields = row.split("\t")
        ranked = sorted(zip(run.labels, expected), key=lambda kv: -kv[1])
        assert fields[0:6:2] == [label for label, _ in ranked]
        assert [float(p) for p in fields[1:6:2]] == pytest.approx([p for _, p in ranked], abs=1e-4)
    proc = script("predict", str(run_dir), SPAM, "--json")
    row = json.loads(proc.stdout)
    assert row["probabilities"] == pytest.approx(dict(zip(run.labels, probabilities[0].tolist())), abs=1e-5)
    assert row["label"] == run.labels[int(probabilities[0].argmax())] and "threshold" not in row
    proc = script("predict", str(run_dir), SPAM)  # the top label and its probability
    assert proc.stdout.decode() == f"{row['label']}\t{row['probability']:.4f}\t{SPAM}\n"

    model_file = export(run_dir)
    assert json.loads((model_file.parent / "preprocessing.json").read_text())["labels"] == [
        "ham",
        "spam",
        "other",
    ]
    batch = run.batch(texts)
    session = onnxruntime.InferenceSession(str(model_file))
    onnx = session.run(["probabilities"], {k: batch[k].numpy() for k in ("input_ids", "attention_mask")})[0]
    np.testing.assert_allclose(onnx, probabilities.numpy(), atol=1e-4)


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_a_stored_temperature_divides_the_logits_in_predict_and_export(
    tiny_run: Path, tmp_path: Path
) -> None:
    import onnxruntime

    run_dir = copy_run(tiny_run, tmp_path / "run")
    fitted = {"temperature": 2.5, "fitted": 2.5, "applied": True, "ece_before": 0.1, "ece_after": 0.05}
    fitted |= {"brier_before": 0.3, "brier_after": 0.2}
    edit_record(run_dir, calibration=fitted)
    run = load_finished_run(run_dir)
    texts = [SPAM, HAM]
    batch = run.batch(texts)
    with torch.no_grad():
        logits = run.classifier(batch["input_ids"], batch["attention_mask"])  # 2 x 2
    torch.testing.assert_close(run.probabilities(texts), (logits / 2.5).softmax(-1), atol=1e-6, rtol=0)
    assert not torch.allclose(run.probabilities(texts), logits.softmax(-1), atol=1e-3)
    session = onnxruntime.InferenceSession(str(export(run_dir)))
    onnx = session.run(["probabilities"], {k: batch[k].numpy() for k in ("input_ids", "attention_mask")})[0]
    np.testing.assert_allclose(onnx, run.probabilities(texts).numpy(), atol=1e-4)
    edit_record(run_dir, calibration={**fitted, "temperature": "hot"})
    with pytest.raises(RunRecordError, match="key 'calibration.temperature' is 'hot'"):
        load_finished_run(run_dir)
    edit_record(run_dir, calibration={**fitted, "temperature": -1.0})
    with pytest.raises(RunRecordError, match="key 'calibration.temperature' is -1.0"):
        load_finished_run(run_dir)


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_predict_onnx_runs_the_exported_model(tiny_run: Path, tmp_path: Path) -> None:
    run_dir = copy_run(tiny_run, tmp_path / "run")
    proc = script("predict", str(run_dir), "--onnx", SPAM)
    assert proc.returncode == 2 and "export the run first (python scripts/export.py" in proc.stderr.decode()
    export(run_dir)
    onnx = script("predict", str(run_dir), "--onnx", "--json", SPAM, HAM)
    torch_rows = script("predict", str(run_dir), "--json", SPAM, HAM)
    for a, b in zip(onnx.stdout.decode().splitlines(), torch_rows.stdout.decode().splitlines()):
        assert json.loads(a)["probability"] == pytest.approx(json.loads(b)["probability"], abs=1e-4)


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_the_int8_export_reports_its_f1_change_on_the_test_split(tiny_run: Path, tmp_path: Path) -> None:
    run_dir = copy_run(tiny_run, tmp_path / "run")
    proc = script("export", str(run_dir), "--int8")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((run_dir / "export" / "preprocessing.json").read_text())["int8"]
    record = json.loads((run_dir / "metrics.json").read_text())
    assert (run_dir / "export" / "model.int8.onnx").is_file() and report["model"] == "model.int8.onnx"
    assert report["metric"] == "f1" and report["texts"] == sum(record["data"]["sizes"]["test"].values())
    assert report["fp32"] == pytest.approx(record["test"]["f1"], abs=1e-4)  # the run's own test split
    assert report["change"] == pytest.approx(report["int8"] - report["fp32"])
    assert 0 < report["max_probability_difference"] < 0.2
    assert f"test f1 {report['fp32']:.4f} -> {report['int8']:.4f}" in proc.stdout.decode()
    assert script("export", str(run_dir)).returncode == 0  # again, without --int8: the files must agree
    assert "int8" not in json.loads((run_dir / "export" / "preprocessing.json").read_text())
    assert not (run_dir / "export" / "model.int8.onnx").exists()


def test_run_precision_is_what_the_run_trained_under_not_what_resolves_here() -> None:
    automatic = OmegaConf.create({"trainer": {"precision": "${auto_precision:cpu,true}"}})
    assert run_precision(automatic, {"cost": {"precision": "bf16-mixed"}}) == (BF16, None)  # type: ignore[arg-type]
    assert run_precision(automatic, {"cost": {"precision": "32-true"}}) == (FP32, None)  # type: ignore[arg-type]


def test_run_precision_uses_bf16_only_for_a_plain_bf16_setting() -> None:
    assert run_precision(OmegaConf.create({"trainer": {"precision": "bf16-mixed"}})) == (BF16, None)
    assert run_precision(OmegaConf.create({"trainer": {"precision": "bf16"}})) == (BF16, None)
    assert run_precision(OmegaConf.create({"trainer": {"precision": 32}})) == (FP32, None)
    assert run_precision(OmegaConf.create({"trainer": {}})) == (FP32, None)
    unresolved = run_precision(OmegaConf.create({"trainer": {"precision": "${no_such_resolver:}"}}))
    assert unresolved[0] == FP32 and "does not resolve here: predicting in 32-bit" in str(unresolved[1])
    odd = run_precision(OmegaConf.create({"trainer": {"precision": "16-mixed"}}))
    assert odd[0] == FP32 and "16-mixed" in str(odd[1])


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_a_bf16_run_predicts_under_autocast_close_to_32_bit(tiny_run: Path) -> None:
    run = load_finished_run(tiny_run)
    texts = [SPAM, HAM, "ok"]
    fp32 = run.probabilities(texts)
    run.precision = BF16
    bf16 = run.probabilities(texts)
    assert bf16.dtype == torch.float32 and not torch.equal(bf16, fp32)
    torch.testing.assert_close(bf16, fp32, atol=0.05, rtol=0)


def test_top_k_of_two_classes_puts_the_decided_label_first() -> None:
    """With a tuned threshold the positive class may win below 0.5: --top-k follows the same decision."""
    decided = Prediction("a text", "spam", 0.1188, 0.1146, {"ham": 0.8812, "spam": 0.1188})
    assert decided.line(top_k=1).split("\t")[:2] == ["spam", "0.1188"]
    assert decided.line(top_k=2).split("\t")[:4] == ["spam", "0.1188", "ham", "0.8812"]
    many = Prediction("t", "b", 0.5, None, {"a": 0.2, "b": 0.5, "c": 0.3})
    assert many.line(top_k=3).split("\t")[:6] == ["b", "0.5000", "c", "0.3000", "a", "0.2000"]


def test_a_label_with_a_tab_or_newline_keeps_one_line_per_text() -> None:
    odd = Prediction("a text", "sp\tam\n", 0.9, 0.5, {"ham": 0.1, "sp\tam\n": 0.9})
    for line in (odd.line(), odd.line(top_k=2)):
        assert "\n" not in line and line.startswith("sp\\tam\\n\t")
    assert len(odd.line().split("\t")) == 4  # label, probability, threshold, text


@pytest.mark.parametrize("command", ["predict", "export", "serve"])
def test_a_folder_that_does_not_exist_is_named(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nonexistent"
    proc = script(command, str(missing), *(["x"] if command == "predict" else []))
    assert proc.returncode == 2
    message = proc.stderr.decode()
    assert message.startswith(f"error: {missing}: no such folder") and message.count("\n") == 1


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_a_text_argument_that_is_not_utf8_is_named_with_its_byte(tiny_run: Path) -> None:
    cmd = [sys.executable.encode(), b"scripts/predict.py", str(tiny_run).encode(), b"ok", b"caf\xe9"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == b""
    message = proc.stderr.decode()
    assert "text argument 2 is not UTF-8 (byte 0xe9 at character 4)" in message and "--file" in message
    assert message.count("\n") == 1


@pytest.mark.slow  # trains a run in a subprocess (module fixture)
def test_ctrl_c_on_predict_exits_130_with_what_it_printed_complete(tiny_run: Path) -> None:
    """A long input, interrupted once some windows are out: exit 130, one line saying so, no traceback,
    and every printed line a whole prediction."""
    cmd = [sys.executable, "scripts/predict.py", str(tiny_run), "--batch-size", "4"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{SPAM}\n".encode() * 200)
    proc.stdin.flush()
    first = proc.stdout.readline()  # the first window is out: predict is working
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert b"Traceback" not in err and err.decode().strip().endswith("interrupted by SIGINT: exit 130")
    lines = (first + rest).decode().splitlines()
    assert lines and all(line.split("\t")[-1] == SPAM and len(line.split("\t")) == 4 for line in lines)
