"""The user's own parts and label budgets: a test file is the test part as it is, the training file is
split into train and validation only, overlap is counted, and K examples a class are drawn from the
training part by a seed of their own."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from headswap.data.fixture import make_fixture
from headswap.errors import ConfigError, DataError
from headswap.jobs import train
from headswap.training.build import build_datamodule

from .conftest import assert_refused, compose_cfg
from .test_multiclass import write_csv

QUICK = ["data.max_len=32", "pretrain.epochs=1", "trainer.max_epochs=2", "trainer.enable_progress_bar=false"]


def rows(n_per_class: int, seed: int) -> list[tuple[str, str]]:
    return [(e.text, "spam" if e.label else "ham") for e in make_fixture(n_per_class, seed)]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A training file, and a test file with a duplicate, a text the training file holds too, and ham
    before spam, to see that it is used as it is."""
    training = rows(60, 1)
    test = [*rows(10, 2), rows(10, 2)[0], training[0]]
    return write_csv(tmp_path / "train.csv", training), write_csv(tmp_path / "test.csv", test)


def datamodule(tmp_path: Path, *overrides: str):
    return build_datamodule(compose_cfg(tmp_path, ["data=csv", *QUICK, *overrides]))


def test_a_test_file_is_the_test_part_as_it_is(tmp_path: Path, files: tuple[Path, Path]) -> None:
    training, test = files
    dm = datamodule(tmp_path, f"data.path={training}", f"data.test_path={test}")
    written = [(t, label) for t, label in (line.rsplit(",", 1) for line in test.read_text().splitlines()[1:])]
    got = [(e.text, dm.label_names[e.label]) for e in dm.parts["test"].examples]
    assert got == [(t.strip('"'), label) for t, label in written]  # order, duplicates, labels
    train_texts = {e.text for p in ("train", "val") for e in dm.parts[p].examples}
    assert len(dm.parts["train"]) + len(dm.parts["val"]) == 120  # the whole training file, split in two
    test_texts = {t for t, _ in [*rows(10, 2), rows(60, 1)[0]]}
    shared = sum(1 for t, _ in rows(60, 1) if t in test_texts)  # counted here row by row
    assert shared >= 1 and dm.stats["test_overlap"] == shared and rows(60, 1)[0][0] in train_texts
    assert dm.stats["parts_from"] == {"train": "training file", "val": "training file", "test": str(test)}


def test_overlap_can_be_left_out_of_training(tmp_path: Path, files: tuple[Path, Path]) -> None:
    training, test = files
    dm = datamodule(
        tmp_path, f"data.path={training}", f"data.test_path={test}", "data.drop_test_overlap=true"
    )
    test_texts = {e.text for e in dm.parts["test"].examples}
    assert not test_texts & {e.text for p in ("train", "val") for e in dm.parts[p].examples}
    kept = len(dm.parts["train"]) + len(dm.parts["val"])
    assert dm.stats["test_overlap"] >= 1 and kept == 120 - dm.stats["test_overlap"]


def test_a_test_file_with_a_class_the_training_file_lacks_is_named(tmp_path: Path) -> None:
    training = write_csv(tmp_path / "train.csv", rows(20, 1))
    test = write_csv(tmp_path / "test.csv", [*rows(3, 2), ("what is this", "eggs")])
    with pytest.raises(DataError) as err:
        datamodule(tmp_path, f"data.path={training}", f"data.test_path={test}", "data.labels=[ham,spam]")
    assert "eggs" in str(err.value)


@pytest.mark.parametrize("k", [1, 8])
def test_a_budget_is_k_a_class_from_the_training_part_only(tmp_path: Path, files, k: int) -> None:
    training, test = files
    full = datamodule(tmp_path, f"data.path={training}", f"data.test_path={test}")
    dm = datamodule(tmp_path, f"data.path={training}", f"data.test_path={test}", f"data.train_per_class={k}")
    assert Counter(dm.parts["train"].labels.tolist()) == {0: k, 1: k}
    assert set(dm.parts["train"].keys.tolist()) <= set(full.parts["train"].keys.tolist())
    assert dm.parts["val"].keys.tolist() == full.parts["val"].keys.tolist()  # val_per_class unset: all
    assert dm.parts["test"].keys.tolist() == full.parts["test"].keys.tolist()
    assert dm.stats["budget"] == {"train_per_class": k, "val_per_class": None, "sample_seed": 0}


def test_the_sample_follows_its_seed_alone(tmp_path: Path, files) -> None:
    training, _ = files
    base = (f"data.path={training}", "data.train_per_class=4")

    def sample(*more: str) -> list[int]:
        return datamodule(tmp_path, *base, *more).parts["train"].keys.tolist()

    assert sample("regime=head") == sample("regime=full")  # every regime of a sweep: one sample
    assert sample("seed=1") == sample("seed=1") != sample("seed=2")  # the run's seed, deterministic
    assert sample("seed=1", "data.sample_seed=5") == sample("seed=2", "data.sample_seed=5")


def test_a_class_with_fewer_than_k_is_named_and_kept_whole(tmp_path: Path) -> None:
    data = [*[r for r in rows(40, 1) if r[1] == "ham"][:30], *[r for r in rows(40, 1) if r[1] == "spam"][:6]]
    training = write_csv(tmp_path / "train.csv", data)
    dm = datamodule(tmp_path, f"data.path={training}", "data.train_per_class=5", "data.val_fraction=0.2")
    counts = Counter(dm.label_names[y] for y in dm.parts["train"].labels.tolist())
    assert counts["ham"] == 5 and counts["spam"] < 5
    assert any("'spam'" in w and "train_per_class=5" in w for w in dm.stats["warnings"])


@pytest.mark.parametrize("setting", ["data.train_per_class=0", "data.val_per_class=-1"])
def test_a_budget_below_its_least_is_refused(tmp_path: Path, files, setting: str) -> None:
    """A training part needs one example a class; a validation part may have none (0: no validation)."""
    training, _ = files
    with pytest.raises(Exception) as err:
        datamodule(tmp_path, f"data.path={training}", setting)
    assert isinstance(assert_refused(err.value, setting.split("=")[0]), ConfigError)


def test_a_run_on_its_own_written_parts_gives_the_same_test_figures(tmp_path: Path) -> None:
    """The parts a run used, written out as files and given back, make the same run."""
    corpus = write_csv(tmp_path / "all.csv", rows(60, 3))
    first = compose_cfg(tmp_path / "a", ["data=csv", f"data.path={corpus}", *QUICK, "regime=head"])
    dm = build_datamodule(first)
    parts = {
        p: [(e.text, dm.label_names[e.label]) for e in dm.parts[p].examples] for p in ("train", "val", "test")
    }
    paths = {p: write_csv(tmp_path / f"{p}.csv", parts[p]) for p in parts}
    again = [
        f"data.path={paths['train']}",
        f"data.val_path={paths['val']}",
        f"data.test_path={paths['test']}",
    ]
    second = compose_cfg(tmp_path / "b", ["data=csv", *again, *QUICK, "regime=head"])
    a, b = train.run(first), train.run(second)
    assert b["test"] == a["test"] and b["confusion_matrix"] == a["confusion_matrix"]
    assert b["data"]["sizes"] == a["data"]["sizes"]
    assert json.loads(json.dumps(b["data"]["parts_from"]))["test"] == str(paths["test"])
