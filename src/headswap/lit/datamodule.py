"""The data module: loads a corpus, splits it, tokenizes it once and pads each batch."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import lightning as L
import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, Sampler

from headswap.data import Example, TableSource, TextSource, split_warnings, stratified_group_split
from headswap.data.split import drop_rare_classes

PARTS = ("train", "val", "test")

log = logging.getLogger(__name__)


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
        self,
        source: TextSource,
        tokenizer: Tokenizer,
        max_len: int = 32,
        test_fraction: float = 0.2,
        val_fraction: float = 0.2,
        split_seed: int = 0,
        batch_size: int = 32,
        shuffle_seed: int | None = None,
        min_per_class: int = 0,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"data.batch_size={batch_size} must be >= 1")
        if max_len < 2:
            raise ValueError(f"data.max_len={max_len} must be >= 2")
        if min_per_class < 0:
            raise ValueError(f"data.min_per_class={min_per_class} must be >= 0 (0 drops no class)")
        self.source = source
        self.tokenizer = tokenizer
        self.max_len = max_len
        self.test_fraction = test_fraction
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.batch_size = batch_size
        self.shuffle_seed = shuffle_seed  # the training seed: batch order per epoch
        self.min_per_class = min_per_class
        self._label_names: tuple[str, ...] | None = None  # the classes kept, once loaded
        self.collate = PadCollate(tokenizer.pad_id)
        self.parts: dict[str, EncodedTexts] = {}
        self.stats: dict[str, object] = {}

    @property
    def label_names(self) -> tuple[str, ...]:
        """The classes, index = class id: (negative, positive) for two; less any ``min_per_class`` dropped."""
        return self._label_names or tuple(self.source.label_names)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    def setup(self, stage: str | None = None) -> None:
        if self.parts:
            return
        examples = self.source.load()
        names = tuple(self.source.label_names)
        kept, names, dropped = drop_rare_classes([e.label for e in examples], names, self.min_per_class)
        if dropped:
            renumber = {old: new for new, old in enumerate(sorted({examples[i].label for i in kept}))}
            examples = [Example(examples[i].text, renumber[examples[i].label]) for i in kept]
        self._label_names = names
        texts, labels = [e.text for e in examples], [e.label for e in examples]
        split = stratified_group_split(
            texts, labels, self.test_fraction, self.val_fraction, self.split_seed, self.label_names
        )
        for part in PARTS:
            keys = getattr(split, part)
            self.parts[part] = EncodedTexts([examples[i] for i in keys], keys, self.tokenizer, self.max_len)
        self.stats = {
            "sizes": {p: dict(sorted(Counter(self._names(self.parts[p].labels)).items())) for p in PARTS},
            "duplicate_groups": split.duplicate_groups,
            "duplicate_rows": split.duplicate_rows,
            "truncated": sum(self.tokenizer.is_truncated(e.text, self.max_len) for e in examples),
            "max_len": self.max_len,
            "warnings": [
                *([dropped] if dropped else []),
                *split_warnings(texts, labels, split, self.label_names),
            ],
        }
        for warning in self.stats["warnings"]:
            log.warning("split: %s", warning)

    def _names(self, labels: Tensor) -> list[str]:
        return [self.label_names[i] for i in labels.tolist()]

    def texts(self, part: str) -> list[str]:
        return [e.text for e in self.parts[part].examples]

    def loader(
        self, part: str, batch_size: int | None = None, shuffle_seed: int | None | bool = False
    ) -> DataLoader:
        """Batches of ``part`` in order, or shuffled per epoch from ``shuffle_seed`` (None: a random seed)."""
        shuffled = shuffle_seed is not False
        size = batch_size or self.batch_size
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
    path: str,
    tokenizer: Tokenizer,
    text_column: str | int = "text",
    label_column: str | int = "label",
    positive_label: str | int = "spam",
    negative_label: str | int | None = None,
    delimiter: str | None = None,
    header: bool = True,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    quoting: bool = True,
    labels: Sequence[str | int] | None = None,
    **datamodule: Any,
) -> TextDataModule:
    """``data=csv``: a user's CSV/TSV file, with the file's settings at the top of ``data``
    (``data.path=my.csv``). Labels are compared as text, so ``data.positive_label=1`` works, and
    ``data.labels=[neutral,negative,positive]`` fixes the classes and their order."""
    source = TableSource(
        path=str(path),
        text_column=text_column,
        label_column=label_column,
        positive_label=str(positive_label),
        negative_label=None if negative_label is None else str(negative_label),
        delimiter=delimiter,
        header=header,
        encoding=encoding,
        encoding_errors=encoding_errors,
        quoting=quoting,
        labels=None if labels is None else tuple(str(v) for v in labels),
    )
    return TextDataModule(source, tokenizer, **datamodule)
