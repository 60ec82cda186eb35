import hashlib
from collections import Counter

from headswap.data import SMSFixture, make_fixture

# Pinned: the fixture must be byte-identical on every run, platform and Python version.
FIXTURE_SHA256 = "9bb57490f95fe98015b2926f1382dc55deca5b682973769ca4e76c64bc4f571d"


def corpus_hash(examples) -> str:
    return hashlib.sha256("\n".join(f"{e.label}\t{e.text}" for e in examples).encode()).hexdigest()


def test_fixture_is_deterministic_and_pinned() -> None:
    assert corpus_hash(make_fixture()) == FIXTURE_SHA256
    assert corpus_hash(SMSFixture().load()) == FIXTURE_SHA256


def test_fixture_has_400_distinct_messages_per_class_of_5_to_25_words() -> None:
    examples = make_fixture()
    assert len(examples) == 800
    assert Counter(e.label for e in examples) == {0: 400, 1: 400}
    assert len({e.text for e in examples}) == 800
    assert all(5 <= len(e.text.split()) <= 25 for e in examples)


def test_classes_share_vocabulary() -> None:
    """Not trivially separable: many words appear in both spam and ham."""
    words = {label: Counter(w.lower() for e in make_fixture() if e.label == label for w in e.text.split()) for label in (0, 1)}
    shared = set(words[0]) & set(words[1])
    assert len(shared) >= 50
    assert {"call", "free", "hi"} <= shared


def test_other_seed_gives_another_corpus() -> None:
    assert corpus_hash(make_fixture(seed=1)) != FIXTURE_SHA256
    assert SMSFixture(seed=1).fingerprint() != SMSFixture().fingerprint()
