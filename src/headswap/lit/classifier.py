"""Training the head-swapped classifier under a regime: the steps, the validation scores, the optimizer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from headswap.model import Pool, Regime, count_parameters
from headswap.model.classifier import build_classifier
from headswap.model.schedules import constant
from headswap.scoring import score
from headswap.task import Task

TWO_CLASSES = Task(("negative", "positive"))


class HeadSwapClassifier(L.LightningModule):
    """Trains a ``Classifier`` (body -> pool -> head) under a regime: one loop for every regime.

    The regime decides ``requires_grad`` and learning rates, the ``Classifier`` what its frozen part
    computes and caches; this module adds the steps, the validation scores (``headswap.scoring``, the one
    function every split is scored by) and the optimizer. The body is used as given (already pretrained);
    ``body_lr_scale`` (the body's ``lr_scale``) scales the regime's body rates: a pretrained encoder moves
    at a fraction of the tiny body's rates.
    """

    def __init__(
        self,
        body: nn.Module,
        pool: Pool,
        regime: Regime,
        task: Task = TWO_CLASSES,
        optimizer: Callable[..., Optimizer] = torch.optim.Adam,
        schedule: Callable[[Optimizer, int], LRScheduler] = constant,
        class_weights: Sequence[float] | None = None,
        standardize: bool = True,
        cache_features: bool = True,
        body_lr_scale: float = 1.0,
        prefix_cache_mb: float = 1024.0,
        unit_length: bool = False,
        head_c: float | None = None,
    ) -> None:
        super().__init__()
        self.task = task
        cache_mb = prefix_cache_mb if cache_features else None
        self.classifier = build_classifier(
            body, pool, task.num_classes, standardize, regime.adapters, cache_mb, unit_length
        )
        self.head_c = head_c
        self._train_examples = 1  # the training part's size, known when training starts
        self.regime = regime.scale_body_rates(body_lr_scale)
        self.regime.apply_requires_grad(body.parts())  # so parameter counts are right before fit starts
        self.optimizer_factory = optimizer
        self.schedule = schedule
        weights = torch.tensor(class_weights, dtype=torch.float) if class_weights else None
        self.register_buffer("class_weights", weights)
        self._loss_sum, self._loss_count = torch.zeros(()), 0  # the epoch's training loss, summed by example
        self._validation: list[tuple[Tensor, Tensor]] = []  # the epoch's (logits, labels), scored at its end

    @property
    def body(self) -> nn.Module:
        return self.classifier.body

    def forward(self, input_ids: Tensor, attention_mask: Tensor, keys: Tensor | None = None) -> Tensor:
        """Logits B x N; with ``keys`` (corpus positions) the frozen part's output comes from the cache."""
        return self.classifier(input_ids, attention_mask, keys)

    def on_fit_start(self) -> None:
        if self.classifier.cache is not None:
            self.classifier.cache.clear()  # the body may have changed since the last fit

    def on_train_epoch_start(self) -> None:
        self.classifier.set_train_modes()  # Lightning leaves modes as they are; frozen parts run in eval
        self._loss_sum, self._loss_count = torch.zeros((), device=self.device), 0

    def on_train_start(self) -> None:
        self._train_examples = len(self.trainer.train_dataloader.dataset)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"], batch.get("keys"))
        loss = F.cross_entropy(logits, batch["labels"], weight=self.class_weights)
        # Summed here and logged once per epoch: a ``self.log`` call, or even a metric's update, per
        # step costs more than a head-only step on cached features.
        self._loss_sum += loss.detach() * len(batch["labels"])
        self._loss_count += len(batch["labels"])
        return loss + self.head_penalty()

    def head_penalty(self) -> Tensor:
        """``head_c``'s L2 penalty on the head's weights (not its bias), scikit-learn's
        ``LogisticRegression(C=head_c)`` per training example: |W|^2 / (2 C n), n the training part's
        size, so that a step on the whole part minimises exactly what scikit-learn minimises (the mean
        loss plus the penalty). Two classes: on w1 - w0, the one weight vector of scikit-learn's binary
        model. 0 without ``head_c``."""
        if self.head_c is None:
            return torch.zeros((), device=self.device)
        weight = self.classifier.head[-1].weight.float()  # N x D
        if self.task.binary:
            weight = weight[1] - weight[0]
        return weight.square().sum() / (2 * self.head_c * self._train_examples)

    def on_train_epoch_end(self) -> None:
        # summed over every process's examples before dividing, so uneven shares weigh right under DDP
        total = self.trainer.strategy.reduce(self._loss_sum, reduce_op="sum")
        count = self.trainer.strategy.reduce(
            torch.tensor(float(self._loss_count), device=self.device), reduce_op="sum"
        )
        self.log("train/loss", total / count.clamp(min=1))

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        logits = self(batch["input_ids"], batch["attention_mask"], batch.get("keys"))
        self._validation.append((logits.float(), batch["labels"]))

    def on_validation_epoch_end(self) -> None:
        """Every validation figure, scored once on the whole split (gathered from every DDP process)."""
        logits, labels = (torch.cat(part) for part in zip(*self._validation))
        self._validation.clear()
        if self.trainer.world_size > 1:
            logits, labels = (self.all_gather(t).flatten(0, 1) for t in (logits, labels))
        figures = score(logits, labels, self.task, class_weights=self.class_weights).figures
        self.log_dict({f"val/{name}": value for name, value in figures.items()}, sync_dist=True)

    def parameter_counts(self) -> tuple[int, int]:
        return count_parameters(self)

    @property
    def schedule_name(self) -> str:
        return getattr(self.schedule, "func", self.schedule).__name__

    def build_optimizer(self) -> Optimizer:
        """The optimizer over exactly the regime's trainable parameters, one group per rate."""
        parts = self.body.parts()
        self.regime.apply_requires_grad(parts)  # the regime's starting flags, whatever ran before
        head = chain(self.classifier.pool.parameters(), self.classifier.head.parameters())  # train always
        return self.optimizer_factory(self.regime.optimizer_groups(parts, head))

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = self.build_optimizer()
        scheduler = self.schedule(optimizer, int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
