"""python scripts/compare.py [SWEEP_DIR] -- compare the jobs of a multirun (default: the latest one)."""

import argparse
import sys

from headswap.jobs.compare import compare_and_report, latest_sweep


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "sweep_dir", nargs="?", help="a multirun folder (default: the latest under --log-dir)"
    )
    parser.add_argument("--log-dir", default="logs", help="where multiruns are looked for (default: logs)")
    args = parser.parse_args()
    try:
        compare_and_report(args.sweep_dir or latest_sweep(args.log_dir))
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
