"""Stratified train / validation / test split that keeps exact-duplicate texts in one part."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from headswap.data.examples import Example
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
    rows_of: dict[str, list[int]] = defaultdict(list)  # each text's rows, in order of first appearance
    for i, text in enumerate(texts):
        rows_of[text].append(i)
    groups = list(rows_of.values())
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
            label, names[label], by_class[label], parts, labels, test_fraction, val_fraction
        )
    dup = [g for g in groups if len(g) > 1]
    return Split(*(sorted(parts[p]) for p in ("train", "val", "test")), len(dup), sum(len(g) for g in dup))


def _place_class(
    class_groups: list[list[int]], test_fraction: float, val_fraction: float
) -> dict[str, list[int]]:
    """One class's groups (shuffled) into test, val and train. Duplicate groups first, largest first, each
    to the part it weighs least in, so a large group cannot tip a small part; then single texts fill each
    part up to its size, in shuffled order (without duplicates this is the plain stratified split)."""
    wanted = _part_sizes(sum(len(g) for g in class_groups), test_fraction, val_fraction)
    taken = dict.fromkeys(wanted, 0)
    placed: dict[str, list[int]] = {part: [] for part in wanted}
    for g in sorted((g for g in class_groups if len(g) > 1), key=len, reverse=True):
        part = _part_for(len(g), wanted, taken)
        placed[part].extend(g)
        taken[part] += len(g)
    for g in (g for g in class_groups if len(g) == 1):
        part = next((p for p in ("test", "val") if taken[p] < wanted[p]), "train")
        placed[part].extend(g)
        taken[part] += 1
    return placed


def _part_sizes(n: int, test_fraction: float, val_fraction: float) -> dict[str, int]:
    """How many of a class's ``n`` examples each part wants."""
    n_test = round(n * test_fraction)
    n_val = round((n - n_test) * val_fraction)
    return {"test": n_test, "val": n_val, "train": n - n_test - n_val}


def _parts_needing_one(test_fraction: float, val_fraction: float) -> list[str]:
    """The parts each class needs an example in: train, and test and val when they have a share."""
    return [part for part, share in (("train", 1), ("test", test_fraction), ("val", val_fraction)) if share]


def _check_every_part_has(
    label: int,
    name: str,
    groups: list[list[int]],
    parts: dict[str, list[int]],
    labels: Sequence[int],
    test_fraction: float,
    val_fraction: float,
) -> None:
    """One example of the class in each part that needs one, or one line saying so and naming the
    ``data.min_per_class`` that drops such a class."""
    n, needed = sum(len(g) for g in groups), smallest_class(test_fraction, val_fraction)
    for part in _parts_needing_one(test_fraction, val_fraction):
        if not any(labels[i] == label for i in parts[part]):
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
    needed = _parts_needing_one(test_fraction, val_fraction)
    n = 1
    while min(_part_sizes(n, test_fraction, val_fraction)[part] for part in needed) < 1:
        n += 1
    return n


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
    classes, overall = range(len(label_names)), Counter(labels)
    checked = (1,) if len(label_names) == 2 else classes
    found = []
    for part in ("train", "val", "test"):
        rows = getattr(split, part)
        if not rows:
            continue
        for label in checked:
            rate = overall[label] / len(labels)
            part_rate = sum(1 for i in rows if labels[i] == label) / len(rows)
            if abs(part_rate - rate) > POSITIVE_RATE_TOLERANCE:
                found.append(
                    f"the {part} part is {part_rate:.1%} {label_names[label]} against {rate:.1%} in the "
                    "whole data: large groups of duplicate texts did not fit its share; "
                    "change data.split_seed or the fractions"
                )
        for label in classes:
            counts = Counter(texts[i] for i in rows if labels[i] == label)
            for text, count in counts.most_common(1):  # none where the part lacks the class
                if count > 1 and count / counts.total() > DOMINANT_SHARE:
                    found.append(
                        f"one text makes up {count} of the {counts.total()} {label_names[label]} rows "
                        f"of the {part} part ({text[:40]!r}); consider removing its duplicates from the file"
                    )
    return found


def drop_rare_classes(
    examples: Sequence[Example], label_names: Sequence[str], min_per_class: int
) -> tuple[list[Example], tuple[str, ...], str | None]:
    """``data.min_per_class``: the examples kept, relabelled as the classes left (in their order), those
    classes, and a warning naming what was dropped, or ``None`` when every class has enough examples."""
    counts = Counter(e.label for e in examples)
    rare = [y for y in range(len(label_names)) if counts[y] < min_per_class]
    if not rare:
        return list(examples), tuple(label_names), None
    kept = [y for y in range(len(label_names)) if y not in rare]
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
    new = {old: new for new, old in enumerate(kept)}
    relabelled = [Example(e.text, new[e.label]) for e in examples if e.label in new]
    return relabelled, tuple(label_names[y] for y in kept), warning
