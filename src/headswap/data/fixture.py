"""The default SMS corpus (``data=fixture``): 400 spam and 400 ham whose ceiling is set by the data.

Every message is an *opening* followed by a *continuation*. Openings come in two kinds, advert-like
and personal, each at least 31 bytes long, so the window a ``max_len: 32`` body sees (``bos`` + the
first 31 bytes) shows a part of the opening and nothing else. Within a kind, the opening is drawn the
same way whatever the label; only the continuation, beyond the window, depends on the label. The
window therefore tells the opening's kind and carries no other information about the label.

Most messages open in their own class's kind. The ambiguous share opens in the other class's kind:

* ``spam_like_ham = 0.15``: 60 of the 400 spam open like a friend's message and show themselves only
  after byte 31 (phishing: "Hey Sam, sorry I missed your call earlier, you have won a ...").
* ``ham_like_spam = 0.095``: 38 of the 400 ham open like an advert and show themselves only after
  byte 31 (a friend quoting a scam text: "URGENT! Your mobile number has ... that's the scam text mum
  got").

So 98 messages (12.25%) are genuinely ambiguous in the window, and no model of the window can do
better than predicting the kind: spam recall 340 / 400 = 0.85, precision 340 / (340 + 38) = 0.90,
F1 0.874 (in expectation; a 160-message test part varies around it). Clear messages are easy: the
two kinds of opening differ in case, punctuation and vocabulary from the first word, which a frozen
5-epoch body separates as well as a fine-tuned one, so head-only and full fine-tuning meet at the
same ceiling. There is no label noise: every label is right given the whole message. The ambiguous
messages are chosen with ``rng.sample`` (exact counts), all draws are ``random.Random(seed)``'s, so
the corpus is byte-identical everywhere (a test pins its hash). ``data=fixture_hard``
(:mod:`headswap.data.fixture_hard`) is the harder corpus, on which a fine-tuned body beats a frozen one.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from headswap.data.examples import Example, distinct_examples, fill
from headswap.data.fixture_hard import SLOTS as _HARD_SLOTS

SLOTS: dict[str, tuple[str, ...]] = {
    **_HARD_SLOTS,
    "who": ("mum", "dad", "my nan", "Sam", "Priya", "my boss", "Raj"),
}

WINDOW_BYTES = 31  # max_len 32 = bos + 31 bytes; every opening is at least this long

# OPENINGS[kind]: 1 reads like an advert, 0 like a friend. Drawn the same way for either label.
OPENINGS: dict[int, tuple[str, ...]] = {
    1: (
        "URGENT! Your mobile number has been selected for a {prize}.",
        "WINNER!! As a valued customer you have won {money} cash.",
        "FREE {item} for every customer who replies this {day}!",
        "CONGRATULATIONS! You have won a guaranteed {prize}.",
        "Final notice: your unclaimed {prize} expires {day}.",
        "PRIVATE! Your account shows an unredeemed {money} bonus.",
        "SIX chances to win CASH! Your {item} draw number is ready.",
    ),
    0: (
        "Hey {name}, sorry I missed your call earlier,",
        "Hi {name}, are we still on for {place} at {time}?",
        "Morning! Hope you slept ok, I was thinking about {day},",
        "Hiya, just got back from {place} and I'm knackered,",
        "Hi, it's {name}. Can you ring me when you get a sec?",
        "Thanks for last night {name}, it was so much fun,",
        "Hey you, how did the {task} go in the end?",
    ),
}

# CONTINUATIONS[label][kind]: what follows the opening, beyond the window; it settles the label.
CONTINUATIONS: dict[int, dict[int, tuple[str, ...]]] = {
    1: {
        1: (
            "Call {phone} now to claim. T&C apply",
            "Text CLAIM to {short} before {time} {day}. 18+ only",
            "Claim online at {url} today. Std rates apply",
            "Reply YES to {short} to collect. Stop to opt out",
            "To claim call {phone}. Valid 12hrs only",
        ),
        0: (  # spam that opens like a friend
            "you have won a {money} {item} voucher, call {phone} to claim",
            "your {prize} is waiting, text CLAIM to {short} now. 18+ only",
            "I found a {money} cash offer for you at {url}, claim it today",
            "reply YES to {short} to get your FREE {item}. Std rates apply",
            "call {phone} now, your {prize} expires {day}",
        ),
    },
    0: {
        0: (
            "can you pick up {food} on the way home?",
            "see you at {place} at {time} x",
            "{name} says hi, talk {day}?",
            "let me know if you still need help with the {task}",
            "are you around {day}? Love you",
            "I'll be there in {mins} minutes, cheers",
        ),
        1: (  # ham that opens like an advert: a friend quoting one
            "that's the scam text {who} got, tell them not to reply lol",
            "is what {name}'s new ringtone shouts, so embarrassing x",
            "haha that's what I'll text {name} on {day}, see you at {place}",
            "I got that rubbish again, ignore it if you get one too",
            "is the advert on the bus by {place}, we should go {day}",
        ),
    },
}


def make_fixture(
    n_per_class: int = 400, seed: int = 1234, spam_like_ham: float = 0.15, ham_like_spam: float = 0.095
) -> list[Example]:
    """``n_per_class`` distinct spam and ham messages of 5 to 25 words, interleaved, same on every
    platform; ``round(spam_like_ham * n_per_class)`` spam open like ham and ``round(ham_like_spam *
    n_per_class)`` ham open like spam."""
    rng = random.Random(seed)
    n_ambiguous = {1: round(spam_like_ham * n_per_class), 0: round(ham_like_spam * n_per_class)}
    ambiguous = {label: set(rng.sample(range(n_per_class), n_ambiguous[label])) for label in (0, 1)}

    def draw(i: int) -> str:
        label = i % 2
        kind = 1 - label if i // 2 in ambiguous[label] else label  # the opening's class
        opening = fill(rng.choice(OPENINGS[kind]), rng, SLOTS)
        return opening + " " + fill(rng.choice(CONTINUATIONS[label][kind]), rng, SLOTS)

    return distinct_examples(n_per_class, draw)


@dataclass(frozen=True)
class Fixture:
    """The default built-in corpus as a data source (``data=fixture``)."""

    n_per_class: int = 400
    seed: int = 1234
    spam_like_ham: float = 0.15
    ham_like_spam: float = 0.095
    label_names: tuple[str, str] = ("ham", "spam")

    def load(self) -> list[Example]:
        return make_fixture(self.n_per_class, self.seed, self.spam_like_ham, self.ham_like_spam)

    def fingerprint(self) -> str:
        key = f"lesson-fixture:{self.n_per_class}:{self.seed}:{self.spam_like_ham}:{self.ham_like_spam}"
        return hashlib.sha256(key.encode()).hexdigest()
