"""End-to-end: the Hydra configs composed as the scripts compose them, run on tiny settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException, MissingConfigException
from hydra.utils import instantiate
from rich.console import Console

from headswap.app.runtime import seed_everything
from headswap.io import load_state_dict
from headswap.jobs import demo, pretrain, train
from headswap.jobs.demo import comparison_table
from headswap.lit import LMPretrainModule
from headswap.training.announce import settings_line
from headswap.training.bodies import pretrained_body
from headswap.training.build import build_datamodule

from .conftest import ROOT, TINY, assert_refused, compose_cfg


def test_train_writes_metrics_json_and_prints_the_report(tiny_cfg, capsys) -> None:
    result = train.run(tiny_cfg)
    saved = json.loads((Path(tiny_cfg.paths.output_dir) / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert saved["regime"] == "head" and saved["pool"] == "mean" and saved["seed"] == 0
    assert set(saved["test"]) >= {"precision", "recall", "f1", "accuracy", "pr_auc", "roc_auc"}
    (tn, fp), (fn, tp) = saved["confusion_matrix"]
    assert tn + fp + fn + tp == 16  # the tiny fixture's test part: 20% of 80
    assert saved["test"]["accuracy"] == pytest.approx((tn + tp) / 16, abs=1e-6)
    assert saved["params"]["trainable"] == 130 and saved["params"]["total"] > 100_000
    assert saved["cost"]["epochs"] == 2 and saved["cost"]["train_seconds"] > 0
    assert saved["cost"]["precision"] == "32-true"  # the tiny body trains in fp32 on any hardware
    out = capsys.readouterr().out
    for word in ("precision", "recall", "f1", "true spam", "pred ham", "trainable / total", "train time"):
        assert word in out
    assert (Path(tiny_cfg.paths.output_dir) / "csv" / "metrics.csv").exists()


def test_report_says_cost_was_not_measured_without_the_cost_monitor(tmp_path: Path, capsys) -> None:
    result = train.run(compose_cfg(tmp_path, [*TINY, "~callbacks.cost_monitor"]))
    assert result["cost"] == {}
    assert "not measured: the cost_monitor callback was removed" in capsys.readouterr().out


def test_demo_table_shows_macro_f1_for_n_classes() -> None:
    result = {
        "labels": ["alarm", "music", "weather"],
        "test": {"macro_f1": 0.8125, "accuracy": 0.875, "weighted_f1": 0.8333},
        "params": {"trainable": 130, "total": 1000},
        "cost": {"train_seconds": 2.0},
    }
    console = Console(record=True, width=200)
    console.print(comparison_table({"head": result}, wall_seconds=1.0))
    text = console.export_text()
    assert "test macro_f1" in text and "0.8125" in text and "0.8750" in text


def test_demo_table_without_costs_says_so() -> None:
    result = {
        "labels": ["ham", "spam"],
        "test": {"f1": 0.9, "precision": 0.9, "recall": 0.9},
        "params": {"trainable": 130, "total": 1000},
        "cost": {},
    }
    console = Console(record=True, width=200)
    console.print(comparison_table({"head": result}, wall_seconds=1.0))
    assert "not measured" in console.export_text()


def test_same_command_twice_gives_identical_metrics(tmp_path: Path) -> None:
    """The first run pre-trains, the second loads the cache: both must agree exactly."""
    overrides = [*TINY, "regime=partial"]
    first = train.run(compose_cfg(tmp_path, overrides))
    torch.manual_seed(12345)  # disturb the global RNG: the seed must reset it
    second = train.run(compose_cfg(tmp_path, overrides, output="run2"))
    assert first["pretrained_body"]["cached"] is False and second["pretrained_body"]["cached"] is True
    assert first["test"] == second["test"] and first["best_val"] == second["best_val"]
    # pre-training is a cost of the run that does it; a cached body costs nothing (its making is recorded)
    assert first["cost"]["pretrain_seconds"] == first["pretrained_body"]["seconds"] > 0
    assert second["cost"]["pretrain_seconds"] == 0.0
    assert second["pretrained_body"]["seconds"] == first["pretrained_body"]["seconds"]


def test_seed_zero_is_a_seed() -> None:
    torch.manual_seed(999)
    seed_everything(0)
    assert torch.initial_seed() == 0
    seed_everything(None)  # null leaves the RNG alone
    assert torch.initial_seed() == 0


def test_pretrained_body_is_loaded_not_reinitialised(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, TINY)
    dm = build_datamodule(cfg)
    body, info = pretrained_body(cfg, dm)
    model = instantiate(cfg.model, body=body)
    reference = instantiate(cfg.body.model)
    load_state_dict(reference, info["path"])
    assert all(
        torch.equal(a, b) for a, b in zip(reference.state_dict().values(), model.body.state_dict().values())
    )
    again, info2 = pretrained_body(cfg, dm)
    assert info2["cached"] and info2["path"] == info["path"]
    assert all(
        torch.equal(a, b) for a, b in zip(again.state_dict().values(), model.body.state_dict().values())
    )


def test_pretraining_sees_training_texts_only_and_lowers_the_loss(tmp_path: Path, monkeypatch) -> None:
    cfg = compose_cfg(tmp_path, [*TINY, "pretrain.epochs=3"])
    dm = build_datamodule(cfg)
    seen: set[tuple[int, ...]] = set()
    original = LMPretrainModule.training_step

    def spy(self, batch, batch_idx):
        for ids, mask in zip(batch["input_ids"], batch["attention_mask"]):
            seen.add(tuple(ids[mask.bool()].tolist()))
        return original(self, batch, batch_idx)

    monkeypatch.setattr(LMPretrainModule, "training_step", spy)
    _, info = pretrained_body(cfg, dm)
    train_ids = {tuple(x.tolist()) for x in dm.parts["train"].ids}
    assert seen == train_ids
    assert info["val_loss_after"] < info["val_loss_before"]


def test_pretrain_cache_key_follows_what_determines_the_body(tmp_path: Path) -> None:
    paths = {}
    variants = {
        "base": [],
        "seed": ["seed=7"],
        "bidirectional": ["body.model.causal=false"],
        "ptseed": ["pretrain.seed=1"],
        "split": ["data.split_seed=1"],
    }
    for name, extra in variants.items():
        cfg = compose_cfg(tmp_path, [*TINY, *extra])
        paths[name] = pretrained_body(cfg, build_datamodule(cfg))[1]["path"]
    assert paths["seed"] == paths["base"]  # training seeds share one body
    assert paths["bidirectional"] == paths["base"]  # pre-training is causal either way
    assert paths["ptseed"] != paths["base"] and paths["split"] != paths["base"]


def test_pretrain_job_reports_loss_before_and_after(tmp_path: Path, capsys) -> None:
    cfg = compose_cfg(tmp_path, TINY, config_name="pretrain")
    info = pretrain.run(cfg)
    cells = [line.replace("│", " ").split() for line in capsys.readouterr().out.splitlines()]
    rows = {c[0]: c[1:] for c in cells if c[:1] in (["before"], ["after"])}
    assert rows["before"] == [f"{info['val_loss_before']:.4f}", f"{info['val_perplexity_before']:.2f}"]
    assert rows["after"] == [f"{info['val_loss_after']:.4f}", f"{info['val_perplexity_after']:.2f}"]
    assert info["val_loss_after"] < info["val_loss_before"]
    body = instantiate(cfg.body.model)  # the written body loads into the configured shape
    load_state_dict(body, info["path"])
    again = pretrain.run(cfg)  # a second run loads the same file instead of pre-training
    assert (
        again["cached"]
        and again["path"] == info["path"]
        and again["val_loss_after"] == info["val_loss_after"]
    )


def test_demo_trains_head_then_full_from_one_body(tmp_path: Path, capsys) -> None:
    results = demo.run(compose_cfg(tmp_path, TINY, config_name="demo"))
    assert list(results) == ["head", "full"]
    assert results["head"]["params"]["trainable"] < results["full"]["params"]["trainable"]
    assert results["head"]["pretrained_body"]["path"] == results["full"]["pretrained_body"]["path"]
    assert "regimes side by side" in capsys.readouterr().out
    assert (tmp_path / "run" / "full" / "metrics.json").exists()


def test_unknown_regime_lists_the_valid_choices(tmp_path: Path) -> None:
    with pytest.raises(MissingConfigException, match="regime/nonsense") as err:
        compose_cfg(tmp_path, ["regime=nonsense"])
    assert {"head", "partial", "full"} <= set(err.value.options)


LIGHTNING_NOISE = (
    "GPU available",
    "TPU available",
    "litlogger",
    "Tip",
    "Restoring states",
    "Loaded model weights",
)


@pytest.mark.slow
def test_train_script_output_is_settings_split_progress_and_report(tmp_path: Path) -> None:
    """What a user reads: the settings line, the split, progress of both stages, the perplexity before
    and after pre-training, the report; none of Lightning's info lines."""
    cmd = [sys.executable, "scripts/train.py", "regime=full", f"paths.root_dir={tmp_path}", *TINY[:3]]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    output = proc.stdout + proc.stderr
    settings = proc.stdout.splitlines()[0]
    assert (
        settings.startswith("run: data=fixture (80 rows)")
        and "epochs=1 pre-training + 2 fine-tuning" in settings
    )
    said = dict(word.split("=", 1) for word in settings.split() if "=" in word and "(" not in word)
    expected = {"max_len": "32", "body": "tiny", "regime": "full", "pool": "mean", "schedule": "constant"}
    assert (
        said.items() >= {**expected, "seed": "0", "precision": "32-true", "group_by_length": "true"}.items()
    )
    assert "spam rate" in output and "split" in output
    assert "Epoch 0/0" in output and "Epoch 1/1" in output  # pre-training's 1 epoch, fine-tuning's 2
    assert "pre-trained body: validation perplexity" in output and "pre-training time" in output
    assert "regime=full" in proc.stdout and "true spam" in proc.stdout
    assert [noise for noise in LIGHTNING_NOISE if noise in output] == []
    (metrics,) = (tmp_path / "logs" / "train" / "runs").glob("*/metrics.json")
    record = json.loads(metrics.read_text())
    assert record["regime"] == "full" and record["data"]["sizes"]["test"] == {"ham": 8, "spam": 8}


@pytest.mark.slow
def test_unknown_regime_on_the_command_line(tmp_path: Path) -> None:
    cmd = [sys.executable, "scripts/train.py", "regime=nonsense", f"paths.root_dir={tmp_path}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "Could not find 'regime/nonsense'" in proc.stderr
    for choice in ("full", "head", "partial"):
        assert f"\t{choice}" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "key", "fix"),
    [
        ("regime.head_lr=-1", "regime.head_lr", "must be > 0"),
        ("body.model.n_heads=3", "body.model.n_heads", "pick a head count that divides the hidden size"),
        ("data.max_len=64", "data.max_len", "lower data.max_len"),
    ],
)
def test_bad_config_value_ends_in_one_line_before_training(
    tmp_path: Path, override: str, key: str, fix: str
) -> None:
    cmd = [
        sys.executable,
        "scripts/train.py",
        override,
        "body.model.max_len=32",
        f"paths.root_dir={tmp_path}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {key}=") and proc.stderr.count("\n") == 1 and fix in proc.stderr
    assert not (tmp_path / ".cache").exists()  # stopped before pre-training


@pytest.mark.parametrize(
    ("override", "key", "fix"),
    [
        ("seed=-1", "seed", "an integer from 0 to 4294967295, or null"),
        ("seed=abc", "seed", "an integer from 0 to 4294967295, or null"),
        ("threads=abc", "threads", "an integer >= 1, or null"),
        ("data.max_len=0", "data.max_len", "set data.max_len >= 2"),
        ("data.batch_size=0", "data.batch_size", ">= 1"),
        ("trainer.max_epochs=0", "trainer.max_epochs", "an integer >= 1"),
        ("trainer.max_epochs=abc", "trainer.max_epochs", "an integer >= 1"),
        ("data=csv", "data.path", "set it on the command line (data.path=...)"),
    ],
)
def test_bad_setting_is_named_before_any_work(tmp_path: Path, override: str, key: str, fix: str) -> None:
    """Values outside the typed schemas: one user error naming the key (``run_job`` prints it in one line)."""
    with pytest.raises(ValueError) as err:
        train.run(compose_cfg(tmp_path, [override]))
    assert_refused(err.value, key, fix)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no cache, no run folder, no logger files


def test_unwritable_checkpoint_folder_is_found_before_training(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")  # as root, permission bits would not stop a write
    folder = tmp_path / "file" / "checkpoints"
    with pytest.raises(OSError) as err:
        train.run(compose_cfg(tmp_path, [*TINY, f"callbacks.model_checkpoint.dirpath={folder}"]))
    assert str(folder) in str(err.value) and "set callbacks.model_checkpoint.dirpath" in str(err.value)
    assert not (tmp_path / ".cache").exists()  # stopped before pre-training


@pytest.mark.slow
def test_unwritable_run_folder_ends_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    run_dir = tmp_path / "file" / "run"
    cmd = [sys.executable, "scripts/train.py", f"hydra.run.dir={run_dir}", f"paths.root_dir={tmp_path}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: cannot write to {run_dir} ") and proc.stderr.count("\n") == 1
    assert "set hydra.run.dir" in proc.stderr


def test_cached_body_without_its_json_is_pretrained_again(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, TINY)
    datamodule = build_datamodule(cfg)
    body, info = pretrained_body(cfg, datamodule)
    Path(info["path"]).with_suffix(".json").unlink()
    again, info_again = pretrained_body(cfg, datamodule)
    assert not info_again["cached"] and Path(info["path"]).with_suffix(".json").is_file()
    assert all(torch.equal(a, b) for a, b in zip(body.state_dict().values(), again.state_dict().values()))


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("regime.head_lr=abc", "regime.head_lr"),
        ("body.model.n_heads=two", "body.model.n_heads"),
        ("pretrain.epochs=1.5", "pretrain.epochs"),
        ("data.batch_size=abc", "data.batch_size"),
        ("data.batch_sise=8", "data.batch_sise"),
        ("data=csv data.max_len=abc", "data.max_len"),
    ],
)
def test_wrong_type_fails_while_composing_and_names_the_key(tmp_path: Path, override: str, key: str) -> None:
    with pytest.raises(ConfigCompositionException) as err:
        compose_cfg(tmp_path, override.split())
    chain = f"{err.value} {err.value.__cause__}"
    assert override.split()[-1] in chain and f"full_key: {key}" in chain


@pytest.mark.slow
@pytest.mark.parametrize("override", ["data.batch_sise=8", "data.batch_size=abc"])
def test_train_script_refuses_a_bad_data_key_while_composing(tmp_path: Path, override: str) -> None:
    cmd = [sys.executable, "scripts/train.py", override, f"paths.root_dir={tmp_path}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert (
        f"full_key: {override.split('=')[0]}" in proc.stderr and "object_type=DataConfigSchema" in proc.stderr
    )
    assert not list(tmp_path.iterdir())  # nothing ran


def test_tiny_body_without_lm_pretraining_trains_from_random_weights(tmp_path: Path, capsys) -> None:
    record = train.run(compose_cfg(tmp_path, [*TINY, "body.lm_pretraining=false"]))
    assert record["pretrained_body"]["lm_pretraining"] is False
    out = capsys.readouterr().out
    assert "epochs=2 fine-tuning (no LM pre-training)" in out and "pre-training +" not in out
    assert "none: body.lm_pretraining=false (the body starts from random weights)" in out
    assert not (tmp_path / ".cache" / "headswap" / "bodies").exists()  # nothing was pre-trained


def test_pretrain_job_does_not_say_the_tiny_body_arrives_pretrained(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, [*TINY, "body.lm_pretraining=false"], config_name="pretrain")
    with pytest.raises(ValueError) as err:
        pretrain.run(cfg)
    assert "starts from random weights" in str(err.value) and "arrives pretrained" not in str(err.value)


def test_settings_line_names_the_body_by_its_name(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, [*TINY, "body.name=foo"])
    assert " body=foo " in settings_line(cfg, build_datamodule(cfg))


def test_settings_line_counts_the_rows_of_the_file_not_those_a_budget_keeps(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text(
        "text,label\n" + "".join(f"message {i},{'spam' if i % 2 else 'ham'}\n" for i in range(90))
    )
    cfg = compose_cfg(tmp_path, ["data=csv", f"data.path={data}", "data.train_per_class=4"])
    datamodule = build_datamodule(cfg)
    assert sum(datamodule.stats["sizes"]["train"].values()) == 8
    assert "(data.csv, 90 rows)" in settings_line(cfg, datamodule)


def test_a_runs_peak_memory_is_its_own_not_the_process_lifetimes(tmp_path: Path) -> None:
    """A sweep runs its jobs in one process: memory an earlier job held must not show in a later one's."""
    import resource

    ballast = torch.ones(100 * 2**20, dtype=torch.float32)  # 400 MB, then freed, as an earlier job's
    del ballast
    lifetime = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cost = train.run(compose_cfg(tmp_path, TINY))["cost"]
    assert cost["peak_rss_of"] == "run"
    assert cost["peak_rss_mb"] < lifetime - 200


def test_a_peak_that_could_not_be_reset_is_called_the_processs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the kernel refuses the reset, the peak is the process's lifetime one and says so."""
    from headswap.lit import callbacks

    proc = tmp_path / "proc"
    (proc / "clear_refs").mkdir(parents=True)  # writing it fails, as where the kernel refuses
    (proc / "status").write_text("VmHWM:\t  2048 kB\n")
    monkeypatch.setattr(callbacks, "PROC", proc)
    monkeypatch.setattr(callbacks, "_peak_was_reset", False)
    callbacks.reset_peak_rss()
    assert callbacks.peak_rss() == (2.0, "process")
