"""python scripts/export.py RUN_DIR [--out DIR] -- the run's best checkpoint as ONNX, for serving.

Writes model.onnx and preprocessing.json (plus tokenizer/ for a pretrained body) to RUN_DIR/export.
"""

import argparse
import sys

from headswap.jobs import schema  # noqa: F401  (registers the resolvers the saved configs use)
from headswap.jobs.errors import BAD_INPUT, fail_in_one_line, root_cause
from headswap.jobs.export import export


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a run folder that scripts/train.py wrote (logs/train/runs/<time>)")
    parser.add_argument("--out", help="where to write (default: RUN_DIR/export)")
    args = parser.parse_args()
    try:
        print(export(args.run_dir, args.out))
    except BAD_INPUT as e:
        fail_in_one_line(root_cause(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
