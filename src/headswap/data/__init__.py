"""Corpora and splits, as plain Python: no torch, no Lightning, no Hydra."""

from headswap.data.examples import Example, TextSource
from headswap.data.fixture import Fixture, make_fixture
from headswap.data.fixture_hard import FixtureHard, make_fixture_hard
from headswap.data.fixture_multiclass import FixtureMulticlass, make_fixture_multiclass
from headswap.data.split import Split, split_warnings, stratified_group_split
from headswap.data.table import HWU64Scenarios, SMSSpamCollection, TableSource

__all__ = [
    "Example",
    "Fixture",
    "FixtureHard",
    "FixtureMulticlass",
    "HWU64Scenarios",
    "SMSSpamCollection",
    "Split",
    "TableSource",
    "TextSource",
    "make_fixture_hard",
    "make_fixture",
    "make_fixture_multiclass",
    "split_warnings",
    "stratified_group_split",
]
