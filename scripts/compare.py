"""python scripts/compare.py [SWEEP_DIR] -- compare the jobs of a multirun (default: the latest one)."""

import sys

from headswap.jobs import compare

if __name__ == "__main__":
    sys.exit(compare.main())
