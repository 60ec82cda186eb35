"""What every data source yields: labelled texts with the positive class at index 1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # 0 = negative class (ham), 1 = positive class (spam)


class TextSource(Protocol):
    """Anything that loads a labelled corpus: the fixture, the SMS Spam Collection, a user's CSV."""

    label_names: tuple[str, str]  # (negative, positive)

    def load(self) -> list[Example]: ...

    def fingerprint(self) -> str:
        """Changes whenever ``load()`` would return other examples; part of the pre-training cache key."""
        ...
