"""``errors.jsonl``: every test example a run got wrong, most confident mistakes first.

One JSON object a line, so ``head``, ``jq`` and pandas read it as it is. Written beside ``metrics.json``
by every training run; the report prints the first few. Plain Python on plain lists: the prediction rule
here is the one the confusion matrix counts with, so the file's rows are its off-diagonal cells.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import TypedDict

from headswap.io import atomic_write

FILE_NAME = "errors.jsonl"


class Mistake(TypedDict):
    text: str
    true: str  # the label's name
    predicted: str
    probability: float  # of the predicted label: how sure the model was of its wrong answer


def decided_class(probabilities: Sequence[float], threshold: float | None = 0.5) -> int:
    """The class one text's probabilities decide. Two classes with a threshold: 1 when its probability is
    strictly above it, the rule torchmetrics' binary metrics use; otherwise the most probable class (the
    first of equals, as ``argmax``). The report's mistakes, predict and serve all decide here."""
    if threshold is not None and len(probabilities) == 2:
        return int(probabilities[1] > threshold)
    return max(range(len(probabilities)), key=probabilities.__getitem__)


def find_mistakes(
    texts: Sequence[str],
    probabilities: Sequence[Sequence[float]],
    labels: Sequence[int],
    label_names: Sequence[str],
) -> list[Mistake]:
    """The misclassified examples, most confident first (equals in the order given)."""
    mistakes = []
    for text, probs, label in zip(texts, probabilities, labels, strict=True):
        predicted = decided_class(probs)
        if predicted != label:
            mistakes.append(
                Mistake(
                    text=text,
                    true=label_names[label],
                    predicted=label_names[predicted],
                    probability=round(float(probs[predicted]), 6),
                )
            )
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
