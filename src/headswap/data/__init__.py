"""Corpora and splits, as plain Python: no torch, no Lightning, no Hydra."""

from headswap.data.examples import Example, TextSource
from headswap.data.fixture import Fixture, make_fixture
from headswap.data.fixture_hard import FixtureHard, make_fixture_hard
from headswap.data.split import Split, split_warnings, stratified_group_split
from headswap.data.table import SMSSpamCollection, TableSource

__all__ = [
    "Example",
    "Fixture",
    "FixtureHard",
    "SMSSpamCollection",
    "Split",
    "TableSource",
    "TextSource",
    "make_fixture_hard",
    "make_fixture",
    "split_warnings",
    "stratified_group_split",
]
