"""A labelled corpus from a user's CSV / TSV / JSON Lines file, and the bundled SMS Spam Collection.

Plain Python (stdlib only). Every bad input raises a one-line ``ValueError`` (``FileNotFoundError`` for a
missing file) of the form ``<path>: line <n>: <what is wrong>; <how to fix it>``, because a user who
points ``data.path`` at their own file should learn what to change without reading this code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import NoReturn

from headswap.data.examples import Example
from headswap.errors import DataError, MissingFile

JSONL_SUFFIXES = (".jsonl", ".ndjson")  # one JSON object a line; the columns name its keys
TAB_SUFFIXES = ("", ".tsv", ".tab")  # "" is a file without extension, like SMSSpamCollection
OTHER_DELIMITERS = ("\t", ",", ";", "|")  # suggested when a header reads as one column that holds one


def _listing(items: list[str] | tuple[str, ...], limit: int = 20) -> str:
    """``'a', 'b', ...``: capped, and ``repr`` keeps the message on one line whatever the file holds."""
    shown = ", ".join(repr(s) for s in items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def _lines(start: int, end: int) -> str:
    return f"line {start}" if end <= start else f"lines {start}-{end}"


@dataclass(frozen=True)
class TableSource:
    """Labelled texts from one column of a delimited file and labels from another.

    Two label values: ``positive_label`` becomes label 1; ``negative_label`` label 0 (``None``: the one
    other label in the file). More than two (with ``negative_label`` unset): every value is a class, in
    sorted order; ``labels`` fixes the classes and their order instead (index = class id) and refuses a
    value not in it. ``delimiter=None`` picks tab for ``.tsv`` / ``.tab`` / no extension, else comma.
    ``quoting=False`` reads quote characters as text, for files like the SMS Spam Collection whose
    messages may open a quote they never close (with quoting on, such a file fails loudly rather than
    merging rows).
    """

    path: str
    text_column: str | int = "text"
    label_column: str | int = "label"
    positive_label: str = "spam"
    negative_label: str | None = None
    delimiter: str | None = None
    header: bool = True
    encoding: str = "utf-8"
    encoding_errors: str = "strict"
    quoting: bool = True
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        """Catch configuration mistakes when Hydra builds the source, before any file is read."""
        if self.labels is not None:
            names = tuple(str(v).strip() for v in self.labels)
            if len(names) < 2 or len(set(names)) < len(names) or not all(names):
                self._fail(
                    f"data.labels={list(self.labels)} must name two or more different, non-empty classes",
                    "list each label value of the file once, in the order wanted",
                )
            object.__setattr__(self, "labels", names)
            self._check_positive_agrees(names)
        if len(self._delimiter) != 1:
            self._fail(f"delimiter={self.delimiter!r} is not one character", "use e.g. ',' or '\\t'")
        if self._negative == self.positive_label.strip():
            self._fail(
                f"positive_label and negative_label are both {self.positive_label!r}",
                "set them to the two different labels used in the file",
            )
        for name, col in (("text_column", self.text_column), ("label_column", self.label_column)):
            if isinstance(col, int) and col < 0:
                self._fail(f"{name}={col} is negative", "give a 0-based column index (0 is the first column)")
            if isinstance(col, str) and not self.header:
                self._fail(
                    f"{name}={col!r} is a column name but header=False",
                    "give a 0-based column index, or set header=True if line 1 names the columns",
                )
        if self.text_column == self.label_column:
            self._fail(
                f"text_column and label_column are both {self.text_column!r}",
                "point them at two different columns",
            )

    def _check_positive_agrees(self, labels: tuple[str, ...]) -> None:
        """Two ``labels`` make the second the positive class: positive_label / negative_label must agree."""
        positive, negative = self.positive_label.strip(), self._negative
        if len(labels) != 2:
            return
        if positive in labels:
            wanted = [next(x for x in labels if x != positive), positive]
        elif negative is not None:
            wanted = [negative, next(x for x in labels if x != negative)]
        else:
            return
        if list(labels) != wanted:
            self._fail(
                f"data.labels={list(labels)} makes {labels[1]!r} the positive class (the second) but "
                f"data.positive_label={positive!r}, data.negative_label={negative!r}",
                f"list the negative class first, data.labels=[{', '.join(wanted)}], or leave data.labels out",
            )

    # -- the TextSource protocol ---------------------------------------------------------------------

    @property
    def label_names(self) -> tuple[str, ...]:
        """The classes, index = class id: (negative, positive) for two. Reads the file only when they
        cannot be known from the settings."""
        if self.labels is not None:
            return self.labels
        if self._negative is not None:
            return self._negative, self.positive_label.strip()
        return self.__dict__.get("_inferred_names") or self._parse()[1]

    def load(self) -> list[Example]:
        examples, names = self._parse()
        object.__setattr__(self, "_inferred_names", names)  # label_names stays in step, no re-read
        return examples

    def fingerprint(self) -> str:
        """sha256 of the bytes and of every setting that changes what ``load()`` returns.

        The path itself is left out, so a moved or re-installed copy of the same file reuses its cache;
        the resolved delimiter is kept in, since it follows from the path's extension.
        """
        settings = (
            self.text_column,
            self.label_column,
            self.positive_label,
            self.negative_label,
            self._delimiter,
            self.header,
            self.encoding,
            self.encoding_errors,
            self.quoting,
        ) + (() if self.labels is None else (self.labels,))  # two-class files keep their fingerprint
        h = hashlib.sha256(f"table:{settings!r}\0".encode())
        h.update(self._read_bytes())
        return h.hexdigest()

    # -- parsing -------------------------------------------------------------------------------------

    @property
    def _delimiter(self) -> str:
        if self.delimiter is None:
            return "\t" if Path(self.path).suffix.lower() in TAB_SUFFIXES else ","
        return "\t" if self.delimiter == "\\t" else self.delimiter

    def _fail(self, what: str, fix: str, line: str | None = None) -> NoReturn:
        raise DataError(f"{self.path}: {line + ': ' if line else ''}{what}; {fix}")

    def _read_bytes(self) -> bytes:
        path = Path(self.path)
        if path.is_dir():
            raise IsADirectoryError(
                f"{self.path}: is a folder, not a file; point data.path at the CSV/TSV file"
            )
        if not path.is_file():
            raise MissingFile(
                f"{self.path}: no such file; check data.path (a relative path is resolved "
                f"against the working directory, {Path.cwd()})"
            )
        return path.read_bytes()

    def _decode(self, data: bytes) -> str:
        """Decode the whole file, turning a bad byte into the line it sits on (1-based)."""
        try:
            text = data.decode(self.encoding, self.encoding_errors)
        except UnicodeDecodeError as e:
            line = len((data[: e.start] + b"x").splitlines())  # the "x" stands for the current line
            self._fail(
                f"bytes {data[e.start : e.end]!r} are not valid {self.encoding} ({e.reason})",
                "set encoding to the file's encoding, or encoding_errors=replace to read them as U+FFFD",
                f"line {line}",
            )
        except LookupError as e:
            self._fail(
                str(e),
                "set encoding to a Python codec name such as 'utf-8' or 'latin-1', and "
                "encoding_errors to 'strict' or 'replace'",
            )
        return text.removeprefix("\ufeff")  # a byte-order mark would otherwise rename the first column

    def _columns(self, header: list[str] | None, where: str = "") -> tuple[int, int]:
        """The text and label columns' 0-based indices: as set, or found by name in ``header``."""
        return self._column("text_column", header, where), self._column("label_column", header, where)

    def _column(self, name: str, header: list[str] | None, where: str) -> int:
        col = getattr(self, name)
        if isinstance(col, int):
            if header is not None and col >= len(header):
                self._fail(
                    f"{name}={col} but the header has {len(header)} columns ({_listing(header)})",
                    "give a 0-based index below that, or a column name",
                    where,
                )
            return col
        assert header is not None  # __post_init__ rejects names when header=False
        names = [h.strip() for h in header]
        if col.strip() not in names:
            other = next((d for d in OTHER_DELIMITERS if len(names) == 1 and d in names[0]), None)
            fix = f"set {name} to one of them, or header=False with column indices if the file has no header"
            if other:
                fix = f"the header is one column containing {other!r}: set data.delimiter={other!r}"
            self._fail(
                f"the header lacks the {name.removesuffix('_column')} column {col!r} (columns "
                f"seen: {_listing(names)})",
                fix,
                where,
            )
        return names.index(col.strip())

    def _parse(self) -> tuple[list[Example], tuple[str, ...]]:
        """Examples in file order and the class names (index = class id)."""
        text = self._decode(self._read_bytes())
        if not text.strip():
            self._fail("the file is empty", "point data.path at a file with labelled rows")
        # One long text is data, not a quoting error (the tokenizer truncates it): no field is too long.
        # The csv module's limit is process-wide, so it is put back afterwards.
        previous = csv.field_size_limit()
        csv.field_size_limit(max(previous, len(text)))
        try:
            return self._parse_rows(text)
        finally:
            csv.field_size_limit(previous)

    def _parse_rows(self, text: str) -> tuple[list[Example], tuple[str, ...]]:
        """``_parse`` on the decoded text: the header (if any) locates the columns, every other non-blank
        row gives a text and a label, checked as it is read."""
        rows: list[tuple[str, str]] = []  # text, label
        seen: list[str] = []  # distinct labels in order of appearance
        header: list[str] | None = None
        columns = None if self.header else self._columns(None)  # with a header: once it is read
        for row, where in self._rows(text):
            if columns is None:
                header, columns = row, self._columns(row, where)
                continue
            text_field, label = self._fields(row, columns, header, where, seen)
            if label not in seen:
                seen.append(label)
            self._check_label(label, seen, where)
            rows.append((text_field, label))
        if not rows:
            self._fail(
                "no data rows" + (" after the header" if header else ""),
                "add rows with a text and a label"
                + (", or set header=False if line 1 is data" if header else ""),
            )
        names = self._class_names(seen, len(rows))
        index = {name: i for i, name in enumerate(names)}
        return [Example(text_field, index[label]) for text_field, label in rows], names

    @property
    def _negative(self) -> str | None:
        return None if self.negative_label is None else self.negative_label.strip()

    def _rows(self, text: str) -> Iterator[tuple[list[str], str]]:
        """Each non-blank row and the line(s) it spans in the file; malformed quoting fails naming them."""
        if Path(self.path).suffix.lower() in JSONL_SUFFIXES:
            yield from self._json_lines(text)
            return
        reader = csv.reader(
            io.StringIO(text, newline=""),
            delimiter=self._delimiter,
            strict=True,
            quoting=csv.QUOTE_MINIMAL if self.quoting else csv.QUOTE_NONE,
        )
        end = 0
        while True:
            start = end + 1
            try:
                row = next(reader, None)
            except csv.Error as e:
                reason = str(e).replace("\t", "\\t")  # csv names a tab delimiter literally
                self._fail(
                    f"malformed quoting ({reason})",
                    "close the quote or double each quote inside a quoted field, "
                    "or set quoting=False if quotes in this file are plain text",
                    _lines(start, reader.line_num),
                )
            end = reader.line_num
            if row is None:
                return
            if any(f.strip() for f in row):  # a blank line is skipped
                yield row, _lines(start, end)

    def _json_lines(self, text: str) -> Iterator[tuple[list[str], str]]:
        """JSON Lines as rows: a header of the two keys (text and label columns name keys), then each
        non-blank line's values under them; a line that is not an object holding both fails naming it."""
        keys = [str(self.text_column), str(self.label_column)]
        if isinstance(self.text_column, int) or isinstance(self.label_column, int):
            self._fail("text_column and label_column name keys in a JSON Lines file", "set them to key names")
        if self.header:
            yield keys, "line 1"
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"line {number}"
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                self._fail(f"not JSON ({e.msg} at character {e.pos + 1})", "one JSON object a line", where)
            if not isinstance(row, dict) or not set(keys) <= set(row):
                have = _listing(list(row)) if isinstance(row, dict) else f"a JSON {type(row).__name__}"
                fix = "give each line both keys, or name others: data.text_column, data.label_column"
                self._fail(f"no {keys[0]!r} and {keys[1]!r} keys (found {have})", fix, where)
            if not isinstance(row[keys[0]], str) or isinstance(row[keys[1]], (dict, list)):
                self._fail(
                    "the text must be a string and the label a string or number", "fix the line", where
                )
            yield [row[keys[0]], str(row[keys[1]])], where

    def _fields(
        self, row: list[str], columns: tuple[int, int], header: list[str] | None, where: str, seen: list[str]
    ) -> tuple[str, str]:
        """The row's text and (stripped) label, or one line naming what the row lacks."""
        ti, li = columns
        if header is not None and len(row) > len(header):
            self._fail(
                f"row has {len(row)} fields but the header has {len(header)}",
                f"quote the text if it contains the delimiter {self._delimiter!r}",
                where,
            )
        if len(row) <= max(ti, li):
            missing, index = ("text", ti) if ti >= len(row) else ("label", li)
            self._fail(
                f"row has {len(row)} field(s), so no {missing} column (0-based index {index})",
                f"check that delimiter={self._delimiter!r} is the file's delimiter, or fill in the field",
                where,
            )
        if not row[ti].strip():
            self._fail("empty text", "remove the row or fill in its text", where)
        label = row[li].strip()
        if not label:  # what the file itself says a label looks like, before what the settings assume
            expected = (
                f"one of {_listing(self.labels)}"
                if self.labels
                else f"labels seen so far: {_listing(seen)}"
                if seen
                else f"e.g. {self.positive_label.strip()!r}"
            )
            self._fail(f"empty label (expected {expected})", "fill in the label or remove the row", where)
        return row[ti], label

    def _check_label(self, label: str, seen: list[str], where: str) -> None:
        """A label the settings rule out: not in ``labels``, or a third one beside positive and negative."""
        if self.labels is not None and label not in self.labels:
            self._fail(
                f"label {label!r} is not in data.labels ({_listing(self.labels)})",
                "add it to data.labels, or fix or remove the row",
                where,
            )
        positive, negative = self.positive_label.strip(), self._negative
        if negative is not None and label not in (positive, negative):
            self._fail(
                f"unknown label {label!r} (labels seen so far: {_listing(seen)}; expected "
                f"{positive!r} or {negative!r})",
                "fix the row, or set positive_label / negative_label, or unset negative_label "
                "for more than two classes",
                where,
            )

    def _class_names(self, seen: list[str], n_rows: int) -> tuple[str, ...]:
        """The classes, index = class id: ``labels`` as given; (negative, positive) for two label values;
        the sorted values for more than two. ``seen``: the file's labels in order of appearance."""
        positive, negative = self.positive_label.strip(), self._negative
        if len(seen) == 1:
            if seen[0] != positive:
                fix = f"set positive_label (now {positive!r}) to the file's positive label, or add positives"
            else:
                fix = "add rows of the negative class" + (f" {negative!r}" if negative else "")
            self._fail(
                f"only one class in the file: all {n_rows} rows are labelled {seen[0]!r}, "
                "so stratification is impossible",
                fix,
            )
        if self.labels is not None:
            return self.labels
        if len(seen) > 2 and negative is None:
            return tuple(sorted(seen))
        if positive not in seen:  # two labels, neither the positive one: the setting is what is wrong
            self._fail(
                f"positive_label {positive!r} is not a label of the file (its labels: {_listing(seen)})",
                f"set data.positive_label to the positive class, e.g. data.positive_label={seen[-1]}",
            )
        return (negative or next(s for s in seen if s != positive)), positive


def _bundled(folder: str, name: str) -> str:
    return str(files("headswap") / "datasets" / folder / name)


@dataclass(frozen=True)
class SMSSpamCollection(TableSource):
    """The real SMS Spam Collection (5,574 messages, 747 spam; CC BY 4.0) shipped inside the package.

    Located with ``importlib.resources`` so it loads from any working directory, and built with no
    arguments so Hydra can instantiate it from ``_target_: headswap.data.table.SMSSpamCollection``.
    The file is ``label<TAB>text`` with quote characters as plain text.
    """

    path: str = field(default_factory=lambda: _bundled("sms_spam_collection", "SMSSpamCollection"))
    text_column: str | int = 1
    label_column: str | int = 0
    positive_label: str = "spam"
    negative_label: str | None = "ham"
    delimiter: str | None = "\t"
    header: bool = False
    quoting: bool = False


@dataclass(frozen=True)
class HWU64Scenarios(TableSource):
    """HWU64's 18 scenarios (alarm, music, weather, ...): 5,063 requests to a home assistant (CC BY 4.0),
    shipped inside the package like the SMS collection; ``text,label`` CSV, classes in sorted order.
    Source and derivation: ``datasets/hwu64_scenarios/SOURCE.md``."""

    path: str = field(default_factory=lambda: _bundled("hwu64_scenarios", "hwu64_scenarios.csv"))
