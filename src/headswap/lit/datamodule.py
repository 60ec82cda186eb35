"""The data module: loads a corpus, splits it, tokenizes it once and pads each batch."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from headswap.data import Example, TableSource, TextSource
from headswap.data.config import DataConfig, OwnParts
from headswap.data.parts import PARTS, make_parts, own_labels
from headswap.data.split import drop_rare_classes
from headswap.model.padding import pad_batch
from headswap.seeding import mixed_seed
from headswap.task import Task


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

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, Tensor, int]:
        return self.ids[i], self.labels[i], self.keys[i], i

    def lengths(self) -> list[int]:
        """Each example's token count: what length-grouped batching sorts by."""
        return [len(x) for x in self.ids]


class PadCollate:
    """Pads to the longest sequence of the batch (never beyond ``max_len``, which encoding enforces)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(
        self, batch: Sequence[tuple[Tensor, ...] | tuple[Tensor, Tensor, Tensor, int]]
    ) -> dict[str, Tensor]:
        """Items are (ids, label, key, position in the part); without a position, the batch's own order."""
        ids, labels, keys, *given = zip(*batch)
        positions = given[0] if given else range(len(ids))
        return {
            **pad_batch(ids, self.pad_id),  # input_ids, attention_mask: B x T
            "labels": torch.stack(labels),  # B
            "keys": torch.stack(keys),  # B: corpus positions, for the frozen-body feature cache
            "index": torch.tensor(positions),  # B: positions in the part, to hand results back in its order
        }


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The one random source of an epoch's order: a function of (seed, epoch) alone."""
    return torch.Generator().manual_seed(mixed_seed(seed, epoch))


class EpochShuffle(Sampler[int]):
    """A random order that depends only on (seed, epoch). Lightning calls ``set_epoch`` before each
    epoch, so a run resumed at epoch k sees the same batches as the uninterrupted run did. ``passes``
    orders in one epoch, each its own (seed, epoch * passes + pass): the epoch of a tiny training part
    (``data.min_steps_per_epoch``) still holds several optimizer steps."""

    def __init__(self, n: int, seed: int | None, passes: int = 1) -> None:
        self.n, self.passes, self.epoch = n, passes, 0
        self.seed = int(torch.randint(2**31, ())) if seed is None else int(seed)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.passes * self.n

    def __iter__(self) -> Iterator[int]:
        epochs = range(self.epoch * self.passes, (self.epoch + 1) * self.passes)
        return (i for e in epochs for i in self._order(epoch_generator(self.seed, e)))

    def _order(self, generator: torch.Generator) -> list[int]:
        return torch.randperm(self.n, generator=generator).tolist()


class LengthGroupedShuffle(EpochShuffle):
    """``EpochShuffle``, with examples of similar length batched together, so batches carry little padding.

    Each epoch: a random order, cut into chunks of ``chunk_batches`` batches, each chunk sorted by
    length and cut into batches, then the full batches in a random order and the one short batch (if
    any) last. The DataLoader batches consecutive indices, so it forms exactly these batches; a
    shuffled order of whole batches keeps short and long ones mixed through the epoch.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        seed: int | None,
        chunk_batches: int = 50,
        passes: int = 1,
    ) -> None:
        super().__init__(len(lengths), seed, passes)
        self.lengths = torch.tensor(list(lengths))
        self.batch_size = batch_size
        self.chunk = batch_size * chunk_batches

    def _order(self, generator: torch.Generator) -> list[int]:
        order = torch.randperm(self.n, generator=generator)
        chunks = [c[self.lengths[c].argsort(stable=True)] for c in order.split(self.chunk)]
        batches = list(torch.cat(chunks).split(self.batch_size))
        short = [batches.pop()] if len(batches[-1]) < self.batch_size else []
        shuffled = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        return torch.cat([*shuffled, *short]).tolist()


def in_input_order(index: Tensor, values: Tensor) -> Tensor:
    """``values`` (N x ...) of the examples at part positions ``index`` (N), put back in part order."""
    out = torch.empty_like(values)
    out[index] = values
    return out


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
        shuffle_seed: int | None = None,
        own_parts: dict[str, TextSource] | None = None,
        **settings: Any,
    ) -> None:
        """``settings``: the fields of ``DataConfig`` (``max_len``, ``batch_size``, ...), checked there.
        ``own_parts``: ``val`` and/or ``test`` sources the user brought (``data.val_path``, ``test_path``)."""
        super().__init__()
        self.config = DataConfig(**settings)
        self.source = source
        self.own_parts = own_parts or {}
        self.tokenizer = tokenizer
        self.shuffle_seed = shuffle_seed  # the training seed: batch order per epoch
        self._label_names: tuple[str, ...] | None = None  # the classes kept, once loaded
        self.collate = PadCollate(tokenizer.pad_id)
        self.parts: dict[str, EncodedTexts] = {}
        self.stats: dict[str, object] = {}
        self.rows_read = 0  # the training file's rows, before budgets and dropped classes: what it holds

    @property
    def label_names(self) -> tuple[str, ...]:
        """The classes, index = class id: (negative, positive) for two; less any ``min_per_class`` dropped."""
        return self._label_names or tuple(self.source.label_names)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def task(self) -> Task:
        return Task(self.label_names)

    def setup(self, stage: str | None = None) -> None:
        if self.parts:
            return
        cfg, examples = self.config, self.source.load()
        self.rows_read = len(examples)
        examples, names, dropped = drop_rare_classes(examples, self.source.label_names, cfg.min_per_class)
        self._label_names = names
        files = {}
        for part, src in self.own_parts.items():
            path = str(getattr(src, "path", part))
            files[part] = (path, own_labels(src.load(), names, src.label_names, path))
        seed = cfg.sample_seed if cfg.sample_seed is not None else (self.shuffle_seed or 0)
        parts = make_parts(examples, names, cfg, files, seed)
        for p in PARTS:
            self.parts[p] = EncodedTexts(parts.examples[p], parts.keys[p], self.tokenizer, cfg.max_len)
        every = [*examples, *(e for _, own in files.values() for e in own)]
        self.stats = {
            "sizes": {
                p: dict(sorted(Counter(names[e.label] for e in parts.examples[p]).items())) for p in PARTS
            },
            "duplicate_groups": parts.split.duplicate_groups,
            "duplicate_rows": parts.split.duplicate_rows,
            "truncated": sum(self.tokenizer.is_truncated(e.text, cfg.max_len) for e in every),
            "max_len": cfg.max_len,
            "warnings": [*([dropped] if dropped else []), *parts.warnings],
            **parts.notes,
        }

    def texts(self, part: str) -> list[str]:
        return [e.text for e in self.parts[part].examples]

    def loader(self, part: str, batch_size: int | None = None) -> DataLoader:
        """Every example of ``part`` once, for evaluation, by length (little padding; each batch's ``index``
        puts results back in the part's order). In eval mode an example's result does not depend on the
        batch it is in, so this order costs nothing in quality, unlike length-grouped training batches."""
        dataset, size = self.parts[part], batch_size or self.config.batch_size
        order = torch.tensor(dataset.lengths()).argsort(stable=True).tolist()  # shortest to longest
        return DataLoader(dataset, batch_size=size, sampler=order, collate_fn=self.collate)

    def shuffled_loader(
        self,
        part: str,
        seed: int | None,
        batch_size: int | None = None,
        group_by_length: bool | None = None,
        min_steps: int = 0,
    ) -> DataLoader:
        """Training batches of ``part`` in a new order each epoch, fixed by (``seed``, epoch); a None seed
        draws one. Length-grouped unless ``group_by_length`` (default: the module's setting) is false;
        with ``min_steps``, the part repeated (each pass in its own order) until an epoch holds that many
        batches."""
        dataset, size = self.parts[part], batch_size or self.config.batch_size
        grouped = self.config.group_by_length if group_by_length is None else group_by_length
        passes = max(1, -(-min_steps * size // len(dataset)))  # ceil: the passes that make min_steps batches
        sampler = (
            LengthGroupedShuffle(dataset.lengths(), size, seed, passes=passes)
            if grouped
            else EpochShuffle(len(dataset), seed, passes)
        )
        return DataLoader(
            dataset,
            batch_size=size,
            sampler=sampler,
            collate_fn=self.collate,
            # a last batch of one example has no batch statistics for the head's gradient (Standardize)
            drop_last=len(sampler) % size == 1,
        )

    def train_dataloader(self) -> DataLoader:
        return self.shuffled_loader("train", self.shuffle_seed, min_steps=self.config.min_steps_per_epoch)

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
    own_keys = {f.name for f in dataclasses.fields(OwnParts)}
    split = {k: v for k, v in settings.items() if k not in file_keys | own_keys}
    own = {
        key.removesuffix("_path"): dataclasses.replace(source, path=settings[key])
        for key in sorted(own_keys)
        if settings.get(key) is not None
    }
    return TextDataModule(source, tokenizer, shuffle_seed, own, **split)
