"""What a user can fix, as its own type: only these end a command in one line (``error: ...``, exit 2).

Everything else is a bug and keeps its traceback: a ``ValueError`` raised inside torch, transformers or
OmegaConf is not taken for bad input. The operating system's own errors (a missing file, a full disk, a
port in use) are the other thing a user fixes, so they end in one line too (``app.one_line``). Each class
is also the built-in error it refines (a ``ConfigError`` is a ``ValueError``), so callers that catch those
keep working.
"""

from __future__ import annotations

import re

NAMED_KEY = re.compile(
    r"([A-Za-z_][\w.]*)="
)  # "data.max_len=0 is too small ...": the key a message leads with


class UserError(Exception):
    """One line saying what is wrong and how to fix it; ``key`` names the setting it is about (by default
    the one the message leads with, ``data.max_len=0 ...``), for a caller or a test to read."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        named = NAMED_KEY.match(message)
        self.key = key or (named.group(1) if named else None)


class ConfigError(UserError, ValueError):
    """A setting's value, alone or beside another setting."""


class DataError(UserError, ValueError):
    """What a data file or a request holds."""


class MissingFile(UserError, FileNotFoundError):
    """A file or folder the command needs is not there."""


class MissingExtra(UserError, ModuleNotFoundError):
    """An optional dependency that is not installed: the message names the ``pip install`` that brings it."""


class ModelPathError(MissingFile):
    """A pretrained model's folder without what a model needs; ``path`` and ``problem`` let a caller that
    knows more (a finished run that trained there) say it in its own words."""

    def __init__(self, path: str, problem: str, fix: str) -> None:
        super().__init__(f"body.path={path}: {problem}; {fix}", key="body.path")
        self.path, self.problem = path, problem
