"""Quick language-model pre-training of the body: next-token prediction on the training texts only."""

from __future__ import annotations

import math
from dataclasses import dataclass

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from headswap.errors import ConfigError
from headswap.lit.datamodule import TextDataModule
from headswap.model import LanguageModel, TransformerBody


@dataclass(frozen=True)
class PretrainConfig:
    """How the body is pre-trained; the single source of ``pretrain``'s keys and defaults."""

    epochs: int = 5
    lr: float = 3e-3
    weight_decay: float = 0.01
    cosine: bool = False  # cosine decay of lr over all steps
    batch_size: int = 32
    seed: int = 0  # its own seed: every training seed of a sweep starts from the same body

    def __post_init__(self) -> None:
        for key in ("epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"pretrain.{key}={getattr(self, key)} must be >= 1")
        if self.lr <= 0:
            raise ConfigError(f"pretrain.lr={self.lr} must be > 0")


class LMPretrainModule(L.LightningModule):
    """Body + LM head, trained with AdamW on next-token cross-entropy (optionally under a cosine decay)."""

    def __init__(
        self, body: TransformerBody, lr: float = 3e-3, weight_decay: float = 0.01, cosine: bool = False
    ):
        super().__init__()
        self.lm = LanguageModel(body)
        self.lr, self.weight_decay, self.cosine = lr, weight_decay, cosine

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss = self.lm.next_token_loss(batch["input_ids"], batch["attention_mask"])
        self.log("pretrain/loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["input_ids"]))
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.lm.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        if not self.cosine:
            return optimizer
        steps = self.trainer.estimated_stepping_batches
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, int(steps)))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


@torch.no_grad()
def next_token_loss(lm: LanguageModel, loader: DataLoader) -> float:
    """Mean next-token cross-entropy over every real target token of ``loader``."""
    was_training = lm.training
    lm.eval()
    total, tokens = 0.0, 0
    for batch in loader:
        n = int(batch["attention_mask"][:, 1:].sum())
        total += lm.next_token_loss(batch["input_ids"], batch["attention_mask"]).item() * n
        tokens += n
    lm.train(was_training)
    return total / tokens if tokens else math.nan


def pretrain_quick(
    body: TransformerBody,
    datamodule: TextDataModule,
    trainer: L.Trainer,
    settings: PretrainConfig = PretrainConfig(),
) -> dict[str, float | None]:
    """Train ``body`` in place as a language model on the training part's texts; never on test texts.

    ``trainer`` runs ``settings.epochs`` epochs. Returns the validation part's next-token loss and
    perplexity before and after, so a run can show that pre-training taught the body something (None
    when the run has no validation part).
    """
    datamodule.setup()
    module = LMPretrainModule(
        body, lr=settings.lr, weight_decay=settings.weight_decay, cosine=settings.cosine
    )
    val = datamodule.loader("val", settings.batch_size) if len(datamodule.parts["val"]) else None
    before = next_token_loss(module.lm, val) if val else None
    # plain shuffled batches, whatever the data's setting: a cached body's key does not name the batching
    train = datamodule.shuffled_loader("train", settings.seed, settings.batch_size, group_by_length=False)
    trainer.fit(module, train_dataloaders=train)
    after = next_token_loss(module.lm, val) if val else None
    return {
        "val_loss_before": before,
        "val_loss_after": after,
        "val_perplexity_before": None if before is None else math.exp(before),
        "val_perplexity_after": None if after is None else math.exp(after),
    }
