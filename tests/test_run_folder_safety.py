"""A run folder is data: loading one (predict, export, serve) builds only headswap's own objects, and a
config that names anything else is refused in one line before anything runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.serve_load import free_port
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from headswap.errors import DataError
from headswap.training.finished_run import BUILT, OWN, load_finished_run

from .conftest import CONF, ROOT, run_train_script

pytestmark = pytest.mark.slow  # trains a run in a subprocess (module fixture)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    overrides = ("data.source.n_per_class=40", "pretrain.epochs=1", "trainer.max_epochs=1")
    return run_train_script(tmp_path_factory.mktemp("safety"), *overrides)


def copy_of(finished: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    return run


def crafted(finished: Path, tmp_path: Path, key: str, value: object) -> Path:
    """A copy of the run whose saved config sets ``key`` to ``value``, as someone might send it."""
    run = copy_of(finished, tmp_path)
    config = run / ".hydra" / "config.yaml"
    cfg = OmegaConf.load(config)
    OmegaConf.update(cfg, key, value, force_add=True)
    OmegaConf.save(cfg, config)
    return run


def victim_of(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    return victim


ATTACKS = {
    "builtins.open": lambda v: {"_target_": "builtins.open", "_args_": [str(v), "w"]},
    "io.open": lambda v: {"_target_": "io.open", "file": str(v), "mode": "w"},
    "pathlib.Path.touch": lambda v: {"_target_": "pathlib.Path.touch", "self": str(v.with_name("new"))},
    "shutil.copyfile": lambda v: {"_target_": "shutil.copyfile", "src": "/etc/hostname", "dst": str(v)},
    "os.system": lambda v: {"_target_": "os.system", "command": f"echo pwned > {v}"},
    "oc.decode": lambda v: "${oc.decode:'{_target_: builtins.open, _args_: [" + str(v) + ", w]}'}",
}


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("command", ["predict", "export", "serve"])
def test_a_crafted_config_runs_nothing_and_ends_in_one_line(
    finished: Path, tmp_path: Path, attack: str, command: str
) -> None:
    victim = victim_of(tmp_path)
    run = crafted(finished, tmp_path, "body.tokenizer.add_cls", ATTACKS[attack](victim))
    extra = {"predict": ["a text"], "serve": ["--port", str(free_port())], "export": []}[command]
    script = [sys.executable, f"scripts/{command}.py", str(run), *extra]
    proc = subprocess.run(script, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "body.tokenizer.add_cls" in proc.stderr and "refused" in proc.stderr
    assert victim.read_text() == "keep me" and not victim.with_name("new").exists()
    assert not (run / "export").exists()


def test_the_target_of_a_part_is_checked_as_its_nested_ones(finished: Path, tmp_path: Path) -> None:
    run = crafted(finished, tmp_path, "pool._target_", "subprocess.run")
    with pytest.raises(DataError) as err:
        load_finished_run(run)
    assert err.value.key == "pool._target_"


def test_a_target_that_is_not_a_name_is_refused(finished: Path, tmp_path: Path) -> None:
    run = crafted(finished, tmp_path, "pool._target_", ["headswap.model.pooling.MeanPool"])
    with pytest.raises(DataError) as err:
        load_finished_run(run)
    assert err.value.key == "pool._target_"


def test_a_checkpoint_outside_the_run_folder_is_refused(finished: Path, tmp_path: Path) -> None:
    run = copy_of(finished, tmp_path)
    record = json.loads((run / "metrics.json").read_text())
    shutil.copy(run / record["checkpoint"], tmp_path / "elsewhere.ckpt")
    (run / "metrics.json").write_text(json.dumps({**record, "checkpoint": "../elsewhere.ckpt"}))
    with pytest.raises(DataError) as err:
        load_finished_run(run)
    assert err.value.key == "checkpoint"


def test_a_config_that_is_not_a_runs_is_named(finished: Path, tmp_path: Path) -> None:
    run = copy_of(finished, tmp_path)
    (run / ".hydra" / "config.yaml").write_text("seed: 0\n")
    with pytest.raises(DataError, match="not the config of a run"):
        load_finished_run(run)


def test_the_package_of_a_bundled_model_is_a_top_level_name(finished: Path, tmp_path: Path) -> None:
    """Finding ``a.b`` imports ``a``: a run's config could import any installed module that way."""
    run = crafted(finished, tmp_path, "body.tokenizer.add_cls", "${package_model_dir:antigravity.x}")
    with pytest.raises(Exception) as err:
        load_finished_run(run)
    assert "is not a top-level package name" in str(err.value) and "antigravity" not in sys.modules


@pytest.mark.parametrize("group", ["body", "pool", "data"])
def test_every_shipped_config_names_only_own_constructors(group: str) -> None:
    """What a finished run builds, as each config of the group composes it, passes the check."""
    choices = [p.stem for p in (CONF / group).glob("*.yaml")]
    with initialize_config_dir(str(CONF), version_base="1.3"):
        for choice in choices:
            overrides = [f"{group}={choice}", *(["data.path=x.csv"] if choice == "csv" else [])]
            cfg = compose("train", overrides=overrides)
            for key in BUILT:
                node = OmegaConf.to_container(OmegaConf.select(cfg, key), resolve=False)
                targets = [v for k, v in _walk(node) if k == "_target_"]
                assert targets and set(targets) <= OWN, (choice, key, targets)


def _walk(node: object):
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from _walk(v)
