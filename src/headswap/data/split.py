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
    so a test message never appears word for word in train (which would flatter every model); groups
    are placed so that every part keeps its share of each class as closely as their sizes allow.
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
        wanted = {"test": n_test, "val": n_val, "train": n - n_test - n_val}
        taken = dict.fromkeys(wanted, 0)
        # Duplicate groups first, largest first, each to the part it weighs least in, so a large group
        # cannot tip a small part; then single texts fill each part up to its size, in shuffled order
        # (without duplicates this is the plain stratified split).
        duplicates = sorted((g for g in class_groups if len(g) > 1), key=len, reverse=True)
        for g in duplicates:
            part = _part_for(len(g), wanted, taken)
            parts[part].extend(g)
            taken[part] += len(g)
        for g in (g for g in class_groups if len(g) == 1):
            part = "test" if taken["test"] < n_test else "val" if taken["val"] < n_val else "train"
            parts[part].extend(g)
            taken[part] += 1
        for part, needed in (("train", 1), ("test", 1), ("val", 1 if val_fraction else 0)):
            have = sum(1 for i in parts[part] if labels[i] == label)
            if have < needed:
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


def _part_for(size: int, wanted: dict[str, int], taken: dict[str, int]) -> str:
    """The part a group of ``size`` rows joins: of those it fits into, the one it would weigh least in
    (the smallest share of that part's wanted size: train, while it has room), so no large group tips
    a small part; where it fits nowhere, the part with the most room left."""
    room = {p: wanted[p] - taken[p] for p in wanted if wanted[p] > 0}
    fits = [p for p in room if room[p] >= size]
    if fits:
        return min(fits, key=lambda p: (size / wanted[p], -room[p]))
    return max(room, key=lambda p: room[p])


POSITIVE_RATE_TOLERANCE = 0.05  # a part's positive rate may differ from the whole file's by this much
DOMINANT_SHARE = 0.1  # one text making up more than this share of a part's class is worth a word


def split_warnings(
    texts: Sequence[str], labels: Sequence[int], split: Split, label_names: Sequence[str]
) -> list[str]:
    """What about a split could mislead a run: a part whose class balance is off the whole file's, or a
    class within a part that is largely one repeated text (its scores then hinge on that one text)."""
    rate = sum(1 for y in labels if y == 1) / len(labels)
    found = []
    for part in ("train", "val", "test"):
        rows = getattr(split, part)
        if not rows:
            continue
        part_rate = sum(1 for i in rows if labels[i] == 1) / len(rows)
        if abs(part_rate - rate) > POSITIVE_RATE_TOLERANCE:
            found.append(
                f"the {part} part is {part_rate:.1%} {label_names[1]} against {rate:.1%} in the whole data: "
                "large groups of duplicate texts did not fit its share; "
                "change data.split_seed or the fractions"
            )
        for label in (0, 1):
            counts = Counter(texts[i] for i in rows if labels[i] == label)
            if not counts:
                continue
            text, count = counts.most_common(1)[0]
            if count > 1 and count / sum(counts.values()) > DOMINANT_SHARE:
                found.append(
                    f"one text makes up {count} of the {sum(counts.values())} {label_names[label]} rows "
                    f"of the {part} part ({text[:40]!r}); consider removing its duplicates from the file"
                )
    return found
