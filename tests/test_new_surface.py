"""Cases a user met on the newer commands: each now has its expected outcome (issue 22)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from headswap.app.launch import remove_if_unused
from headswap.jobs import pretrain, train
from headswap.training.announce import announce, settings_line
from headswap.training.build import build_datamodule

from .conftest import ROOT, TINY, compose_cfg, run_train_script


def test_tiny_body_without_lm_pretraining_trains_from_random_weights(tmp_path: Path, capsys) -> None:
    record = train.run(compose_cfg(tmp_path, [*TINY, "body.lm_pretraining=false"]))
    assert record["pretrained_body"]["lm_pretraining"] is False
    out = capsys.readouterr().out
    assert "epochs=2 fine-tuning (no LM pre-training)" in out and "pre-training +" not in out
    assert "none: body.lm_pretraining=false (the body starts from random weights)" in out
    assert not (tmp_path / ".cache" / "headswap" / "bodies").exists()  # nothing was pre-trained


def test_pretrain_job_does_not_say_the_tiny_body_arrives_pretrained(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, [*TINY, "body.lm_pretraining=false"], config_name="pretrain")
    with pytest.raises(
        ValueError, match=r"^body tiny starts from random weights \(body.lm_pretraining=false\)"
    ):
        pretrain.run(cfg)


def test_settings_line_names_the_body_by_its_name(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, [*TINY, "body.name=foo"])
    assert " body=foo " in settings_line(cfg, build_datamodule(cfg))


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


def test_a_split_warning_is_printed_once(tmp_path: Path, capsys, caplog: pytest.LogCaptureFixture) -> None:
    rows = [f"ham {i}\tham" for i in range(300)] + ["WIN a prize, call now\tspam"] * 70
    rows += [f"spam {i}\tspam" for i in range(30)]
    data = tmp_path / "dominant.tsv"
    data.write_text("text\tlabel\n" + "\n".join(rows) + "\n")
    cfg = compose_cfg(tmp_path, ["data=csv", f"data.path={data}", "data.max_len=32"])
    with caplog.at_level(logging.WARNING):
        announce(cfg, build_datamodule(cfg))
    captured = capsys.readouterr()
    said = captured.out + captured.err + caplog.text
    assert said.count("one text makes up") == 1


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
