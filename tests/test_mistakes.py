"""errors.jsonl: the misclassified examples, by the confusion matrix's rule, most confident first."""

from __future__ import annotations

import json
from pathlib import Path

from headswap.mistakes import FILE_NAME, find_mistakes, read_mistakes, write_mistakes
from headswap.task import Task

NAMES = Task(["ham", "spam"])


def test_binary_mistakes_most_confident_first() -> None:
    texts = ["a", "b", "c", "d", "e"]
    probs = [[0.1, 0.9], [0.4, 0.6], [0.95, 0.05], [0.2, 0.8], [0.5, 0.5]]
    labels = [0, 0, 1, 1, 1]  # wrong: a (spam 0.9), b (spam 0.6), c (ham 0.95), e (0.5 is ham)
    mistakes = find_mistakes(texts, probs, labels, NAMES)
    assert [m["text"] for m in mistakes] == ["c", "a", "b", "e"]
    assert mistakes[0] == {"text": "c", "true": "spam", "predicted": "ham", "probability": 0.95}
    assert mistakes[3] == {"text": "e", "true": "spam", "predicted": "ham", "probability": 0.5}


def test_more_classes_take_the_most_probable() -> None:
    probs = [[0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.4, 0.4, 0.2]]
    mistakes = find_mistakes(["x", "y", "z"], probs, [1, 0, 1], Task(["a", "b", "c"]))
    assert mistakes == [
        {"text": "y", "true": "a", "predicted": "c", "probability": 0.7},
        {"text": "z", "true": "b", "predicted": "a", "probability": 0.4},  # equals: the first, as argmax
    ]


def test_written_whole_and_read_back(tmp_path: Path) -> None:
    mistakes = find_mistakes(["été\nline two", "ok"], [[0.2, 0.8], [0.9, 0.1]], [0, 0], NAMES)
    path = write_mistakes(tmp_path, mistakes)
    assert path == tmp_path / FILE_NAME
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == mistakes
    assert read_mistakes(tmp_path) == mistakes and read_mistakes(tmp_path, limit=0) == []
    assert write_mistakes(tmp_path, []).read_text() == ""  # no mistakes: an empty file, still there


def test_a_run_without_the_file_has_none_to_show(tmp_path: Path) -> None:
    assert read_mistakes(tmp_path, limit=5) == []
