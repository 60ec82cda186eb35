"""The split: stratified, duplicates kept in one part, and the warnings a run prints about it."""

import logging
from collections import Counter
from pathlib import Path

import pytest

from headswap.data import make_fixture_hard, stratified_group_split
from headswap.data.split import split_warnings
from headswap.training.announce import announce
from headswap.training.build import build_datamodule

from .conftest import compose_cfg


def split_fixture(seed: int = 0):
    examples = make_fixture_hard()
    return examples, stratified_group_split(
        [e.text for e in examples], [e.label for e in examples], 0.2, 0.2, seed
    )


def test_fixture_split_is_640_160_with_a_balanced_test_part() -> None:
    examples, split = split_fixture()
    assert len(split.train) + len(split.val) == 640
    assert len(split.test) == 160
    assert Counter(examples[i].label for i in split.test) == {0: 80, 1: 80}
    assert Counter(examples[i].label for i in split.val) == {0: 64, 1: 64}
    assert sorted(split.train + split.val + split.test) == list(range(800))


def test_split_depends_on_its_seed_only() -> None:
    assert split_fixture(0) == split_fixture(0)
    assert split_fixture(0)[1].test != split_fixture(1)[1].test


def test_duplicates_stay_in_one_part() -> None:
    texts = (
        ["same"] * 5 + [f"ham {i}" for i in range(45)] + ["dup spam"] * 4 + [f"spam {i}" for i in range(46)]
    )
    labels = [0] * 50 + [1] * 50
    for seed in range(10):
        split = stratified_group_split(texts, labels, 0.2, 0.2, seed)
        where = {p: {texts[i] for i in getattr(split, p)} for p in ("train", "val", "test")}
        assert not (where["train"] & where["test"]) and not (where["train"] & where["val"])
        assert not (where["val"] & where["test"])
        assert split.duplicate_groups == 2 and split.duplicate_rows == 9


def test_single_class_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="only one class"):
        stratified_group_split(["a", "b", "c"], [1, 1, 1], 0.2, 0.2, 0)


def test_too_few_examples_of_a_class_is_rejected_naming_its_label() -> None:
    with pytest.raises(ValueError, match="class 'spam' has 1 examples.*data.min_per_class"):
        stratified_group_split([f"t{i}" for i in range(11)], [0] * 10 + [1], 0.2, 0.2, 0, ("ham", "spam"))


@pytest.mark.parametrize(("test", "val", "key"), [(0.0, 0.2, "test_fraction"), (0.2, 1.0, "val_fraction")])
def test_fractions_out_of_range_name_the_key(test: float, val: float, key: str) -> None:
    with pytest.raises(ValueError, match=f"data.{key}"):
        stratified_group_split(["a", "b"], [0, 1], test, val, 0)


def one_large_spam_group(
    n_ham: int = 1700, n_spam: int = 300, group: int = 97
) -> tuple[list[str], list[int]]:
    """The issue's corpus in miniature: one spam text occurs ``group`` times among short unique comments."""
    texts = [f"ham {i}" for i in range(n_ham)] + ["WIN a prize, call now"] * group
    texts += [f"spam {i}" for i in range(n_spam - group)]
    return texts, [0] * n_ham + [1] * n_spam


@pytest.mark.parametrize("seed", range(5))
def test_a_large_duplicate_group_keeps_every_part_at_the_files_positive_rate(seed: int) -> None:
    texts, labels = one_large_spam_group()
    split = stratified_group_split(texts, labels, 0.2, 0.15, seed)
    whole = sum(labels) / len(labels)
    for part in ("train", "val", "test"):
        rows = getattr(split, part)
        assert sum(labels[i] for i in rows) / len(rows) == pytest.approx(whole, abs=0.01), part
    (group_part,) = {
        p for p in ("train", "val", "test") if texts.index("WIN a prize, call now") in getattr(split, p)
    }
    assert group_part == "train"  # only the largest part has room for it
    assert split_warnings(texts, labels, split, ["ham", "spam"]) == [
        "one text makes up 97 of the 204 spam rows of the train part ('WIN a prize, call now'); "
        "consider removing its duplicates from the file"
    ]


def test_a_second_large_group_goes_where_it_weighs_least_not_into_an_empty_small_part() -> None:
    """Groups of 97 and 60 copies among 650 single spam: both fit the training part, which they tip
    least; sending the 60 to an empty test part would make one text 37% of its spam."""
    texts = ["WIN a prize, call now"] * 97 + ["FREE ringtone, text 80086"] * 60
    texts += [f"spam offer {i}" for i in range(650)] + [f"see you at {i}" for i in range(3000)]
    labels = [1] * (97 + 60 + 650) + [0] * 3000
    split = stratified_group_split(texts, labels, 0.2, 0.15, 0)
    for text in ("WIN a prize, call now", "FREE ringtone, text 80086"):
        assert texts.index(text) in split.train
    assert not [w for w in split_warnings(texts, labels, split, ["ham", "spam"]) if "test part" in w]


def test_a_group_too_large_for_any_share_is_warned_about() -> None:
    texts, labels = one_large_spam_group(n_ham=300, n_spam=100, group=70)  # 70 of 100 spam: one text
    split = stratified_group_split(texts, labels, 0.2, 0.2, 0)
    assert split_warnings(texts, labels, split, ["ham", "spam"]) == [
        "one text makes up 70 of the 70 spam rows of the train part ('WIN a prize, call now'); "
        "consider removing its duplicates from the file",
        "the val part is 17.2% spam against 25.0% in the whole data: large groups of duplicate texts "
        "did not fit its share; change data.split_seed or the fractions",
    ]


def test_a_split_without_duplicates_gives_no_warning() -> None:
    examples, split = split_fixture()
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    assert split_warnings(texts, labels, split, ["ham", "spam"]) == []


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


@pytest.mark.parametrize(
    ("test_fraction", "val_fraction", "needed"), [(0.2, 0.2, 4), (0.2, 0.0, 3), (0.2, 0.15, 5)]
)
def test_a_class_too_small_for_the_split_names_the_min_per_class_that_drops_it(
    test_fraction: float, val_fraction: float, needed: int
) -> None:
    labels = [0] * 40 + [1] * (needed - 1)
    texts = [f"t{i}" for i in range(len(labels))]
    with pytest.raises(ValueError, match=f"set data.min_per_class={needed} to drop"):
        stratified_group_split(texts, labels, test_fraction, val_fraction, 0, ("big", "small"))
    stratified_group_split(
        [*texts, "one more"], [*labels, 1], test_fraction, val_fraction, 0
    )  # K examples fit


def test_a_class_of_one_repeated_text_names_a_min_per_class_that_drops_it() -> None:
    """Ten copies of one text stay together, so some part gets none: a K below 10 would not drop it."""
    labels, texts = [0] * 40 + [1] * 10, [f"t{i}" for i in range(40)] + ["the same text"] * 10
    with pytest.raises(ValueError, match="in 1 distinct texts, whose duplicates stay together") as err:
        stratified_group_split(texts, labels, 0.2, 0.2, 0, ("big", "repeated"))
    assert "data.min_per_class=11" in str(err.value)
