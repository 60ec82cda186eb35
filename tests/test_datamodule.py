import pytest
import torch
from torch.utils.data import DataLoader

from headswap.data import FixtureHard
from headswap.lit import HeadSwapClassifier, PadCollate, TextDataModule
from headswap.lit.datamodule import LengthGroupedShuffle
from headswap.model import ByteTokenizer, MeanPool, Regime
from headswap.model.body import BodyConfig, TransformerBody
from headswap.training.evaluation import split_logits


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
            (torch.tensor([257, 1, 2]), torch.tensor(1), torch.tensor(7), 0),
            (torch.tensor([257]), torch.tensor(0), torch.tensor(3), 1),
        ]
    )
    assert batch["input_ids"].tolist() == [[257, 1, 2], [257, 256, 256]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, 0]
    assert batch["keys"].tolist() == [7, 3]
    assert batch["index"].tolist() == [0, 1]
    texts_only = collate([(torch.tensor([257, 1]), torch.tensor(0), torch.tensor(0))] * 3)  # predicting texts
    assert texts_only["index"].tolist() == [0, 1, 2]


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


def epoch_batches(dm: TextDataModule, epoch: int) -> list[list[int]]:
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return [b["index"].tolist() for b in loader]


def padded_tokens(batches: list[list[int]], lengths: list[int]) -> int:
    return sum(max(lengths[i] for i in b) * len(b) for b in batches)


def test_grouped_batches_cover_every_example_once_and_depend_only_on_seed_and_epoch() -> None:
    dm = make_dm(batch_size=16, shuffle_seed=3, group_by_length=True)
    first = epoch_batches(dm, 0)
    assert sorted(i for b in first for i in b) == list(range(512))
    assert epoch_batches(dm, 0) == first  # asked again: the same epoch
    assert epoch_batches(dm, 1) != first
    # a resumed run builds a fresh data module and starts at epoch 1: it sees what the first run saw
    uninterrupted = epoch_batches(dm, 1)
    assert epoch_batches(make_dm(batch_size=16, shuffle_seed=3, group_by_length=True), 1) == uninterrupted
    assert epoch_batches(make_dm(batch_size=16, shuffle_seed=4, group_by_length=True), 1) != uninterrupted


def test_grouped_batches_pad_less_than_random_ones_and_keep_the_short_batch_last() -> None:
    lengths = make_dm(max_len=128).parts["train"].lengths()
    assert len(set(lengths)) > 10  # texts of many lengths: padding is there to save
    grouped = epoch_batches(make_dm(batch_size=16, shuffle_seed=0, max_len=128, group_by_length=True), 0)
    plain = epoch_batches(make_dm(batch_size=16, shuffle_seed=0, max_len=128, group_by_length=False), 0)
    assert sorted(i for b in plain for i in b) == list(range(512))
    assert padded_tokens(grouped, lengths) < padded_tokens(plain, lengths)
    # within a chunk the sampler sorts by length, so every batch is a run of sorted lengths
    sampler = LengthGroupedShuffle([5, 1, 4, 2, 3, 9, 7], batch_size=2, seed=0, chunk_batches=10)
    order = list(sampler)
    assert sorted(order) == list(range(7)) and len(order) == 7
    pairs = [order[i : i + 2] for i in range(0, 6, 2)]
    assert sorted(sorted([5, 1, 4, 2, 3, 9, 7][i] for i in p) for p in pairs) == [[1, 2], [3, 4], [5, 7]]
    assert [5, 1, 4, 2, 3, 9, 7][order[-1]] == 9  # the short batch, the longest text, comes last


def test_evaluation_batches_run_by_length_and_results_return_in_input_order() -> None:
    dm = make_dm(batch_size=16, max_len=128)
    lengths = [b["input_ids"].shape[1] for b in dm.val_dataloader()]
    assert lengths == sorted(lengths)  # shortest batches first: little padding
    torch.manual_seed(0)
    body = TransformerBody(BodyConfig(max_len=128))
    model = HeadSwapClassifier(body, MeanPool(64), Regime("head"), cache_features=False)
    by_length = split_logits(model.classifier, dm.val_dataloader(), model.device)
    probs, labels = by_length.logits.softmax(-1), by_length.labels
    assert labels.tolist() == dm.parts["val"].labels.tolist()
    in_order = DataLoader(dm.parts["val"], batch_size=16, collate_fn=dm.collate)  # the part's own order
    probs_in_order = split_logits(model.classifier, in_order, model.device).logits.softmax(-1)
    assert torch.allclose(probs, probs_in_order, atol=1e-5)


@pytest.mark.parametrize("group_by_length", [True, False])
def test_a_tiny_training_part_is_repeated_to_the_minimum_steps(group_by_length: bool) -> None:
    """16 texts in batches of 32: one step an epoch, unless data.min_steps_per_epoch repeats the part,
    each pass in its own order, the same again for the same (seed, epoch)."""
    dm = make_dm(batch_size=32, shuffle_seed=3, group_by_length=group_by_length, train_per_class=8)
    assert len(dm.train_dataloader()) == 1
    dm.config.min_steps_per_epoch = 10
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(2)
    batches = [b["keys"].tolist() for b in loader]
    assert len(batches) == 10 and all(len(b) == 32 for b in batches)
    flat = [k for b in batches for k in b]
    assert sorted(flat) == sorted(dm.parts["train"].keys.tolist() * 20)  # 20 whole passes
    passes = [flat[i : i + 16] for i in range(0, len(flat), 16)]
    assert len({tuple(p) for p in passes}) > 1  # each pass its own order
    loader.sampler.set_epoch(2)
    assert [b["keys"].tolist() for b in loader] == batches
    assert len(dm.shuffled_loader("train", seed=3)) == 1  # pre-training's loader is never repeated
