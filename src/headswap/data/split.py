"""Stratified train / validation / test split that keeps exact-duplicate texts in one part."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Split:
    train: list[int]
    val: list[int]
    test: list[int]
    duplicate_groups: int  # texts that occur more than once, each kept whole in one part
    duplicate_rows: int  # rows belonging to those groups


def stratified_group_split(
    texts: Sequence[str],
    labels: Sequence[int],
    test_fraction: float,
    val_fraction: float,
    seed: int,
) -> Split:
    """Split indices so each part keeps the class balance and no text occurs in two parts.

    ``test_fraction`` is taken from the whole corpus, per class; ``val_fraction`` from what remains,
    per class. A group of identical texts is labelled by its majority label and moves as one unit,
    so a test message never appears word for word in train (which would flatter every model).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"data.test_fraction={test_fraction} must be in (0, 1)")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"data.val_fraction={val_fraction} must be in [0, 1)")
    counts = Counter(labels)
    if len(counts) < 2:
        raise ValueError(
            f"only one class in the data ({dict(counts)}): a stratified split needs examples of both labels"
        )

    groups: dict[str, list[int]] = defaultdict(list)
    for i, text in enumerate(texts):
        groups[text].append(i)
    by_class: dict[int, list[list[int]]] = defaultdict(list)
    for members in groups.values():  # insertion order: deterministic
        majority = Counter(labels[i] for i in members).most_common(1)[0][0]
        by_class[majority].append(members)

    rng = random.Random(seed)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for label in sorted(by_class):
        class_groups = by_class[label]
        rng.shuffle(class_groups)
        n = sum(len(g) for g in class_groups)
        n_test = round(n * test_fraction)
        n_val = round((n - n_test) * val_fraction)
        taken = {"test": 0, "val": 0}
        for g in class_groups:
            part = "test" if taken["test"] < n_test else "val" if taken["val"] < n_val else "train"
            parts[part].extend(g)
            if part != "train":
                taken[part] += len(g)
        for part, wanted in (("train", 1), ("test", 1), ("val", 1 if val_fraction else 0)):
            have = sum(1 for i in parts[part] if labels[i] == label)
            if have < wanted:
                raise ValueError(
                    f"class {label} has {n} examples, too few to put one in the {part} part; "
                    "add data or change data.test_fraction / data.val_fraction"
                )
    dup = [g for g in groups.values() if len(g) > 1]
    return Split(
        train=sorted(parts["train"]),
        val=sorted(parts["val"]),
        test=sorted(parts["test"]),
        duplicate_groups=len(dup),
        duplicate_rows=sum(len(g) for g in dup),
    )
