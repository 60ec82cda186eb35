"""Shared helpers: compose the project's Hydra configs on tiny settings, as the scripts would."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test reaches the hub: before huggingface_hub reads it

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from headswap.app import schema
from headswap.app.one_line import root_cause
from headswap.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "src" / "headswap" / "conf"  # shipped inside the package
schema.register()  # as each script does before composing its config

# Small enough for seconds per run, large enough that every split part holds both classes.
TINY = (
    "data.source.n_per_class=40",
    "pretrain.epochs=1",
    "trainer.max_epochs=2",
    "trainer.enable_progress_bar=false",
)


def compose_cfg(
    tmp_path: Path,
    overrides: tuple[str, ...] | list[str] = (),
    config_name: str = "train",
    output: str = "run",
) -> DictConfig:
    """The config ``scripts/<config_name>.py`` would see, with caches under ``tmp_path`` and the run's
    output in ``tmp_path / output``. One torch thread unless ``threads`` is given: results then do not
    depend on how busy the machine is (a job's default thread count does)."""
    one_thread = [] if any(o.lstrip("+~").startswith("threads=") for o in overrides) else ["threads=1"]
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose(
            config_name,
            overrides=[f"paths.root_dir={tmp_path}", *one_thread, *overrides],
            return_hydra_config=True,
        )
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / output)
        del cfg.hydra
    return cfg


def as_hydra_saves_it(cfg: DictConfig) -> DictConfig:
    """``cfg`` written to its run folder's ``.hydra/config.yaml``, as a script's run leaves it, so the
    folder of an in-process run loads as a finished run."""
    folder = Path(cfg.paths.output_dir) / ".hydra"
    folder.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, folder / "config.yaml")
    return cfg


@pytest.fixture
def tiny_cfg(tmp_path: Path) -> DictConfig:
    return compose_cfg(tmp_path, TINY)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """Tests run several tiny models; one thread each is fastest and keeps results reproducible."""
    torch.set_num_threads(1)


# torch, MKL and oneDNN pick their kernels by the CPU's instruction set (AVX-512, AVX2, ...), and a trained
# model's figures follow the kernels: a run pinned to the digit on one CPU moved a decision on another.
# Their generic kernels give every x86-64 CPU the same arithmetic; read when torch loads, so a subprocess.
PORTABLE_MATH = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "DNNL_MAX_CPU_ISA": "SSE41"}


def run_train_script(tmp_path: Path, *overrides: str, env: dict[str, str] | None = None) -> Path:
    """A finished run folder, written by ``scripts/train.py`` exactly as a user's would be (``env``: more
    environment variables for it)."""
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable,
        "scripts/train.py",
        *overrides,
        "trainer.enable_progress_bar=false",
        "threads=1",
        f"paths.root_dir={tmp_path}",
        f"hydra.run.dir={run_dir}",
    ]
    environment = os.environ | (env or {})
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=environment)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return run_dir


def assert_refused(error: BaseException, key: str | None, *fixes: str) -> UserError:
    """A user error (Hydra's wrapper taken off) naming ``key``, on one line, saying each of ``fixes``."""
    cause = root_cause(error)
    assert isinstance(cause, UserError), repr(cause)
    assert cause.key == key, (cause.key, str(cause))
    message = str(cause)
    assert "\n" not in message and all(fix in message for fix in fixes), message
    return cause
