"""Classify new texts with a finished run: the label and its probability (two classes: the positive class's
probability and the threshold it was judged at; more: the top label, ``--top-k K`` labels, ``--json`` all).

Texts are read lazily and classified a window of batches at a time, each batch in length order under the
run's precision; results print in input order as each window finishes, so memory stays flat in the input's
length. A text's (and a label's) tab, newline and backslash print escaped (``\\t``, ``\\n``,
``\\\\``): one line per text. With ``--top-k`` the decided label comes first, then the others by
probability.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import BinaryIO

from headswap.app import threads
from headswap.app.one_line import exit_code_on_interrupt, one_line_errors
from headswap.errors import ConfigError, DataError
from headswap.training.finished_run import LoadedRun, load_finished_run, load_run

WINDOW = 16  # batches read, classified and printed together: sorting by length needs a few batches
BOM = "\ufeff"
NO_TEXTS = "no texts to classify: pass them as arguments, with --file, or on stdin"
ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class Prediction:
    text: str
    label: str
    probability: float  # two classes: the positive class's (e.g. spam); more: the label's
    threshold: float | None  # two classes: the positive class wins when probability > threshold
    probabilities: dict[str, float] = field(default_factory=dict)  # every class's, in class order

    def line(self, as_json: bool = False, top_k: int | None = None) -> str:
        if as_json:
            row = {"text": self.text, "label": self.label, "probability": self.probability}
            if self.threshold is not None:
                row["threshold"] = self.threshold
            return json.dumps(row | {"probabilities": self.probabilities}, ensure_ascii=False)
        text, label = self.text.translate(ESCAPES), self.label.translate(ESCAPES)
        if top_k is not None:  # the decided label first (a threshold may decide against the likelier class)
            others = sorted(
                (kv for kv in self.probabilities.items() if kv[0] != self.label), key=lambda kv: -kv[1]
            )
            ranked = [(self.label, self.probabilities[self.label]), *others][:top_k]
            return "\t".join([*(f"{name.translate(ESCAPES)}\t{p:.4f}" for name, p in ranked), text])
        if self.threshold is None:
            return f"{label}\t{self.probability:.4f}\t{text}"
        p, t = decided_digits(self.probability, self.threshold)
        return f"{label}\t{p}\t(threshold {t})\t{text}"


def decided_digits(probability: float, threshold: float) -> tuple[str, str]:
    """The probability (4 decimals, more where needed) and the threshold as printed: the printed
    numbers compare as the exact ones did, so ``0.5169 (threshold 0.517)`` cannot happen."""
    shown_threshold = f"{threshold:.3f}" if float(f"{threshold:.3f}") == threshold else repr(threshold)
    above = probability > threshold
    for digits in range(4, 18):
        shown = f"{probability:.{digits}f}"
        if (float(shown) > float(shown_threshold)) == above:
            return shown, shown_threshold
    return repr(probability), shown_threshold


def read_lines(stream: BinaryIO | Iterable[bytes], name: str) -> Iterator[str]:
    """One text a line, read as needed; blank lines skipped, a leading BOM dropped (as training does);
    a line that is not UTF-8 stops everything, naming it."""
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise DataError(
                f"{name}: line {number} is not UTF-8 (byte {raw[e.start]:#04x} at column {e.start + 1}): "
                "save the file as UTF-8"
            ) from None
        if number == 1:
            line = line.removeprefix(BOM)
        if line.strip():
            yield line


def classify(
    run: LoadedRun, texts: Sequence[str], threshold: float | None, batch_size: int
) -> list[Prediction]:
    """Each text's prediction. Two classes: positive when its probability > threshold, the rule the
    metrics use (torchmetrics' binary metrics); more: the most probable class."""
    probabilities = run.probabilities(texts, batch_size)  # n x N
    task = run.task
    predictions = []
    for text, row in zip(texts, probabilities.tolist()):
        by_label = {label: round(p, 6) for label, p in zip(task.labels, row)}
        best = task.decide(row, threshold)
        shown = round(task.shown_probability(row, best), 6)
        predictions.append(Prediction(text, task.labels[best], shown, threshold, by_label))
    return predictions


def predict(
    run_dir: str | Path, texts: Sequence[str], tuned_threshold: bool = False, batch_size: int = 64
) -> list[Prediction]:
    """Each text's label and probability under the run's best checkpoint.

    The threshold is 0.5, or with ``tuned_threshold`` the one that maximised validation F1 in training.
    """
    if not texts:
        raise ConfigError(NO_TEXTS)
    run = load_finished_run(run_dir)
    return classify(run, texts, run.threshold(tuned_threshold), batch_size)


def input_texts(args: argparse.Namespace) -> Iterator[str]:
    """The arguments' texts, then --file's lines or stdin's (when --file is - or no text was given)."""
    yield from (utf8_argument(text, i) for i, text in enumerate(args.texts, start=1))
    if args.file == "-" or (args.file is None and not args.texts):
        if sys.stdin is None:  # started with stdin closed (<&-)
            raise ConfigError("stdin is closed: pass texts as arguments or with --file PATH")
        yield from read_lines(sys.stdin.buffer, "stdin")
    elif args.file is not None:
        with open(args.file, "rb") as f:
            yield from read_lines(f, args.file)


def utf8_argument(text: str, number: int) -> str:
    """A command-line text, or one line naming the first byte that is not UTF-8 (Python hands such bytes
    over as lone surrogates, which no tokenizer can encode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raw = ord(text[e.start]) - 0xDC00  # surrogateescape: U+DC80..U+DCFF stand for bytes 0x80..0xFF
        byte = f"byte {raw:#04x}" if 0x80 <= raw <= 0xFF else f"{text[e.start]!r}"
        raise DataError(
            f"text argument {number} is not UTF-8 ({byte} at character {e.start + 1}): pass UTF-8 text, "
            "or put the texts in a UTF-8 file and pass --file"
        ) from None
    return text


def windows(texts: Iterator[str], size: int) -> Iterator[list[str]]:
    while window := list(islice(texts, size)):
        yield window


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python scripts/predict.py --help``."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", help="a run folder that train wrote (logs/train/runs/<time>), or a bundle")
    parser.add_argument("texts", nargs="*", help="texts to classify")
    parser.add_argument("--file", help="a UTF-8 file of one text a line; - reads stdin")
    parser.add_argument("--json", action="store_true", help="one JSON object a line, all probabilities")
    parser.add_argument("--top-k", type=int, metavar="K", help="the K most probable labels")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per batch (default 64)")
    parser.add_argument("--onnx", action="store_true", help="run RUN_DIR/export/model.onnx in onnxruntime")
    parser.add_argument(
        "--threads", type=int, help="torch threads (default: the CPUs other work leaves free)"
    )
    parser.add_argument(
        "--tuned-threshold",
        action="store_true",
        help="two classes: the threshold that maximised validation F1 in training, instead of 0.5",
    )
    args = parser.parse_intermixed_args(argv)  # options before or after the texts
    with exit_code_on_interrupt(), one_line_errors():
        classify_all(args)
    return 0


def classify_all(args: argparse.Namespace) -> None:
    """Every input text classified and printed, a window of batches at a time."""
    if args.batch_size < 1 or (args.top_k is not None and args.top_k < 1) or (args.threads or 1) < 1:
        raise ConfigError("--batch-size, --top-k and --threads take a positive whole number")
    threads.use(threads.choose(args.threads))
    texts = input_texts(args)
    first = list(islice(texts, 1))
    if not first:
        raise ConfigError(NO_TEXTS)
    run = load_run(args.run_dir, args.onnx)
    if getattr(run, "precision_note", None):
        print(f"note: {run.precision_note}", file=sys.stderr)
    threshold = run.threshold(args.tuned_threshold)
    top_k = None if args.top_k is None else min(args.top_k, len(run.labels))
    for window in windows(chain(first, texts), args.batch_size * WINDOW):
        for prediction in classify(run, window, threshold, args.batch_size):
            print(prediction.line(args.json, top_k))
        sys.stdout.flush()
