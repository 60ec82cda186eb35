"""A Hugging Face hub id as ``body.path``: read through the hub's own cache (mocked here: a cache folder
filled as the hub fills it, and offline mode on), pinned to the commit it resolved to, and named in one
line when it cannot be had. Nothing here reaches a network."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import constants
from huggingface_hub.errors import RepositoryNotFoundError
from omegaconf import OmegaConf

from headswap.errors import ModelPathError
from headswap.jobs import train
from headswap.model.hf_body import display_name, hub_revision, model_dir
from headswap.training.finished_run import load_finished_run
from tests.hf_models import write_tiny_bert

from .conftest import as_hydra_saves_it, assert_refused, compose_cfg

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty hub cache, offline, as ``HF_HUB_CACHE=... HF_HUB_OFFLINE=1`` would give."""
    cache = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def cache_model(cache: Path, repo_id: str, commit: str = COMMIT) -> Path:
    """A model in the cache as ``hf download`` leaves it: refs/main naming a snapshot folder."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return write_tiny_bert(repo / "snapshots" / commit)


def test_a_cached_hub_id_resolves_to_its_snapshot_and_names_its_commit(hub_cache: Path) -> None:
    snapshot = cache_model(hub_cache, "org/tiny-bert")
    assert model_dir("org/tiny-bert") == snapshot
    assert model_dir(f"org/tiny-bert@{COMMIT}") == snapshot
    assert hub_revision("org/tiny-bert") == f"org/tiny-bert@{COMMIT}"
    assert display_name(f"org/tiny-bert@{COMMIT}") == "tiny-bert"


def test_a_local_directory_comes_before_the_hub(
    hub_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_model(hub_cache, "org/tiny-bert")
    monkeypatch.chdir(tmp_path)
    local = write_tiny_bert(tmp_path / "org" / "tiny-bert")
    assert model_dir("org/tiny-bert") == Path("org/tiny-bert") and local.is_dir()
    assert hub_revision("org/tiny-bert") is None


def test_offline_and_not_cached_is_one_line_naming_the_id_and_the_download(hub_cache: Path) -> None:
    with pytest.raises(ModelPathError) as err:
        model_dir("org/not-downloaded")
    assert_refused(err.value, "body.path", "org/not-downloaded", "hf download org/not-downloaded")


def test_an_id_the_hub_does_not_have_is_one_line(hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_found(*args: object, **kwargs: object) -> None:
        error = RepositoryNotFoundError.__new__(RepositoryNotFoundError)  # as the hub answers a typo: 404
        Exception.__init__(error, "404 Client Error")
        raise error

    monkeypatch.setattr(huggingface_hub, "snapshot_download", not_found)
    with pytest.raises(ModelPathError) as err:
        model_dir("org/tiny-bret")
    assert_refused(err.value, "body.path", "org/tiny-bret", "check the id")


def test_a_run_on_a_hub_id_trains_records_its_commit_and_loads_that_commit_later(
    hub_cache: Path, tmp_path: Path
) -> None:
    cache_model(hub_cache, "org/tiny-bert")
    overrides = ["body=hf", "body.path=org/tiny-bert", "data.source.n_per_class=20", "trainer.max_epochs=1"]
    cfg = compose_cfg(tmp_path, [*overrides, "trainer.enable_progress_bar=false"])
    as_hydra_saves_it(cfg)
    record = train.run(cfg)
    pinned = f"org/tiny-bert@{COMMIT}"
    assert record["pretrained_body"]["path"] == pinned and record["body"] == "tiny-bert"
    saved = OmegaConf.load(tmp_path / "run" / ".hydra" / "config.yaml")
    assert saved.body.path == pinned
    # the hub moves on: main now names another commit; the finished run still loads its own
    cache_model(hub_cache, "org/tiny-bert-next", commit="f" * 40)
    (hub_cache / "models--org--tiny-bert" / "refs" / "main").write_text("f" * 40)
    run = load_finished_run(tmp_path / "run")
    assert run.probabilities(["win a free prize now"]).shape == (1, 2)
