"""Classify new texts with a finished run: label, positive-class probability and the threshold used."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from headswap.app.launch import BAD_INPUT, fail_in_one_line, root_cause
from headswap.training.finished_run import load_finished_run


@dataclass(frozen=True)
class Prediction:
    text: str
    label: str
    probability: float  # of the positive class (the run's second label, e.g. spam)
    threshold: float

    def line(self, as_json: bool = False) -> str:
        if as_json:
            return json.dumps(asdict(self), ensure_ascii=False)
        return f"{self.label}\t{self.probability:.4f}\t(threshold {self.threshold:.3f})\t{self.text}"


def read_lines(stream: BinaryIO, name: str) -> list[str]:
    """One text a line, blank lines skipped; a line that is not UTF-8 stops everything, naming it."""
    texts = []
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise ValueError(
                f"{name}: line {number} is not UTF-8 (byte {raw[e.start]:#04x} at column {e.start + 1}): "
                "save the file as UTF-8"
            ) from None
        if line.strip():
            texts.append(line)
    return texts


def predict(run_dir: str | Path, texts: Sequence[str], tuned_threshold: bool = False) -> list[Prediction]:
    """Each text's label and positive-class probability under the run's best checkpoint.

    The threshold is 0.5, or with ``tuned_threshold`` the one that maximised validation F1 in training.
    """
    if not texts:
        raise ValueError("no texts to classify: pass them as arguments, with --file, or on stdin")
    run = load_finished_run(run_dir)
    threshold = run.threshold(tuned_threshold)
    negative, positive = run.labels
    return [
        Prediction(text, positive if p >= threshold else negative, round(p, 6), threshold)
        for text, p in zip(texts, run.positive_probabilities(list(texts)))
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python scripts/predict.py --help``."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", help="a run folder that scripts/train.py wrote (logs/train/runs/<time>)")
    parser.add_argument("texts", nargs="*", help="texts to classify")
    parser.add_argument("--file", help="a UTF-8 file of one text a line; - reads stdin")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument(
        "--tuned-threshold",
        action="store_true",
        help="the threshold that maximised validation F1 in training, instead of 0.5",
    )
    args = parser.parse_args(argv)
    try:
        texts = list(args.texts)
        if args.file == "-" or (args.file is None and not texts):
            texts += read_lines(sys.stdin.buffer, "stdin")
        elif args.file is not None:
            with open(args.file, "rb") as f:
                texts += read_lines(f, args.file)
        for prediction in predict(args.run_dir, texts, args.tuned_threshold):
            print(prediction.line(args.json))
    except BAD_INPUT as e:
        fail_in_one_line(root_cause(e))
    return 0
