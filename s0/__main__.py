"""``python -m s0``: the s0 command line."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
