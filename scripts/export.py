"""python scripts/export.py RUN_DIR [--out DIR] [--int8] -- the run's best checkpoint as ONNX, for serving.

Writes model.onnx and preprocessing.json (plus tokenizer/ for a pretrained body) to RUN_DIR/export;
--int8 adds model.int8.onnx and its change in test F1.
"""

import sys

from headswap.jobs import export

if __name__ == "__main__":
    sys.exit(export.main())
