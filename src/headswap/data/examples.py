"""What every data source yields: labelled texts, class ids 0..N-1 (with two, the positive class is 1)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # the class id: an index into the source's label_names (two classes: 1 is the positive)


def fill(template: str, rng: random.Random, slots: dict[str, tuple[str, ...]]) -> str:
    """``template`` with each ``{slot}`` replaced by one of ``slots[slot]``, drawn by ``rng`` in order."""
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(slots[m.group(1)]), template)


def distinct_examples(n_per_class: int, draw: Callable[[int], str], n_classes: int = 2) -> list[Example]:
    """``n_per_class`` messages of each class, interleaved (ham, spam, ham, ...), all distinct.

    ``draw(i)`` makes a candidate for the ``i``-th message (label ``i % n_classes``), or ``""`` for one to
    reject; a candidate seen before is drawn again, so a generator with a fixed seed stays deterministic.
    """
    seen: set[str] = set()
    examples: list[Example] = []
    for i in range(n_classes * n_per_class):
        for _ in range(1000):
            text = draw(i)
            if text and text not in seen:
                break
        else:
            raise RuntimeError(f"fixture ran out of distinct messages at n_per_class={n_per_class}")
        seen.add(text)
        examples.append(Example(text, i % n_classes))
    return examples


class TextSource(Protocol):
    """Anything that loads a labelled corpus: the fixture, the SMS Spam Collection, a user's CSV."""

    label_names: tuple[str, ...]  # index = class id; two classes: (negative, positive)

    def load(self) -> list[Example]: ...

    def fingerprint(self) -> str:
        """Changes whenever ``load()`` would return other examples; part of the pre-training cache key."""
        ...
