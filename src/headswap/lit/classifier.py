"""Training the head-swapped classifier under a regime: steps, metrics, optimizer, feature cache."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from itertools import chain
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from headswap.lit.datamodule import in_input_order
from headswap.lit.metrics import confusion_matrix, metrics_for
from headswap.model import Pool, Regime, count_parameters, set_train_modes
from headswap.model.adapters import add_lora
from headswap.model.classifier import Classifier, linear_head
from headswap.model.feature_cache import FeatureCache
from headswap.model.regime import frozen_prefix_blocks, trains
from headswap.model.schedules import constant


class HeadSwapClassifier(L.LightningModule):
    """Trains a ``Classifier`` (body -> pool -> head) under a regime: one loop for every regime.

    The regime decides ``requires_grad`` and learning rates; this module adds only what training
    needs: steps, metrics, the optimizer and the feature cache. The body is used as given (already
    pretrained). When no body weight trains, the body runs without an autograd graph, in eval mode,
    and what it computes for an example is cached after the first epoch. ``body_lr_scale`` (the body's
    ``lr_scale``) scales the regime's body rates: a pretrained encoder moves at a fraction of the tiny
    body's rates.
    """

    def __init__(
        self,
        body: nn.Module,
        pool: Pool,
        regime: Regime,
        optimizer: Callable[..., Optimizer] = torch.optim.Adam,
        schedule: Callable[[Optimizer, int], LRScheduler] = constant,
        class_weights: Sequence[float] | None = None,
        standardize: bool = True,
        cache_features: bool = True,
        body_lr_scale: float = 1.0,
        prefix_cache_mb: float = 1024.0,
        num_classes: int = 2,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.classifier = Classifier(body, pool, linear_head(pool.out_dim, standardize, num_classes))
        self.regime = regime.scale_body_rates(body_lr_scale)
        self.optimizer_factory = optimizer
        self.schedule = schedule
        self.register_buffer(
            "class_weights", torch.tensor(class_weights, dtype=torch.float) if class_weights else None
        )
        if regime.adapters:
            add_lora(body, **regime.adapters)
        regime.apply_requires_grad(body.parts())  # so parameter counts are right before fit starts
        self._body_trains_this_epoch: bool | None = None  # see body_trains
        self._prefix_this_epoch: int | None = None  # see frozen_prefix
        self.feature_cache = FeatureCache(prefix_cache_mb) if cache_features else None
        if self.feature_cache is not None:  # new body weights (a checkpoint, or by hand) make features stale
            body.register_load_state_dict_pre_hook(self._clear_cache)
        self._loss_sum, self._loss_count = torch.zeros(()), 0  # the epoch's training loss, summed by example
        self.val_metrics = metrics_for("val/", num_classes)
        self.test_metrics = metrics_for("test/", num_classes)
        self.test_confusion = confusion_matrix(num_classes=num_classes)
        self.confusion: list[list[int]] | None = (
            None  # N x N of the last test run: [[tn, fp], [fn, tp]] for 2
        )

    @property
    def body(self) -> nn.Module:
        return self.classifier.body

    @property
    def pool(self) -> Pool:
        return self.classifier.pool

    @property
    def head(self) -> nn.Module:
        return self.classifier.head

    def forward(self, input_ids: Tensor, attention_mask: Tensor, keys: Tensor | None = None) -> Tensor:
        """Logits B x N. With ``keys`` (corpus positions) what the frozen part computes comes from the
        cache: a frozen body's features, or the hidden states its frozen lowest blocks hand on."""
        cache = self.feature_cache if keys is not None else None
        if self.body_trains():
            prefix = self.frozen_prefix() if cache is not None else 0
            if not prefix:
                return self.classifier(input_ids, attention_mask)
            cache.use_for(("prefix", prefix))
            with torch.no_grad():
                hidden = cache.get(  # B x T x D entering the first trainable block
                    keys, attention_mask, lambda: self.body.hidden_before(input_ids, attention_mask, prefix)
                )
            return self.classifier.logits_from_block(hidden, attention_mask, prefix)
        with torch.no_grad():
            if cache is not None and not self.body.training:
                cache.use_for("features")
                features = cache.get(
                    keys, attention_mask, lambda: self.classifier.frozen_features(input_ids, attention_mask)
                )
            else:
                features = self.classifier.frozen_features(input_ids, attention_mask)
        return self.classifier.logits_from_features(features, attention_mask)

    def frozen_prefix(self) -> int:
        """How many of the lowest blocks run frozen and in eval mode, with the embeddings, in a body
        that trains above them: their output can be cached. 0 when none can (the embeddings train, the
        body cannot be split, or training runs outside a Lightning epoch, whose start sets the modes)."""
        if self._prefix_this_epoch is not None:
            return self._prefix_this_epoch
        if self.training or not getattr(self.body, "splits", False):
            return 0
        return frozen_prefix_blocks(self.body.parts())

    def body_trains(self) -> bool:
        """Whether any body weight trains. Asked every step, so a training epoch asks the parameters
        once, at its start, after callbacks such as ``GradualUnfreezing`` have changed them."""
        if self._body_trains_this_epoch is not None:
            return self._body_trains_this_epoch
        return trains(self.body)

    def on_fit_start(self) -> None:
        self._clear_cache()  # the body may have changed since the last fit

    def _clear_cache(self, *_: object) -> None:  # *_: also a load_state_dict pre-hook's arguments
        if self.feature_cache is not None:
            self.feature_cache.clear()

    def head_parameters(self) -> list[nn.Parameter]:
        """The head and any learned pool: they train in every regime."""
        return list(chain(self.pool.parameters(), self.head.parameters()))

    def parameter_counts(self) -> tuple[int, int]:
        return count_parameters(self)

    def _logits_and_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        logits = self(batch["input_ids"], batch["attention_mask"], batch.get("keys"))
        return logits, F.cross_entropy(logits, batch["labels"], weight=self.class_weights)

    def _step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """What the metrics take and the loss, in ``_logits_and_loss``'s order."""
        logits, loss = self._logits_and_loss(batch)
        return self.metric_input(logits.softmax(dim=-1)), loss

    def metric_input(self, probs: Tensor) -> Tensor:
        """Probabilities B x N -> what the metrics take: class-1 probabilities B for two classes (binary
        metrics would squash anything outside [0, 1] with a sigmoid), B x N for more."""
        return probs[:, 1] if self.num_classes == 2 else probs

    def on_train_epoch_start(self) -> None:
        set_train_modes(self.body, self.body.parts())
        self.pool.train()
        self.head.train()
        self._loss_sum, self._loss_count = torch.zeros((), device=self.device), 0
        self._body_trains_this_epoch = trains(self.body)
        splits = getattr(self.body, "splits", False)
        self._prefix_this_epoch = frozen_prefix_blocks(self.body.parts()) if splits else 0

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        _, loss = self._logits_and_loss(batch)
        # Summed here and logged once per epoch: a ``self.log`` call, or even a metric's update, per
        # step costs more than a head-only step on cached features.
        self._loss_sum += loss.detach() * len(batch["labels"])
        self._loss_count += len(batch["labels"])
        return loss

    def on_train_epoch_end(self) -> None:
        self._body_trains_this_epoch = self._prefix_this_epoch = None
        # summed over every process's examples before dividing, so uneven shares weigh right under DDP
        total = self.trainer.strategy.reduce(self._loss_sum, reduce_op="sum")
        count = self.trainer.strategy.reduce(
            torch.tensor(float(self._loss_count), device=self.device), reduce_op="sum"
        )
        self.log("train/loss", total / count.clamp(min=1))

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        probs, loss = self._step(batch)
        self.val_metrics.update(probs, batch["labels"])
        self.log("val/loss", loss, on_epoch=True, batch_size=len(batch["labels"]), sync_dist=True)
        self.log_dict(self.val_metrics, on_step=False, on_epoch=True)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        probs, loss = self._step(batch)
        self.test_metrics.update(probs, batch["labels"])
        self.test_confusion.update(probs, batch["labels"])
        self.log("test/loss", loss, on_epoch=True, batch_size=len(batch["labels"]), sync_dist=True)
        self.log_dict(self.test_metrics, on_step=False, on_epoch=True)

    def on_test_epoch_end(self) -> None:
        self.confusion = self.test_confusion.compute().tolist()
        self.test_confusion.reset()

    @torch.no_grad()
    def predict_logits(self, loader: Iterable[dict[str, Tensor]]) -> tuple[Tensor, Tensor]:
        """Logits [n, N] and labels [n] (on the CPU) of every example in ``loader``, computed in eval mode
        on wherever the module is (after a fit or test Lightning has moved it back to the CPU), in the
        part's order whatever order the batches came in (a frozen body's features come from the cache,
        which validation and testing have filled)."""
        self.eval()
        logits, labels, index = [], [], []
        # the trainer's precision (bf16 autocast under bf16-mixed), so these logits are the ones
        # trainer.test scored: errors.jsonl and the calibration figures match the confusion matrix
        precision = self._trainer.precision_plugin.forward_context() if self._trainer else nullcontext()
        with precision:
            for batch in loader:
                ids, mask = batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device)
                keys = batch["keys"].to(self.device) if "keys" in batch else None
                logits.append(self(ids, mask, keys).float().cpu())  # on the module's device, back on the CPU
                labels.append(batch["labels"])
                index.append(batch["index"])
        order = torch.cat(index)
        return in_input_order(order, torch.cat(logits)), in_input_order(order, torch.cat(labels))

    def predict_proba(self, loader: Iterable[dict[str, Tensor]]) -> tuple[Tensor, Tensor]:
        """The metrics' input (``metric_input``: class-1 probabilities [n] for two classes, [n, N] for more)
        and labels [n] of every example in ``loader``, in the part's order."""
        logits, labels = self.predict_logits(loader)
        return self.metric_input(logits.softmax(dim=-1)), labels

    @property
    def schedule_name(self) -> str:
        return getattr(self.schedule, "func", self.schedule).__name__

    def build_optimizer(self) -> Optimizer:
        """The optimizer over exactly the regime's trainable parameters, one group per rate."""
        parts = self.body.parts()
        self.regime.apply_requires_grad(parts)  # the regime's starting flags, whatever ran before
        return self.optimizer_factory(self.regime.optimizer_groups(parts, self.head_parameters()))

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = self.build_optimizer()
        scheduler = self.schedule(optimizer, int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
