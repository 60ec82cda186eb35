"""python scripts/predict.py RUN_DIR [TEXT ...] [--file PATH] [--json] [--top-k K] [--batch-size N] [--onnx]
[--tuned-threshold]

Classifies texts with a finished training run's best checkpoint (or, with --onnx, its exported model): the
arguments, a file of one text a line (``--file -`` or no text at all: stdin). Prints the label and its
probability (two classes: the positive class's probability and the threshold it was judged at).
"""

import sys

from headswap.jobs import predict

if __name__ == "__main__":
    sys.exit(predict.main())
