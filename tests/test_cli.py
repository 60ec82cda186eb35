"""``headswap <command>``: one installed command for every job, the shipped configs with a user's own
beside them, and a wheel that trains and predicts from an empty folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from headswap import cli

from .conftest import ROOT

QUICK = ("data.source.n_per_class=40", "pretrain.epochs=1", "trainer.max_epochs=1", "threads=1")
QUIET = ("trainer.enable_progress_bar=false",)


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert listed == set(cli.HYDRA_JOBS) | set(cli.PLAIN_JOBS)


def test_no_command_or_an_unknown_one_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert cli.main(["trian"]) == 2
    assert "'trian'" in capsys.readouterr().err


def test_every_plain_job_is_its_module_main() -> None:
    for command in cli.PLAIN_JOBS:
        module = __import__(f"headswap.jobs.{command}", fromlist=["main"])
        assert callable(module.main), command


def headswap(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "headswap", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow  # a training run in a subprocess
def test_a_users_regime_from_config_dir_composes_with_the_shipped_groups(tmp_path: Path) -> None:
    """The README's "a new regime is a YAML file", kept in the user's own folder, not the package."""
    mine = tmp_path / "myconf" / "regime"
    mine.mkdir(parents=True)
    readme = (ROOT / "README.md").read_text()
    example = readme[readme.index("defaults: [/schema/regime@_here_") : readme.index("body_lr: 1.0e-3") + 15]
    (mine / "last2.yaml").write_text(example + "\n")  # the README's example, as a user would copy it
    work = tmp_path / "work"
    work.mkdir()
    myconf = str(tmp_path / "myconf")
    proc = headswap("train", "--config-dir", myconf, "regime=last2", *QUICK, *QUIET, cwd=work)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (record,) = [json.loads(p.read_text()) for p in work.glob("logs/train/runs/*/metrics.json")]
    assert record["regime"] == "last2"
    assert set(record["params"]["body_trainable_parts"]) == {"blocks.0", "blocks.1", "norm"}


@pytest.mark.slow  # a refused run in a subprocess
def test_a_users_regime_without_the_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    mine = tmp_path / "myconf" / "regime"
    mine.mkdir(parents=True)
    (mine / "bare.yaml").write_text("name: bare\nbody_trainable: [norm]\n")
    proc = headswap("train", "--config-dir", str(tmp_path / "myconf"), "regime=bare", *QUICK, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "regime=bare" in proc.stderr and "/schema/regime@_here_" in proc.stderr


@pytest.mark.slow  # builds a wheel, installs it into a new environment and trains there
def test_an_installed_wheel_trains_and_predicts_from_an_empty_folder(tmp_path: Path) -> None:
    source, wheels = tmp_path / "source", tmp_path / "wheels"  # a copy: setuptools builds in build/ there
    skip = shutil.ignore_patterns(".git", ".venv", "logs", ".cache", "build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, source, ignore=skip)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*pip_wheel, "-w", str(wheels), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("headswap-*.whl")
    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    bin_dir = env / "bin"
    install = [bin_dir / "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    # its dependencies from this environment (there is no network here), headswap only from the wheel: a
    # path line in a .pth is searched after the environment's own site-packages, and the editable
    # install's own .pth in that folder is not read
    site = next((env / "lib").glob("python*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    empty = tmp_path / "empty"
    empty.mkdir()

    def installed(*args: str) -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HEADSWAP_ROOT")}
        return subprocess.run(
            [bin_dir / "headswap", *args], cwd=empty, capture_output=True, text=True, env=clean, timeout=300
        )

    trained = installed("train", "regime=head", *QUICK, *QUIET)
    assert trained.returncode == 0, trained.stderr[-2000:]
    (run,) = [p.parent for p in empty.glob("logs/train/runs/*/metrics.json")]
    predicted = installed("predict", str(run), "WIN a FREE prize now", "see you at lunch")
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    labels = json.loads((run / "metrics.json").read_text())["labels"]
    lines = predicted.stdout.splitlines()
    assert len(lines) == 2 and all(line.split("\t")[0] in labels for line in lines)
    where = subprocess.run(
        [bin_dir / "python", "-c", "import headswap; print(headswap.__file__)"],
        cwd=empty,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site)


@pytest.mark.slow  # a subprocess
def test_bench_outside_a_checkout_says_where_it_runs(tmp_path: Path) -> None:
    proc = headswap("bench", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "checkout" in proc.stderr
