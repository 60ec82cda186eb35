import pytest
import torch

from headswap.data import FixtureHard
from headswap.lit import PadCollate, TextDataModule
from headswap.model import ByteTokenizer


def make_dm(**kwargs) -> TextDataModule:
    dm = TextDataModule(FixtureHard(), ByteTokenizer(), **kwargs)
    dm.setup()
    return dm


def test_parts_sizes_and_stats() -> None:
    dm = make_dm()
    assert {p: len(dm.parts[p]) for p in ("train", "val", "test")} == {"train": 512, "val": 128, "test": 160}
    assert dm.stats["sizes"]["test"] == {"ham": 80, "spam": 80}
    assert dm.stats["duplicate_groups"] == 0
    assert not set(dm.texts("test")) & (set(dm.texts("train")) | set(dm.texts("val")))


def test_split_seed_moves_the_test_set_and_training_seed_does_not() -> None:
    torch.manual_seed(0)
    a = make_dm().texts("test")
    torch.manual_seed(1)
    assert make_dm().texts("test") == a
    assert make_dm(split_seed=1).texts("test") != a


def test_collate_pads_to_longest_in_batch_with_mask() -> None:
    collate = PadCollate(pad_id=256)
    batch = collate(
        [
            (torch.tensor([257, 1, 2]), torch.tensor(1), torch.tensor(7)),
            (torch.tensor([257]), torch.tensor(0), torch.tensor(3)),
        ]
    )
    assert batch["input_ids"].tolist() == [[257, 1, 2], [257, 256, 256]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, 0]
    assert batch["keys"].tolist() == [7, 3]


def test_keys_are_unique_corpus_positions_across_parts() -> None:
    dm = make_dm()
    keys = [k for p in ("train", "val", "test") for k in dm.parts[p].keys.tolist()]
    assert sorted(keys) == list(range(800))
    fixture = FixtureHard().load()
    assert all(fixture[k].text == t for k, t in zip(dm.parts["test"].keys.tolist(), dm.texts("test")))


def test_batches_never_exceed_max_len() -> None:
    dm = make_dm(max_len=16, batch_size=64)
    for batch in dm.train_dataloader():
        assert batch["input_ids"].shape[1] <= 16
        assert batch["input_ids"].shape == batch["attention_mask"].shape
        assert (batch["input_ids"][batch["attention_mask"] == 0] == 256).all()
    assert dm.stats["truncated"] == 800


def test_a_lone_last_training_example_is_dropped_not_batched_alone() -> None:
    dm = make_dm(batch_size=511)  # 512 training texts: the remainder is 1
    assert [len(b["labels"]) for b in dm.train_dataloader()] == [511]
    assert sum(len(b["labels"]) for b in dm.val_dataloader()) == 128  # evaluation keeps every example
    assert [len(b["labels"]) for b in make_dm(batch_size=500).train_dataloader()] == [500, 12]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"max_len": 1}, r"^data\.max_len=1 is too small: a text needs 2 tokens or more"),
        ({"batch_size": 0}, r"^data\.batch_size=0 must be >= 1$"),
    ],
)
def test_a_setting_out_of_range_is_refused_by_data_config(setting: dict, message: str) -> None:
    """``DataConfig`` is the one place these are checked: the data module and the config checks use it."""
    with pytest.raises(ValueError, match=message):
        TextDataModule(FixtureHard(), ByteTokenizer(), **setting)
