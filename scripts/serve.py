"""python scripts/serve.py RUN_DIR [--port 8000] [--host 127.0.0.1] [--onnx] [--max-batch-size N]
[--batch-timeout S] -- the run's best checkpoint (or ONNX export) over HTTP: POST /predict, GET /health.
"""

import sys

from headswap.jobs import serve

if __name__ == "__main__":
    sys.exit(serve.main())
