"""Corpora and splits, as plain Python: no torch, no Lightning, no Hydra."""

from headswap.data.examples import Example, TextSource
from headswap.data.fixture import SMSFixture, make_fixture
from headswap.data.lesson_fixture import LessonFixture, make_lesson_fixture
from headswap.data.split import Split, split_warnings, stratified_group_split
from headswap.data.table import SMSSpamCollection, TableSource

__all__ = [
    "Example",
    "LessonFixture",
    "SMSFixture",
    "SMSSpamCollection",
    "Split",
    "TableSource",
    "TextSource",
    "make_fixture",
    "make_lesson_fixture",
    "split_warnings",
    "stratified_group_split",
]
