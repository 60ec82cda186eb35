"""``errors.jsonl``: every test example a run got wrong, most confident mistakes first.

One JSON object a line, so ``head``, ``jq`` and pandas read it as it is. Written beside ``metrics.json``
by every training run; the report prints the first few. Plain Python on plain lists, decided by
``Task.decide``, the rule the confusion matrix counts with: the file's rows are its off-diagonal cells.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import TypedDict

from headswap.io import atomic_write
from headswap.task import Task

FILE_NAME = "errors.jsonl"


class Mistake(TypedDict):
    text: str
    true: str  # the label's name
    predicted: str
    probability: float  # of the predicted label: how sure the model was of its wrong answer


def find_mistakes(
    texts: Sequence[str], probabilities: Sequence[Sequence[float]], labels: Sequence[int], task: Task
) -> list[Mistake]:
    """The misclassified examples, most confident first (equals in the order given), decided by the
    task's rule at its default threshold, as the confusion matrix counts them."""
    mistakes, names = [], task.labels
    for text, probs, label in zip(texts, probabilities, labels, strict=True):
        predicted = task.decide(probs)
        if predicted != label:
            p = round(float(probs[predicted]), 6)
            mistakes.append(Mistake(text=text, true=names[label], predicted=names[predicted], probability=p))
    return sorted(mistakes, key=lambda m: -m["probability"])


def write_mistakes(run_dir: str | Path, mistakes: Sequence[Mistake]) -> Path:
    """``run_dir/errors.jsonl``, whole or not at all (an empty file: no mistakes)."""
    data = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in mistakes).encode()
    return atomic_write(Path(run_dir) / FILE_NAME, lambda f: f.write(data))


def read_mistakes(run_dir: str | Path, limit: int | None = None) -> list[Mistake]:
    """The first ``limit`` rows of ``run_dir/errors.jsonl`` (all with None); none when the file is absent,
    as in runs from before it was written."""
    path = Path(run_dir) / FILE_NAME
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in islice(lines, limit)]
