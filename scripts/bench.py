"""python scripts/bench.py -- Lightning against a plain loop, regimes' costs, whole commands: BENCHMARKS.md.

The benchmarks live beside scripts/, outside the package: the checkout's root goes on the path first."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from headswap.cli import bench

if __name__ == "__main__":
    bench()
