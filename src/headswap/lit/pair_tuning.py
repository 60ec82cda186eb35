"""Tuning the body on contrastive pairs (``regime.pairs``): the pairs each epoch, the step, the optimizer.

The plain parts (what a pair is, how pairs are drawn, the loss) are ``headswap.model.pairs``'; this
module feeds them to a Lightning ``Trainer``, the same machinery every other fit here runs on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Sampler

from headswap.lit.datamodule import EncodedTexts, PadCollate
from headswap.model.pairs import Pair, PairSettings, check_pair_count, draw_pairs, pair_loss
from headswap.model.schedules import PerGroupSchedule, linear_factor


class PairSampler(Sampler[Pair]):
    """An epoch's pairs, drawn by (seed, epoch): Lightning calls ``set_epoch`` before each epoch."""

    def __init__(self, labels: Sequence[int], per_example: int, seed: int) -> None:
        check_pair_count(len(labels))  # before the trainer starts, not at its first epoch
        self.labels, self.per_example, self.seed, self.epoch = list(labels), per_example, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return 2 * self.per_example * len(self.labels)

    def __iter__(self) -> Iterator[Pair]:
        return iter(draw_pairs(self.labels, self.per_example, self.seed, self.epoch))


class PairTexts(Dataset):
    """A pair's two encoded texts and its target, from the training part. ``collate`` makes B pairs one
    padded batch of 2B texts (the first texts, then the second) and B targets: the body embeds both sides
    in one call."""

    def __init__(self, texts: EncodedTexts, pad_id: int) -> None:
        self.texts, self.pad = texts, PadCollate(pad_id)

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, pair: Pair) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...], float]:
        i, j, target = pair
        return self.texts[i], self.texts[j], target

    def collate(self, pairs: Sequence[tuple[Any, Any, float]]) -> dict[str, Tensor]:
        firsts, seconds, targets = zip(*pairs)
        return {**self.pad([*firsts, *seconds]), "targets": torch.tensor(targets)}


def pair_loader(texts: EncodedTexts, pad_id: int, settings: PairSettings, seed: int) -> DataLoader:
    sampler = PairSampler(texts.labels.tolist(), settings.per_example, seed)
    dataset = PairTexts(texts, pad_id)
    return DataLoader(dataset, batch_size=settings.batch_size, sampler=sampler, collate_fn=dataset.collate)


class PairTuning(L.LightningModule):
    """The body, trained so that the cosine similarity of a pair's pooled embeddings meets its target
    (``headswap.model.pairs.pair_loss``); AdamW under a linear warm-up and decay, as SetFit's body. The
    pool has nothing to learn (a learning pool is refused with pairs)."""

    def __init__(self, body: nn.Module, pool: nn.Module, settings: PairSettings) -> None:
        super().__init__()
        self.body, self.pool, self.settings = body, pool, settings
        self.pairs_seen = 0  # counted, not computed: a capped trainer (max_steps, max_time) stops early

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        mask = batch["attention_mask"]
        embeddings = self.pool(self.body(batch["input_ids"], mask), mask)  # 2B x D
        first, second = embeddings.chunk(2)
        loss = pair_loss(first, second, batch["targets"])
        self.pairs_seen += len(first)
        self.log("pairs/loss", loss, prog_bar=True, batch_size=len(first))
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        settings = self.settings
        params = [p for p in self.body.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
        total = int(self.trainer.estimated_stepping_batches)
        factor = partial(linear_factor, total_steps=total, warmup_steps=int(settings.warmup * total))
        schedule = PerGroupSchedule(optimizer, {}, default=factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def tune_on_pairs(
    body: nn.Module,
    pool: nn.Module,
    texts: EncodedTexts,
    pad_id: int,
    settings: PairSettings,
    trainer: L.Trainer,
    seed: int,
) -> dict[str, int]:
    """Train ``body`` (every weight) in place on pairs of ``texts`` (the training part), embedded through
    ``pool``; ``trainer`` runs ``settings.epochs`` epochs. Returns how many pairs, steps and weights that
    was."""
    body.requires_grad_(True)
    body.train()
    tuning = PairTuning(body, pool, settings)
    trainer.fit(tuning, train_dataloaders=pair_loader(texts, pad_id, settings, seed))
    params = sum(p.numel() for p in body.parameters())
    return {"pairs": tuning.pairs_seen, "steps": int(trainer.global_step), "params": params}
