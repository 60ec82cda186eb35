"""A deterministic four-class corpus for fast multi-class tests: short requests to a home assistant.

Each class has its own openings and slot fillers, and a share of the messages open with a phrase any
class may use ("hey, can you"), so the classes are learnable from the first 31 bytes a 32-token body
sees, but not perfectly. Only ``random.Random(seed)`` draws: byte-identical on every platform.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from headswap.data.examples import Example, distinct_examples, fill

CLASSES = ("alarm", "music", "weather", "shopping")

SLOTS: dict[str, tuple[str, ...]] = {
    "time": ("6am", "7:30", "half past eight", "noon", "ten tonight", "5.45", "nine sharp", "midnight"),
    "day": ("monday", "tomorrow", "friday", "the weekend", "sunday", "tonight", "next week"),
    "artist": ("adele", "the beatles", "miles davis", "taylor swift", "bach", "queen", "daft punk"),
    "genre": ("jazz", "rock", "some classical", "lofi beats", "pop", "folk", "techno"),
    "city": ("london", "paris", "leeds", "berlin", "madrid", "oslo", "rome", "dublin"),
    "item": ("milk", "eggs", "bread", "coffee", "rice", "apples", "soap", "butter", "tea"),
}

OPENINGS: dict[str, tuple[str, ...]] = {
    "alarm": ("wake me up at {time}", "set an alarm for {time}", "alarm at {time}", "cancel my {time} alarm"),
    "music": ("play {artist}", "put on {genre}", "play some {genre}", "skip this song and play {artist}"),
    "weather": (
        "will it rain in {city}",
        "weather in {city} {day}",
        "how cold is {city}",
        "is it sunny in {city}",
    ),
    "shopping": ("add {item} to my list", "buy {item} and {item}", "order more {item}", "we need {item}"),
}

SHARED_OPENING = "hey, can you tell me"  # any class: what follows decides, beyond many openings' bytes
CONTINUATIONS = ("please", "thanks", "on {day}", "for {day}", "", "right now", "when you can")
SHARED_SHARE = 0.15


def make_fixture_multiclass(n_per_class: int = 75, seed: int = 7) -> list[Example]:
    """``n_per_class`` distinct requests of each of ``CLASSES``, interleaved; a share open alike."""
    rng = random.Random(seed)

    def draw(i: int) -> str:
        name = CLASSES[i % len(CLASSES)]
        text = fill(rng.choice(OPENINGS[name]), rng, SLOTS)
        if rng.random() < SHARED_SHARE:
            text = f"{SHARED_OPENING} {text}"
        return f"{text} {fill(rng.choice(CONTINUATIONS), rng, SLOTS)}".strip()

    return distinct_examples(n_per_class, draw, len(CLASSES))


@dataclass(frozen=True)
class FixtureMulticlass:
    """The four-class fixture as a data source (``data=fixture_multiclass``)."""

    n_per_class: int = 75
    seed: int = 7
    label_names: tuple[str, ...] = CLASSES

    def load(self) -> list[Example]:
        return make_fixture_multiclass(self.n_per_class, self.seed)

    def fingerprint(self) -> str:
        return hashlib.sha256(f"multiclass-fixture:{self.n_per_class}:{self.seed}".encode()).hexdigest()
