"""Contrastive pairs: SetFit's idea (Tunstall et al., 2022) as plain code, the body's step before the head.

With a few labels a class, a body learns more from pairs than from labels: every two examples are a
pair, "same class" or "different class", so K examples of each class give far more training signals
than K labels do. The body (and its pool) embed both texts of a pair; the loss is the squared gap
between their cosine similarity and the pair's target, 1 for the same class and 0 for different
classes (sentence-transformers' ``CosineSimilarityLoss``, which SetFit trains with). Then the head
trains on the tuned body, frozen, as ``regime=head`` does.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

from headswap.errors import ConfigError
from headswap.seeding import mixed_seed

Pair = tuple[int, int, float]  # positions of the two examples in the training part, target similarity
MOST_LISTED_PAIRS = 10_000_000  # every pair is listed, as SetFit lists them: about 1.7 GB of Python tuples


@dataclass(frozen=True)
class PairSettings:
    """``regime.pairs``: how the body learns from pairs before the head trains. The defaults are SetFit
    1.2's (``num_iterations=20``, ``batch_size=16``, one epoch, body rate 2e-5, 10% warm-up)."""

    per_example: int = 20  # same-class pairs per example an epoch, and as many different-class pairs
    epochs: int = 1
    # AdamW's rate for the body (and pool), linear warm-up then linear decay to 0; as given, not scaled
    # by body.lr_scale: SetFit's rate for a pretrained encoder, the body this step is for
    lr: float = 2e-5
    batch_size: int = 16  # pairs a step
    warmup: float = 0.1  # the share of the steps the rate warms up over
    weight_decay: float = 0.01

    def __post_init__(self) -> None:
        """Each value checked alone, so the one-line refusal names the setting that is wrong."""
        count, number = ((int,), lambda v: v >= 1, "a whole number >= 1"), (int, float)
        rules = {
            **dict.fromkeys(("per_example", "epochs", "batch_size"), count),
            "lr": (number, lambda v: v > 0, "a number > 0"),
            "warmup": (number, lambda v: 0 <= v < 1, "a number in [0, 1)"),
            "weight_decay": (number, lambda v: v >= 0, "a number >= 0"),
        }
        for name, (kinds, holds, wanted) in rules.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, kinds) or not holds(value):
                raise ConfigError(
                    f"regime.pairs.{name}={value!r} must be {wanted}", key=f"regime.pairs.{name}"
                )


def check_pair_count(n: int) -> None:
    """Refuse a training part whose pairs would not fit in memory, naming the budget that fixes it."""
    listed = n * (n + 1) // 2
    if listed > MOST_LISTED_PAIRS:
        raise ConfigError(
            f"regime.pairs lists every pair of the training part, and its {n:,} examples make {listed:,}, "
            f"more than {MOST_LISTED_PAIRS:,}: set data.train_per_class=K (pairs pay at a few labels a "
            "class; with this many, regime=full costs less)",
            key="data.train_per_class",
        )


def draw_pairs(labels: Sequence[int], per_example: int, seed: int, epoch: int = 0) -> list[Pair]:
    """``per_example * n`` same-class and as many different-class pairs of the ``n`` examples, alternating,
    drawn by (``seed``, ``epoch``) alone.

    As SetFit: every unordered pair (an example with itself included, as SetFit's) in a random order,
    split by kind, each kind taken in turn and cycled until it holds ``per_example * n``. Training data of
    one class has no different-class pair: named."""
    rng = random.Random(mixed_seed(seed, epoch))
    every = list(itertools.combinations_with_replacement(range(len(labels)), 2))
    rng.shuffle(every)
    same = [(i, j, 1.0) for i, j in every if labels[i] == labels[j]]
    other = [(i, j, 0.0) for i, j in every if labels[i] != labels[j]]
    if not other:
        raise ConfigError(
            "regime.pairs needs examples of two classes or more in the training part; it has one class",
            key="regime",
        )
    wanted = per_example * len(labels)
    kinds = [list(itertools.islice(itertools.cycle(kind), wanted)) for kind in (same, other)]
    return [pair for two in zip(*kinds) for pair in two]


def pair_loss(a: Tensor, b: Tensor, target: Tensor) -> Tensor:
    """Mean squared gap between the cosine similarity of embeddings ``a`` and ``b`` (B x D) and ``target``
    (B: 1 same class, 0 different)."""
    return F.mse_loss(F.cosine_similarity(a.float(), b.float(), dim=-1), target.float())
