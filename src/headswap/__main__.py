"""``python -m headswap <command>``: the installed ``headswap`` command, without its script."""

import sys

from headswap.cli import main

sys.exit(main())
