import hashlib
import itertools
import re
from collections import Counter

from headswap.data import Fixture, FixtureHard, fixture, make_fixture, make_fixture_hard

from .conftest import compose_cfg

# The harder fixture (``data=fixture_hard``). Pinned: the fixture must be byte-identical on every run,
# platform and Python version.
FIXTURE_HARD_SHA256 = "9bb57490f95fe98015b2926f1382dc55deca5b682973769ca4e76c64bc4f571d"


def corpus_hash(examples) -> str:
    return hashlib.sha256("\n".join(f"{e.label}\t{e.text}" for e in examples).encode()).hexdigest()


def test_fixture_is_deterministic_and_pinned() -> None:
    assert corpus_hash(make_fixture_hard()) == FIXTURE_HARD_SHA256
    assert corpus_hash(FixtureHard().load()) == FIXTURE_HARD_SHA256


def test_fixture_has_400_distinct_messages_per_class_of_5_to_25_words() -> None:
    examples = make_fixture_hard()
    assert len(examples) == 800
    assert Counter(e.label for e in examples) == {0: 400, 1: 400}
    assert len({e.text for e in examples}) == 800
    assert all(5 <= len(e.text.split()) <= 25 for e in examples)


def test_classes_share_vocabulary() -> None:
    """Not trivially separable: many words appear in both spam and ham."""
    words = {
        label: Counter(w.lower() for e in make_fixture_hard() if e.label == label for w in e.text.split())
        for label in (0, 1)
    }
    shared = set(words[0]) & set(words[1])
    assert len(shared) >= 50
    assert {"call", "free", "hi"} <= shared


def test_other_seed_gives_another_corpus() -> None:
    assert corpus_hash(make_fixture_hard(seed=1)) != FIXTURE_HARD_SHA256
    assert FixtureHard(seed=1).fingerprint() != FixtureHard().fingerprint()


# The default fixture (``data=fixture``): its ceiling is in the data, a stated share of messages whose
# visible window reads like the other class.
FIXTURE_SHA256 = "f3f5c8c975a0384deb6bdd8c24103080e04119045566f905cdfdf93e0bc4f70a"


def every_filling(template: str):
    keys = re.findall(r"\{(\w+)\}", template)
    for combo in itertools.product(*(fixture.SLOTS[k] for k in keys)):
        values = iter(combo)
        yield re.sub(r"\{(\w+)\}", lambda m, values=values: next(values), template)


def window(text: str) -> bytes:
    return text.encode()[: fixture.WINDOW_BYTES]


def test_lesson_fixture_is_deterministic_and_pinned() -> None:
    assert corpus_hash(make_fixture()) == FIXTURE_SHA256
    assert corpus_hash(Fixture().load()) == FIXTURE_SHA256
    assert corpus_hash(make_fixture(seed=1)) != FIXTURE_SHA256
    assert Fixture(seed=1).fingerprint() != Fixture().fingerprint()
    assert Fixture().fingerprint() != FixtureHard().fingerprint()  # each gets its own pretrained body


def test_lesson_fixture_has_400_distinct_messages_per_class_of_5_to_25_words() -> None:
    examples = make_fixture()
    assert len(examples) == 800
    assert Counter(e.label for e in examples) == {0: 400, 1: 400}
    assert [e.label for e in examples[:4]] == [0, 1, 0, 1]
    assert len({e.text for e in examples}) == 800
    assert all(5 <= len(e.text.split()) <= 25 for e in examples)


def test_every_opening_fills_the_window_and_the_two_kinds_never_share_one() -> None:
    windows = {}
    for kind, templates in fixture.OPENINGS.items():
        openings = [o for t in templates for o in every_filling(t)]
        assert min(len(o.encode()) for o in openings) >= fixture.WINDOW_BYTES
        windows[kind] = {window(o) for o in openings}
    assert not windows[0] & windows[1]


def test_every_filling_of_every_template_pair_has_5_to_25_words() -> None:
    continuations = fixture.CONTINUATIONS
    words = {
        (label, kind): [len(c.split()) for t in continuations[label][kind] for c in every_filling(t)]
        for label in (0, 1)
        for kind in (0, 1)
    }
    for (_label, kind), continuation in words.items():
        opening = [len(o.split()) for t in fixture.OPENINGS[kind] for o in every_filling(t)]
        assert 5 <= min(opening) + min(continuation) and max(opening) + max(continuation) <= 25


def test_the_ambiguous_share_is_as_stated() -> None:
    """60 spam (15%) and 38 ham (9.5%) open like the other class: the window shows the opening's kind only."""
    spam_windows = {window(o) for t in fixture.OPENINGS[1] for o in every_filling(t)}
    examples = make_fixture()
    kind = [int(window(e.text) in spam_windows) for e in examples]
    counts = Counter((e.label, k) for e, k in zip(examples, kind))
    assert counts == {(0, 0): 362, (0, 1): 38, (1, 1): 340, (1, 0): 60}
    # each ambiguous window also opens a clear message of the other class: the window cannot tell them apart
    clear = {window(e.text) for e, k in zip(examples, kind) if e.label == k}
    assert all(window(e.text) in clear for e, k in zip(examples, kind) if e.label != k)
    # the shares follow the knobs, with exact counts
    small = make_fixture(n_per_class=40)
    small_kind = [int(window(e.text) in spam_windows) for e in small]
    assert Counter((e.label, k) for e, k in zip(small, small_kind) if e.label != k) == {(1, 0): 6, (0, 1): 4}


def test_data_fixture_is_the_lesson_fixture_and_fixture_hard_the_old_one(tmp_path) -> None:
    assert compose_cfg(tmp_path, ["data=fixture"]).data.source._target_.endswith("Fixture")
    assert compose_cfg(tmp_path)["data"]["source"]["_target_"].endswith("Fixture")
    hard = compose_cfg(tmp_path, ["data=fixture_hard"]).data.source
    assert hard._target_ == "headswap.data.fixture_hard.FixtureHard"


def test_fingerprints_survive_the_rename() -> None:
    """Cached pretrained bodies are keyed by these: renaming a module or class must not change them."""
    assert Fixture().fingerprint() == "80854f0562557d07b13a8da121b02d3b0d5c3e980a698089b53cdceeda9259dd"
    assert FixtureHard().fingerprint() == "f1d7b626ea67729e271ceba5471951d112e45034ebac08a18f3f4119f1742d42"
