from collections import Counter

import pytest

from headswap.data import make_fixture, stratified_group_split


def split_fixture(seed: int = 0):
    examples = make_fixture()
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


def test_too_few_examples_of_a_class_is_rejected() -> None:
    with pytest.raises(ValueError, match="class 1 has 1 examples"):
        stratified_group_split([f"t{i}" for i in range(11)], [0] * 10 + [1], 0.2, 0.2, 0)


@pytest.mark.parametrize(("test", "val", "key"), [(0.0, 0.2, "test_fraction"), (0.2, 1.0, "val_fraction")])
def test_fractions_out_of_range_name_the_key(test: float, val: float, key: str) -> None:
    with pytest.raises(ValueError, match=f"data.{key}"):
        stratified_group_split(["a", "b"], [0, 1], test, val, 0)
