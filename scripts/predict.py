"""python scripts/predict.py RUN_DIR [TEXT ...] [--file PATH] [--json] [--tuned-threshold]

Classifies texts with a finished training run's best checkpoint: the arguments, a file of one text a
line (``--file -`` or no text at all: stdin). Prints label, positive-class probability and threshold.
"""

import sys

from headswap.jobs import predict

if __name__ == "__main__":
    sys.exit(predict.main())
