import hashlib
import re
from pathlib import Path

import pytest

from headswap.data.examples import Example
from headswap.data.table import SMSSpamCollection, TableSource
from headswap.errors import DataError

COMMENTS = (
    "text,label\n"
    "Great video! Learned a lot,0\n"
    "Check out my channel for free giftcards!!!,1\n"
    "The drop at 2:31 is insane,0\n"
    "Subscribe to me and I'll subscribe back,1\n"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def fails(path: Path, where: str, what: str) -> str:
    """The pattern of a one-line error: the file, where in it, then what is wrong."""
    return rf"^{re.escape(str(path))}: {where}.*{what}"


def test_csv_with_header_and_numeric_labels(tmp_path):
    source = TableSource(str(write(tmp_path, "comments.csv", COMMENTS)), positive_label="1")
    assert source.load() == [
        Example("Great video! Learned a lot", 0),
        Example("Check out my channel for free giftcards!!!", 1),
        Example("The drop at 2:31 is insane", 0),
        Example("Subscribe to me and I'll subscribe back", 1),
    ]
    assert source.label_names == ("0", "1")


def test_tsv_without_header_by_index(tmp_path):
    path = write(tmp_path, "sms", "spam\tWIN a prize now\nham\tSee you at 6\n\n")  # no suffix: tab
    source = TableSource(str(path), text_column=1, label_column=0, header=False, negative_label="ham")
    assert source.load() == [Example("WIN a prize now", 1), Example("See you at 6", 0)]
    assert source.label_names == ("ham", "spam")
    backslash_t = TableSource(str(path), text_column=1, label_column=0, header=False, delimiter="\\t")
    assert backslash_t.load() == source.load()


def test_crlf_and_byte_order_mark(tmp_path):
    path = write(tmp_path, "win.csv", ("\ufeff" + COMMENTS).replace("\n", "\r\n"))
    examples = TableSource(str(path), positive_label="1").load()
    assert examples[0] == Example("Great video! Learned a lot", 0) and len(examples) == 4


def test_quoted_fields_with_commas_and_newlines(tmp_path):
    content = 'label,text\nspam,"Win, win, win!"\nham,"line one\nline two, ""quoted"""\n'
    path = write(tmp_path, "q.csv", content)
    assert TableSource(str(path)).load() == [
        Example("Win, win, win!", 1),
        Example('line one\nline two, "quoted"', 0),
    ]


def test_label_whitespace_is_stripped(tmp_path):
    path = write(tmp_path, "w.csv", "text,label\nhello, ham \nbuy now,\tspam\n")
    source = TableSource(str(path), negative_label=" ham")
    assert [e.label for e in source.load()] == [0, 1]
    assert source.label_names == ("ham", "spam")


def test_bundled_sms_spam_collection(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # found through the package, not the working directory
    source = SMSSpamCollection()
    examples = source.load()
    assert len(examples) == 5574
    assert sum(e.label for e in examples) == 747
    assert source.label_names == ("ham", "spam")
    data = Path(source.path).read_bytes()
    readme = (Path(source.path).parent / "README.md").read_text()
    assert hashlib.sha256(data).hexdigest() in readme and "CC BY 4.0" in readme


def test_encoding_errors_replace(tmp_path):
    path = write(tmp_path, "bad.csv", b"text,label\ncaf\xe9 au lait,ham\nfree \xff prize,spam\n")
    source = TableSource(str(path), encoding_errors="replace")
    assert [e.text for e in source.load()] == ["caf\ufffd au lait", "free \ufffd prize"]
    assert TableSource(str(path), encoding="latin-1").load()[0].text == "café au lait"


def test_fingerprint_follows_the_bytes_and_settings(tmp_path):
    path = write(tmp_path, "c.csv", COMMENTS)
    before = TableSource(str(path), positive_label="1").fingerprint()
    assert TableSource(str(path), positive_label="0").fingerprint() != before
    path.write_bytes(COMMENTS.replace("2:31", "2:32").encode())
    assert TableSource(str(path), positive_label="1").fingerprint() != before


def test_label_names_inferred_once_loaded(tmp_path):
    source = TableSource(str(write(tmp_path, "c.csv", COMMENTS)), positive_label="1")
    source.load()
    assert source.label_names == ("0", "1")


# -- one test per bad input: the message names the file, the line and the fix -------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match=fails(path, "no such file", "data.path")):
        TableSource(str(path)).load()


def test_folder_as_path_says_it_is_a_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match=fails(tmp_path, "is a folder, not a file", "data.path")):
        TableSource(str(tmp_path)).load()


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path, "empty.csv", content)
    with pytest.raises(ValueError, match=fails(path, "the file is empty", "labelled rows")):
        TableSource(str(path)).load()


def test_header_only(tmp_path):
    path = write(tmp_path, "h.csv", "text,label\n")
    with pytest.raises(ValueError, match=fails(path, "no data rows after the header", "header=False")):
        TableSource(str(path)).load()


def test_header_lacks_column(tmp_path):
    path = write(tmp_path, "h.csv", "comment,class\nhi,ham\n")
    msg = r"line 1: the header lacks the text column 'text' \(columns seen: 'comment', 'class'\)"
    msg += "; set text_column"
    with pytest.raises(ValueError, match=fails(path, msg, "")):
        TableSource(str(path)).load()


def test_tab_separated_file_named_csv_points_at_the_delimiter(tmp_path):
    path = write(tmp_path, "tabs.csv", COMMENTS.replace(",", "\t"))
    msg = r"line 1: the header lacks the text column .*the header is one column containing '\\t'"
    with pytest.raises(ValueError, match=fails(path, msg, r"set data.delimiter='\\t'$")):
        TableSource(str(path)).load()


def test_a_one_megabyte_text_loads(tmp_path):
    long_text = "spam " * 200_000
    path = write(tmp_path, "long.csv", f"text,label\n{long_text},1\nshort,0\n")
    examples = TableSource(str(path), positive_label="1").load()
    assert examples == [Example(long_text, 1), Example("short", 0)]


def test_row_without_text_column(tmp_path):
    path = write(tmp_path, "r.tsv", "spam\tWIN\nham\n")
    with pytest.raises(ValueError, match=fails(path, "line 2: row has 1 field", "no text column.*delimiter")):
        TableSource(str(path), text_column=1, label_column=0, header=False).load()


def test_row_with_more_fields_than_header(tmp_path):
    path = write(tmp_path, "r.csv", "text,label\nhi,ham\nbuy, now,spam\n")
    msg = "line 3: row has 3 fields but the header has 2"
    with pytest.raises(ValueError, match=fails(path, msg, "quote")):
        TableSource(str(path)).load()


def test_empty_text(tmp_path):
    path = write(tmp_path, "e.csv", 'text,label\nhi,ham\n"  ",spam\n')
    with pytest.raises(ValueError, match=fails(path, "line 3: empty text", "remove the row")):
        TableSource(str(path)).load()


def test_unknown_label(tmp_path):
    path = write(tmp_path, "u.csv", "text,label\nhi,ham\nbuy,spam\n\nwhat,eggs\n")
    msg = r"line 5: unknown label 'eggs' \(labels seen so far: 'ham', 'spam', 'eggs'; "
    msg += r"expected 'spam' or 'ham'\)"
    with pytest.raises(ValueError, match=fails(path, msg, "set positive_label / negative_label")):
        TableSource(str(path), negative_label="ham").load()


def test_two_labels_without_the_positive_one_name_the_setting_to_change(tmp_path):
    """Labels 0/1 and positive_label left at "spam": the fix is the positive label, not negative_label."""
    path = write(tmp_path, "u.csv", "text,label\nhi,0\nbuy,1\n")
    with pytest.raises(ValueError) as err:
        TableSource(str(path)).load()
    message = str(err.value)
    assert "positive_label 'spam' is not a label of the file" in message and "'0', '1'" in message
    assert "data.positive_label=1" in message and "negative_label" not in message


def test_multiline_row_reports_its_lines(tmp_path):
    path = write(tmp_path, "m.csv", 'text,label\nhi,ham\n"two\nlines",eggs\n')
    with pytest.raises(ValueError, match=fails(path, "lines 3-4: unknown label 'eggs'", "")):
        TableSource(str(path), negative_label="ham").load()


def test_only_one_class(tmp_path):
    path = write(tmp_path, "one.csv", "text,label\nhi,ham\nyo,ham\n")
    msg = "only one class in the file: all 2 rows are labelled 'ham', so stratification is impossible"
    with pytest.raises(ValueError, match=fails(path, msg, "set positive_label")):
        TableSource(str(path)).load()


def test_undecodable_bytes(tmp_path):
    content = b'text,label\nhi,ham\n"two\nlines",spam\ncaf\xe9,ham\n'  # the multi-line row counts as two
    path = write(tmp_path, "bad.csv", content)
    with pytest.raises(
        ValueError, match=fails(path, r"line 5: bytes b'\\xe9'.*utf-8", "encoding_errors=replace")
    ):
        TableSource(str(path)).load()


def test_malformed_quoting(tmp_path):
    path = write(tmp_path, "sms", 'ham\t"Hi" she said\nspam\tWIN\n')  # quotes as text: the SMS format
    with pytest.raises(ValueError, match=fails(path, "line 1: malformed quoting", "quoting=False")):
        TableSource(str(path), text_column=1, label_column=0, header=False).load()
    ok = TableSource(str(path), text_column=1, label_column=0, header=False, quoting=False)
    assert ok.load()[0] == Example('"Hi" she said', 0)


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"text_column": "text", "header": False}, "text_column='text' is a column name but header=False"),
        ({"delimiter": ";;"}, "delimiter=';;' is not one character"),
        ({"negative_label": "spam"}, "positive_label and negative_label are both 'spam'"),
        ({"label_column": "text"}, "text_column and label_column are both 'text'"),
    ],
)
def test_bad_settings_fail_at_construction(tmp_path, kwargs, what):
    path = tmp_path / "any.csv"
    with pytest.raises(ValueError, match=fails(path, re.escape(what), "")):
        TableSource(str(path), **kwargs)


def test_messages_are_one_line(tmp_path):
    path = write(tmp_path, "u.csv", 'text,label\nhi,ham\nbuy,spam\nx,"a\nb"\n')
    with pytest.raises(ValueError) as info:
        TableSource(str(path), negative_label="ham").load()
    assert "\n" not in str(info.value) and "lines 4-5" in str(info.value)


@pytest.mark.parametrize(
    "settings",
    [
        {"labels": ["spam", "ham"], "positive_label": "spam", "negative_label": "ham"},
        {"labels": ["spam", "ham"]},  # positive_label left at "spam": it would silently become the negative
        {"labels": ["ok", "bad"], "negative_label": "bad"},
    ],
)
def test_two_labels_whose_order_contradicts_the_positive_label_are_refused(settings: dict) -> None:
    with pytest.raises(ValueError) as err:
        TableSource("x.csv", **{**settings, "labels": tuple(settings["labels"])})
    assert "the positive class (the second)" in str(err.value) and "list the negative class first" in str(
        err.value
    )


@pytest.mark.parametrize(
    "settings",
    [
        {"labels": ("ham", "spam")},
        {"labels": ("ok", "bad"), "positive_label": "bad"},
        {"labels": ("a", "b", "c")},
    ],
)
def test_labels_that_agree_with_the_positive_label_are_accepted(settings: dict) -> None:
    assert TableSource("x.csv", **settings).label_names == settings["labels"]


def test_an_empty_label_names_the_labels_the_file_has(tmp_path):
    """A three-class file with no "spam" in it: the hint is its own labels, not positive_label's default."""
    path = write(tmp_path, "three.csv", "text,label\na,alarm\nb,music\nc,\nd,weather\n")
    with pytest.raises(ValueError) as err:
        TableSource(str(path)).load()
    message = str(err.value)
    assert "line 4: empty label (expected labels seen so far: 'alarm', 'music')" in message
    assert "spam" not in message


def jsonl(tmp_path: Path, *lines: str) -> Path:
    return write(tmp_path, "comments.jsonl", "\n".join(lines) + "\n")


def test_json_lines_read_their_keys_as_the_columns(tmp_path):
    path = jsonl(
        tmp_path,
        '{"comment": "Great video! Learned a lot", "spam": 0, "id": 7}',
        "",
        '{"comment": "Check out my channel \\u2014 free giftcards!!!", "spam": 1}',
    )
    source = TableSource(str(path), text_column="comment", label_column="spam", positive_label="1")
    assert source.load() == [
        Example("Great video! Learned a lot", 0),
        Example("Check out my channel \u2014 free giftcards!!!", 1),
    ]
    assert source.label_names == ("0", "1")


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ('{"text": "hi", "label": ', "not JSON"),
        ('["hi", "ham"]', "no 'text' and 'label' keys"),
        ('{"text": "hi", "lable": "ham"}', "no 'text' and 'label' keys"),
        ('{"text": ["hi"], "label": "ham"}', "the text must be a string"),
    ],
)
def test_a_bad_json_line_is_named(tmp_path, line: str, what: str):
    path = jsonl(tmp_path, '{"text": "WIN", "label": "spam"}', '{"text": "ok", "label": "ham"}', line)
    with pytest.raises(DataError, match=fails(path, "line 3", re.escape(what))) as err:
        TableSource(str(path)).load()
    assert "\n" not in str(err.value)
