"""How a corpus is cut and fed, whatever its source: the ``data`` settings every data config shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from headswap.errors import ConfigError


@dataclass
class DataConfig:
    """One definition of the ``data`` settings: Hydra's schema is generated from it (``app/schema.py``),
    so a misspelt or wrong-typed key fails when the config is composed, and each value is checked here,
    once, before any data is read. A new setting is one line below."""

    max_len: int = 32  # tokens per text (special tokens included, truncated); at most the body's positions
    test_fraction: float = 0.2  # per class, of the whole corpus
    val_fraction: float = 0.2  # per class, of what the test part leaves
    split_seed: int = 0  # the split's own seed, independent of the training seed
    batch_size: int = 32
    min_per_class: int = 0  # drop classes with fewer examples, with a warning (0: a too-small class fails)
    # Training batches of texts of similar length (shuffled chunks of 50 batches, each sorted by length):
    # little compute goes on padding. Such batches follow the label (spam runs long), which is why the head
    # standardises by running statistics, not each batch's own (``model.classifier.Standardize``).
    group_by_length: bool = True
    # Label budgets: K examples of each class of the part (null: all), drawn by sample_seed (null: the
    # run's seed), so the regimes of a sweep train on one sample. Few labels: see README, "Few labels".
    train_per_class: int | None = None
    val_per_class: int | None = None  # 0: no validation at all (the last epoch is kept)
    sample_seed: int | None = None
    # A part of 16 texts is one optimizer step an epoch: repeat it (each pass in its own order) until an
    # epoch holds this many batches, so a few-label run trains enough steps without arithmetic (0: off).
    min_steps_per_epoch: int = 0
    drop_test_overlap: bool = False  # with a test file: leave training-file rows whose text it holds out

    def __post_init__(self) -> None:
        if self.max_len < 2:
            raise ConfigError(
                f"data.max_len={self.max_len} is too small: a text needs 2 tokens or more "
                "(its special tokens); set data.max_len >= 2"
            )
        if self.batch_size < 1:
            raise ConfigError(f"data.batch_size={self.batch_size} must be >= 1")
        for name, least in (("train_per_class", 1), ("val_per_class", 0)):
            value = getattr(self, name)
            if value is not None and value < least:
                raise ConfigError(
                    f"data.{name}={value} must be >= {least}, or null for every example", key=f"data.{name}"
                )
        if self.min_steps_per_epoch < 0:
            raise ConfigError(f"data.min_steps_per_epoch={self.min_steps_per_epoch} must be >= 0 (0: off)")
        if self.min_per_class < 0:
            raise ConfigError(f"data.min_per_class={self.min_per_class} must be >= 0 (0 drops no class)")


@dataclass
class OwnParts:
    """A user's own validation and test files (``data=csv``), read with the training file's settings. A
    test file is the test part as it is, and the training file is then split into train and validation
    only; a validation file likewise replaces the split's validation part."""

    val_path: str | None = None
    test_path: str | None = None


def validates(data: Mapping[str, Any]) -> bool:
    """Whether a run with these ``data`` settings has a validation part: not with ``val_per_class=0``
    (every labelled example a user has goes to training or test), nor with ``val_fraction=0`` and no
    validation file. Without one the last epoch is kept and nothing is chosen on validation."""
    if data.get("val_per_class") == 0:
        return False
    return data.get("val_fraction") != 0 or data.get("val_path") is not None
