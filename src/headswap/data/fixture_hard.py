"""A deterministic SMS corpus: 400 spam and 400 ham built from templates and slot fillers.

It is built to be learnable but not trivially separable: both classes share vocabulary (prizes,
phone numbers, "call me", "free"), a share of the spam reads like a friend's message and a share of
the ham reads like an advert. Only ``random.Random(seed)`` draws, whose output Python guarantees across
platforms, so the corpus is byte-identical everywhere (a test pins its hash).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from headswap.data.examples import Example, distinct_examples, fill

SLOTS: dict[str, tuple[str, ...]] = {
    "name": ("Sam", "Alex", "Priya", "Tom", "Jess", "Mo", "Kate", "Dan", "Lucy", "Raj", "Ben", "Amy"),
    "place": ("the station", "the pub", "Costa", "the gym", "the library", "mum's", "the park", "town"),
    "time": ("6", "7pm", "half 8", "noon", "ten", "5.30", "9am", "lunch"),
    "day": ("Monday", "Tuesday", "Friday", "Saturday", "Sunday", "tomorrow", "tonight", "the weekend"),
    "item": ("phone", "ringtone", "iPod", "camera", "voucher", "holiday", "laptop", "tickets"),
    "prize": ("cash prize", "holiday", "voucher", "new phone", "award", "bonus"),
    "money": ("£100", "£250", "£500", "£1000", "£2000", "£50", "£5", "£20"),
    "phone": ("07781 482 119", "0800 542 0176", "09061 701 461", "07946 746 291", "0871 872 1999"),
    "short": ("80086", "87121", "62468", "81010", "69888"),
    "food": ("milk", "bread", "pizza", "curry", "chips", "eggs", "cake"),
    "shop": ("Tesco", "Argos", "Currys", "the corner shop", "Boots", "Next"),
    "task": ("essay", "report", "homework", "forms", "slides", "shopping"),
    "mins": ("5", "10", "15", "20", "30"),
    "url": ("www.win-now.co.uk", "www.claimfree.com", "www.txt4prize.net", "www.luckydraw.org"),
}

SPAM = (
    # plainly promotional
    "URGENT! Your number has been selected for a {prize}. Call {phone} now to claim",
    "Congratulations you have won a {prize}! Text WIN to {short} to claim your reward",
    "FREE {item} for you this {day}. Reply YES to {short} now. T&C apply",
    "You have been chosen to receive {money} cash. Call {phone} before {time} {day}",
    "Your mobile won {money} in our weekly draw. Claim at {url} today",
    "Final notice: your {prize} is waiting. Call {phone} to arrange delivery",
    "WINNER!! As a valued customer you get a {money} {item} voucher. Call {phone}",
    "Get the latest {item} FREE when you upgrade. Text UPGRADE to {short}",
    # spam that reads like a friend
    "Hey {name} its me, I have a surprise {item} for you, call {phone} to get it",
    "Hi {name}, sorry I missed you. Please call me back on {phone} about the {prize}",
    "{name} said you would like this: a {item} for only {money}, reply YES to {short}",
    "Hi its {name}, I tried to reach you {day}, your {prize} is still waiting, call {phone}",
    "Are you free {day}? I have {money} for you, just text me back on {short}",
)

HAM = (
    # plainly personal
    "Are we still meeting at {place} at {time}?",
    "Sorry I'm running late, be there in {mins} minutes",
    "Can you pick up {food} on the way home please",
    "{name} is coming round for dinner {day}, can you tell mum",
    "Ok see you at {place} then, don't be late",
    "Did you finish the {task} for {day}? I'm stuck on mine",
    "Just got home, so tired. Talk {day}?",
    "Happy birthday {name}! Have an amazing day, see you at {place}",
    # ham that reads like an advert
    "{shop} has a sale on the {item}, want to go {day}?",
    "I won {money} at the pub quiz {day}! Drinks on me at {place}",
    "FREE {food} at {place} tonight, {name} told me, are you coming?",
    "Call me when you get this, {name} has news about the {prize}",
    "Congratulations on the new job! We should celebrate at {place} {day}",
)

# Openers shared by both classes, drawn with class-dependent odds: the first bytes, which a short
# max_len keeps, often do not settle the label on their own.
OPENERS = ("", "Hi {name}, ", "Hey! ", "Good news! ", "Hi its {name}. ", "Quick one: ", "Call me! ")
OPENER_WEIGHTS = {1: (5, 2, 1, 3, 1, 1, 1), 0: (6, 3, 2, 1, 1, 1, 1)}

TAILS = {
    1: (
        "Stop to opt out",
        "Offer ends soon",
        "18+ only",
        "Std rates apply",
        "Don't miss out",
        "Limited time only",
        "Valid 12hrs only",
    ),
    0: ("lol", "x", "love you", "thanks", "see you soon", "let me know", "cheers", "ta"),
}

MIN_WORDS, MAX_WORDS = 5, 25


def make_fixture_hard(n_per_class: int = 400, seed: int = 1234) -> list[Example]:
    """``n_per_class`` distinct spam and ham messages of 5 to 25 words, interleaved, identical everywhere."""
    rng = random.Random(seed)

    def draw(i: int) -> str:
        label = i % 2
        opener = rng.choices(OPENERS, weights=OPENER_WEIGHTS[label])[0]
        text = fill(opener + rng.choice(SPAM if label else HAM), rng, SLOTS)
        while rng.random() < 0.4:  # sign-offs vary the length and share some words across classes
            text += " " + rng.choice(TAILS[label] if rng.random() < 0.8 else TAILS[1 - label])
        return text if MIN_WORDS <= len(text.split()) <= MAX_WORDS else ""

    return distinct_examples(n_per_class, draw)


@dataclass(frozen=True)
class FixtureHard:
    """The harder built-in corpus as a data source (``data=fixture_hard``)."""

    n_per_class: int = 400
    seed: int = 1234
    label_names: tuple[str, str] = ("ham", "spam")

    def load(self) -> list[Example]:
        return make_fixture_hard(self.n_per_class, self.seed)

    def fingerprint(self) -> str:
        return hashlib.sha256(f"fixture:{self.n_per_class}:{self.seed}".encode()).hexdigest()
