"""Stratified train / validation / test split that keeps exact-duplicate texts in one part."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from headswap.errors import ConfigError, DataError


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
    label_names: Sequence[str] | None = None,
    test_file: bool = False,
) -> Split:
    """Split indices so each part keeps the class balance and no text occurs in two parts.

    ``label_names[i]`` names class ``i`` in errors (default: the index as text), since a user knows their
    classes by label, not by position.

    ``test_fraction`` is taken from the whole corpus, per class; ``val_fraction`` from what remains,
    per class. A group of identical texts is labelled by its majority label and moves as one unit,
    so a test message never appears word for word in train (which would flatter every model); groups
    are placed so that every part keeps its share of each class as closely as their sizes allow.
    With ``test_file`` the test part comes from a file of its own: this splits train and validation only.
    """
    if test_file:
        test_fraction = 0.0
    elif not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"data.test_fraction={test_fraction} must be in (0, 1)")
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction={val_fraction} must be in [0, 1)")
    counts = Counter(labels)
    names = [str(i) for i in range(max(counts) + 1)] if label_names is None else list(label_names)
    if len(counts) < 2:
        found = ", ".join(f"{names[y]!r}: {n}" for y, n in counts.items())
        raise DataError(
            f"only one class in the data ({found}): a stratified split needs examples of two or more labels"
        )
    groups = _duplicate_groups(texts)
    by_class: dict[int, list[list[int]]] = defaultdict(list)
    for members in groups:  # insertion order: deterministic
        by_class[Counter(labels[i] for i in members).most_common(1)[0][0]].append(members)
    rng = random.Random(seed)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for label in range(len(names)):  # a class named but absent fails below, with its count (0)
        rng.shuffle(by_class[label])
        for part, rows in _place_class(by_class[label], test_fraction, val_fraction).items():
            parts[part].extend(rows)
        _check_every_part_has(
            label, names[label], by_class[label], parts, labels, (test_fraction, val_fraction)
        )
    dup = [g for g in groups if len(g) > 1]
    return Split(
        train=sorted(parts["train"]),
        val=sorted(parts["val"]),
        test=sorted(parts["test"]),
        duplicate_groups=len(dup),
        duplicate_rows=sum(len(g) for g in dup),
    )


def _duplicate_groups(texts: Sequence[str]) -> list[list[int]]:
    """The rows of each distinct text, in order of first appearance."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, text in enumerate(texts):
        groups[text].append(i)
    return list(groups.values())


def _place_class(
    class_groups: list[list[int]], test_fraction: float, val_fraction: float
) -> dict[str, list[int]]:
    """One class's groups (shuffled) into test, val and train. Duplicate groups first, largest first, each
    to the part it weighs least in, so a large group cannot tip a small part; then single texts fill each
    part up to its size, in shuffled order (without duplicates this is the plain stratified split)."""
    n = sum(len(g) for g in class_groups)
    n_test = round(n * test_fraction)
    n_val = round((n - n_test) * val_fraction)
    wanted = {"test": n_test, "val": n_val, "train": n - n_test - n_val}
    taken = dict.fromkeys(wanted, 0)
    placed: dict[str, list[int]] = {part: [] for part in wanted}
    for g in sorted((g for g in class_groups if len(g) > 1), key=len, reverse=True):
        part = _part_for(len(g), wanted, taken)
        placed[part].extend(g)
        taken[part] += len(g)
    for g in (g for g in class_groups if len(g) == 1):
        part = "test" if taken["test"] < n_test else "val" if taken["val"] < n_val else "train"
        placed[part].extend(g)
        taken[part] += 1
    return placed


def _check_every_part_has(
    label: int,
    name: str,
    groups: list[list[int]],
    parts: dict[str, list[int]],
    labels: Sequence[int],
    fractions: tuple[float, float],
) -> None:
    """One example of the class in train and test (and val, when there is one), or one line saying so and
    naming the ``data.min_per_class`` that drops such a class."""
    test_fraction, val_fraction = fractions
    n, needed = sum(len(g) for g in groups), smallest_class(test_fraction, val_fraction)
    for part, wanted in (
        ("train", 1),
        ("test", 1 if test_fraction else 0),
        ("val", 1 if val_fraction else 0),
    ):
        if sum(1 for i in parts[part] if labels[i] == label) < wanted:
            why = (
                "too few"
                if n < needed
                else f"in {len(groups)} distinct texts, whose duplicates stay together, too few"
            )
            raise DataError(
                f"class {name!r} has {n} examples, {why} to put one in the {part} part; add data, change "
                f"data.test_fraction / data.val_fraction, or set data.min_per_class={max(needed, n + 1)} "
                "to drop the classes with fewer examples"
            )


def smallest_class(test_fraction: float, val_fraction: float) -> int:
    """The fewest examples a class needs for one in each part (val too, when it has a share)."""
    n = 1
    while True:
        n_test = round(n * test_fraction)
        n_val = round((n - n_test) * val_fraction)
        if (
            (n_test >= 1 or not test_fraction)
            and n - n_test - n_val >= 1
            and (n_val >= 1 or not val_fraction)
        ):
            return n
        n += 1


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
    class within a part that is largely one repeated text (its scores then hinge on that one text).
    With two classes the balance is the positive rate (the other class's is its mirror); with more, each
    class's share is checked."""
    classes = range(len(label_names))
    checked = (1,) if len(label_names) == 2 else classes
    found = []
    for part in ("train", "val", "test"):
        rows = getattr(split, part)
        if not rows:
            continue
        for label in checked:
            rate = sum(1 for y in labels if y == label) / len(labels)
            part_rate = sum(1 for i in rows if labels[i] == label) / len(rows)
            if abs(part_rate - rate) > POSITIVE_RATE_TOLERANCE:
                found.append(
                    f"the {part} part is {part_rate:.1%} {label_names[label]} against {rate:.1%} in the "
                    "whole data: large groups of duplicate texts did not fit its share; "
                    "change data.split_seed or the fractions"
                )
        for label in classes:
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


def drop_rare_classes(
    labels: Sequence[int], label_names: Sequence[str], min_per_class: int
) -> tuple[list[int], tuple[str, ...], str | None]:
    """``data.min_per_class``: the rows to keep, the classes left (renumbered in their order) and a
    warning naming what was dropped, or ``None`` when every class has ``min_per_class`` examples."""
    counts = Counter(labels)
    rare = [y for y in range(len(label_names)) if counts[y] < min_per_class]
    if not rare:
        return list(range(len(labels))), tuple(label_names), None
    kept = tuple(name for y, name in enumerate(label_names) if y not in rare)
    if len(kept) < 2:
        raise DataError(
            f"data.min_per_class={min_per_class} leaves {len(kept)} class(es) of {len(label_names)}; "
            "lower it so that two or more classes remain"
        )
    dropped = ", ".join(f"{label_names[y]!r} ({counts[y]})" for y in rare)
    warning = (
        f"data.min_per_class={min_per_class}: dropped {len(rare)} class(es) with fewer examples: {dropped}; "
        f"{len(kept)} classes remain"
    )
    return [i for i, y in enumerate(labels) if y not in rare], kept, warning
