"""The data module: loads a corpus, splits it, tokenizes it once and pads each batch."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import lightning as L
import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, Sampler

from headswap.data import Example, TableSource, TextSource, split_warnings, stratified_group_split
from headswap.data.config import DataConfig

PARTS = ("train", "val", "test")


class Tokenizer(Protocol):
    pad_id: int

    def encode(self, text: str, max_len: int) -> list[int]: ...

    def is_truncated(self, text: str, max_len: int) -> bool: ...


class EncodedTexts(Dataset):
    """Token-id tensors of varying length and their labels, kept in memory.

    ``keys`` are the examples' positions in the whole corpus: unique across train, val and test,
    so a cache of per-example features never confuses two parts.
    """

    def __init__(
        self, examples: Sequence[Example], keys: Sequence[int], tokenizer: Tokenizer, max_len: int
    ) -> None:
        self.examples = list(examples)
        self.keys = torch.tensor(list(keys))
        self.ids = [torch.tensor(tokenizer.encode(e.text, max_len)) for e in self.examples]
        self.labels = torch.tensor([e.label for e in self.examples])

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, Tensor]:
        return self.ids[i], self.labels[i], self.keys[i]


class PadCollate:
    """Pads to the longest sequence of the batch (never beyond ``max_len``, which encoding enforces)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, batch: list[tuple[Tensor, Tensor, Tensor]]) -> dict[str, Tensor]:
        ids, labels, keys = zip(*batch)
        lengths = torch.tensor([len(x) for x in ids])
        input_ids = pad_sequence(ids, batch_first=True, padding_value=self.pad_id)  # B x T
        attention_mask = (torch.arange(input_ids.shape[1]) < lengths[:, None]).long()  # B x T
        return {
            "input_ids": input_ids,  # B x T
            "attention_mask": attention_mask,  # B x T
            "labels": torch.stack(labels),  # B
            "keys": torch.stack(keys),  # B: corpus positions, for the frozen-body feature cache
        }


class EpochShuffle(Sampler[int]):
    """A random order that depends only on (seed, epoch). Lightning calls ``set_epoch`` before each
    epoch, so a run resumed at epoch k sees the same batches as the uninterrupted run did."""

    def __init__(self, n: int, seed: int | None) -> None:
        self.n = n
        self.seed = int(torch.randint(2**31, ())) if seed is None else int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=generator).tolist())


class TextDataModule(L.LightningDataModule):
    """Owns the corpus (the fixture by default, or any ``TextSource``), its split and the padding collate.

    The split depends only on ``split_seed``, never on the training seed, so a sweep over seeds measures
    training variance on one fixed test set. The validation part is carved from the training part
    and is the only data used for model selection; the test part is read once, at the end.
    """

    def __init__(
        self, source: TextSource, tokenizer: Tokenizer, shuffle_seed: int | None = None, **settings: Any
    ) -> None:
        """``settings``: the fields of ``DataConfig`` (``max_len``, ``batch_size``, ...), checked there."""
        super().__init__()
        self.config = DataConfig(**settings)
        self.source = source
        self.tokenizer = tokenizer
        self.shuffle_seed = shuffle_seed  # the training seed: batch order per epoch
        self.collate = PadCollate(tokenizer.pad_id)
        self.parts: dict[str, EncodedTexts] = {}
        self.stats: dict[str, object] = {}

    @property
    def label_names(self) -> tuple[str, str]:
        return tuple(self.source.label_names)  # type: ignore[return-value]

    def setup(self, stage: str | None = None) -> None:
        if self.parts:
            return
        examples = self.source.load()
        texts, labels = [e.text for e in examples], [e.label for e in examples]
        cfg = self.config
        split = stratified_group_split(texts, labels, cfg.test_fraction, cfg.val_fraction, cfg.split_seed)
        for part in PARTS:
            keys = getattr(split, part)
            self.parts[part] = EncodedTexts([examples[i] for i in keys], keys, self.tokenizer, cfg.max_len)
        self.stats = {
            "sizes": {p: dict(sorted(Counter(self._names(self.parts[p].labels)).items())) for p in PARTS},
            "duplicate_groups": split.duplicate_groups,
            "duplicate_rows": split.duplicate_rows,
            "truncated": sum(self.tokenizer.is_truncated(e.text, cfg.max_len) for e in examples),
            "max_len": cfg.max_len,
            "warnings": split_warnings(texts, labels, split, self.label_names),
        }

    def _names(self, labels: Tensor) -> list[str]:
        return [self.label_names[i] for i in labels.tolist()]

    def texts(self, part: str) -> list[str]:
        return [e.text for e in self.parts[part].examples]

    def loader(
        self, part: str, batch_size: int | None = None, shuffle_seed: int | None | bool = False
    ) -> DataLoader:
        """Batches of ``part`` in order, or shuffled per epoch from ``shuffle_seed`` (None: a random seed)."""
        shuffled = shuffle_seed is not False
        size = batch_size or self.config.batch_size
        return DataLoader(
            self.parts[part],
            batch_size=size,
            sampler=EpochShuffle(len(self.parts[part]), shuffle_seed) if shuffled else None,
            collate_fn=self.collate,
            # a training batch of one example cannot be standardised by the head's BatchNorm
            drop_last=shuffled and len(self.parts[part]) % size == 1,
        )

    def train_dataloader(self) -> DataLoader:
        return self.loader("train", shuffle_seed=self.shuffle_seed)

    def val_dataloader(self) -> DataLoader:
        return self.loader("val")

    def test_dataloader(self) -> DataLoader:
        return self.loader("test")


def table_datamodule(
    tokenizer: Tokenizer, shuffle_seed: int | None = None, **settings: Any
) -> TextDataModule:
    """``data=csv``: a user's CSV/TSV file. ``settings`` holds the file's (``TableSource``'s fields:
    ``data.path=my.csv``) beside the split's (``DataConfig``'s), all at the top of ``data``."""
    file_keys = {f.name for f in dataclasses.fields(TableSource)}
    source = TableSource(**{k: v for k, v in settings.items() if k in file_keys})
    split = {k: v for k, v in settings.items() if k not in file_keys}
    return TextDataModule(source, tokenizer, shuffle_seed, **split)
