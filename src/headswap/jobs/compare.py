"""The compare job: the comparison table of a multirun's jobs, from their folders alone.

``python scripts/compare.py [SWEEP_DIR]``: without a folder, the latest multirun under ``--log-dir``.
Contract: ``main(argv) -> exit code``; the comparison itself is ``headswap.sweeps.comparison``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from headswap.app.one_line import one_line_errors
from headswap.errors import MissingFile
from headswap.sweeps.comparison import compare_and_report


def default_log_dir() -> Path:
    """Where the scripts write: ``$HEADSWAP_ROOT/logs``, or ``./logs`` without it (``conf/paths``)."""
    return Path(os.environ.get("HEADSWAP_ROOT") or ".") / "logs"


def latest_sweep(log_dir: str | Path) -> Path:
    """The most recently started multirun under ``log_dir`` (any task)."""
    sweeps = sorted(Path(log_dir).glob("*/multiruns/*"), key=lambda p: p.stat().st_mtime)
    if not sweeps:
        raise MissingFile(
            f"no multirun under {log_dir}/*/multiruns/: run a sweep with -m, or pass its folder"
        )
    return sweeps[-1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "sweep_dir", nargs="?", help="a multirun folder (default: the latest under --log-dir)"
    )
    parser.add_argument(
        "--log-dir", help="where multiruns are looked for (default: $HEADSWAP_ROOT/logs, else ./logs)"
    )
    args = parser.parse_args(argv)
    with one_line_errors():
        sweep_dir = args.sweep_dir or latest_sweep(args.log_dir or default_log_dir())
        print(f"comparing {sweep_dir}")
        compare_and_report(sweep_dir)
    return 0
