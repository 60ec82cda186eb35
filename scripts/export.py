"""python scripts/export.py RUN_DIR [--out DIR] -- the run's best checkpoint as ONNX, for serving.

Writes model.onnx and preprocessing.json (plus tokenizer/ for a pretrained body) to RUN_DIR/export.
"""

import sys

from headswap.jobs import export

if __name__ == "__main__":
    sys.exit(export.main())
