"""What every data source yields: labelled texts with the positive class at index 1."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # 0 = negative class (ham), 1 = positive class (spam)


def distinct_examples(n_per_class: int, draw: Callable[[int], str]) -> list[Example]:
    """``n_per_class`` messages of each class, interleaved (ham, spam, ham, ...), all distinct.

    ``draw(i)`` makes a candidate for the ``i``-th message (label ``i % 2``), or ``""`` for one to
    reject; a candidate seen before is drawn again, so a generator with a fixed seed stays deterministic.
    """
    seen: set[str] = set()
    examples: list[Example] = []
    for i in range(2 * n_per_class):
        for _ in range(1000):
            text = draw(i)
            if text and text not in seen:
                break
        else:
            raise RuntimeError(f"fixture ran out of distinct messages at n_per_class={n_per_class}")
        seen.add(text)
        examples.append(Example(text, i % 2))
    return examples


class TextSource(Protocol):
    """Anything that loads a labelled corpus: the fixture, the SMS Spam Collection, a user's CSV."""

    label_names: tuple[str, str]  # (negative, positive)

    def load(self) -> list[Example]: ...

    def fingerprint(self) -> str:
        """Changes whenever ``load()`` would return other examples; part of the pre-training cache key."""
        ...
