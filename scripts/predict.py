"""python scripts/predict.py RUN_DIR [TEXT ...] [--file PATH] [--json] [--tuned-threshold]

Classifies texts with a finished training run's best checkpoint: the arguments, a file of one text a
line (``--file -`` or no text at all: stdin). Prints label, positive-class probability and threshold.
"""

import argparse
import sys

from headswap.jobs import schema  # noqa: F401  (registers the resolvers the saved configs use)
from headswap.jobs.errors import BAD_INPUT, fail_in_one_line, root_cause
from headswap.jobs.predict import predict, read_lines


def main() -> int:
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    sys.exit(main())
