"""``python -m wmbus`` and the ``wmbus`` console script."""

from __future__ import annotations

import sys

from ._cli import main as _main

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``wmbus`` command."""
    return _main(argv)


if __name__ == "__main__":
    sys.exit(main())
