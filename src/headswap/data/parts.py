"""Which examples make each part: the user's own validation and test files as they are, the stratified
split for what they leave to it, then the label budgets (``data.train_per_class``, ``val_per_class``).

A test file is the test part unchanged (order, duplicates, labels); the training file is then split into
train and validation only. A text of the training file that the test file also holds is counted (and,
with ``drop_test_overlap``, left out of training). Budgets draw K examples of each class from a part, by
a seed of their own, so every regime of a sweep trains on the same sample.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from headswap.data.config import DataConfig
from headswap.data.examples import Example
from headswap.data.split import Split, split_warnings, stratified_group_split
from headswap.errors import DataError

PARTS = ("train", "val", "test")


@dataclass
class Parts:
    """Each part's examples and their keys (positions in the training file, then the validation file's,
    then the test file's: unique across parts), how the split went, and what the run should say about it."""

    examples: dict[str, list[Example]]
    keys: dict[str, list[int]]
    split: Split
    notes: dict[str, object] = field(default_factory=dict)  # source of each part, budget, overlap
    warnings: list[str] = field(default_factory=list)


def own_labels(
    examples: Sequence[Example], names: Sequence[str], file_names: Sequence[str], path: str
) -> list[Example]:
    """A validation or test file's examples with their labels numbered as the training file's classes;
    a label the training file lacks is named."""
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted({file_names[e.label] for e in examples} - set(index))
    if unknown:
        raise DataError(
            f"{path}: labels {unknown} are not classes of the training file ({list(names)}); "
            "fix the file, or set data.labels to every class"
        )
    return [Example(e.text, index[file_names[e.label]]) for e in examples]


def make_parts(
    examples: Sequence[Example],
    names: Sequence[str],
    cfg: DataConfig,
    files: dict[str, tuple[str, list[Example]]],
    sample_seed: int,
) -> Parts:
    """The parts of a run. ``files``: part -> (path, examples already numbered as ``names``) for the parts
    the user brought (``val``, ``test``); the training file's rows fill the others."""
    notes: dict[str, object] = {
        "parts_from": {part: files[part][0] if part in files else "training file" for part in PARTS}
    }
    warnings, rows = [], list(range(len(examples)))
    if "test" in files:  # rows holding a text the test file holds: counted, or left out
        test_texts = {e.text for e in files["test"][1]}
        shared = {i for i in rows if examples[i].text in test_texts}
        rows = [i for i in rows if not (cfg.drop_test_overlap and i in shared)]
        notes["test_overlap"] = len(shared)
        if shared and not cfg.drop_test_overlap:
            warnings.append(
                f"{len(shared)} training-file rows hold a text the test file holds: test figures may "
                "flatter; data.drop_test_overlap=true leaves them out of training"
            )
    texts, labels = [examples[i].text for i in rows], [examples[i].label for i in rows]
    val_fraction = 0.0 if "val" in files else cfg.val_fraction  # test_file=True zeroes the test share
    split = stratified_group_split(
        texts, labels, cfg.test_fraction, val_fraction, cfg.split_seed, names, test_file="test" in files
    )
    warnings += split_warnings(texts, labels, split, names)
    keys = {part: [rows[i] for i in getattr(split, part)] for part in PARTS}
    start = len(examples)
    for part in ("val", "test"):  # the user's own parts, as they are
        if part in files:
            keys[part] = list(range(start, start + len(files[part][1])))
            start += len(files[part][1])
    by_key = dict(enumerate(examples)) | {k: e for part in files for k, e in zip(keys[part], files[part][1])}
    warnings += _apply_budgets(keys, by_key, names, cfg, sample_seed)
    if cfg.train_per_class is not None or cfg.val_per_class is not None:
        notes["budget"] = {
            "train_per_class": cfg.train_per_class,
            "val_per_class": cfg.val_per_class,
            "sample_seed": sample_seed,
        }
    return Parts({p: [by_key[k] for k in keys[p]] for p in PARTS}, keys, split, notes, warnings)


def _apply_budgets(
    keys: dict[str, list[int]], by_key: dict[int, Example], names: Sequence[str], cfg: DataConfig, seed: int
) -> list[str]:
    """``keys``' train and val parts cut to their budgets, in place; a warning per class that had fewer."""
    warnings = []
    if cfg.val_per_class == 0 and cfg.train_per_class is None and keys["val"]:
        warnings.append(
            f"data.val_per_class=0 leaves the split's {len(keys['val'])} validation examples unused; "
            "data.val_fraction=0 trains on them instead"
        )
    for part, budget in (("train", cfg.train_per_class), ("val", cfg.val_per_class)):
        if budget is not None:
            keys[part], short = per_class_sample(
                keys[part], [by_key[k].label for k in keys[part]], budget, seed
            )
            warnings += [
                f"data.{part}_per_class={budget}: class {names[y]!r} has {n} in the {part} part, all kept"
                for y, n in short
            ]
    return warnings


def per_class_sample(
    keys: Sequence[int], labels: Sequence[int], k: int, seed: int
) -> tuple[list[int], list[tuple[int, int]]]:
    """``k`` of each class's ``keys`` (in their order), drawn by ``seed`` alone, and the classes that had
    fewer (all of theirs kept) with their counts. The draw depends on nothing else (not the regime, not
    the training seed when ``seed`` is given), so runs that share it share the sample."""
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = defaultdict(list)
    for key, label in zip(keys, labels):
        by_class[label].append(key)
    chosen, short = set(), []
    for label in sorted(by_class):
        members = by_class[label]
        if len(members) < k:
            short.append((label, len(members)))
        chosen.update(members if len(members) <= k else rng.sample(members, k))
    return [key for key in keys if key in chosen], short
