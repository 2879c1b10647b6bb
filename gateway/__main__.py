"""``meterkit`` / ``python -m gateway``: the reference application's command line.

For now it has one command, ``meterkit demo``: the simulated site of ``make demo``.
The configurable gateway (config file, schedule, SQLite log) is not built yet.
"""

from __future__ import annotations

import argparse
import sys

from . import _history_commands as history_commands
from . import demo


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``meterkit`` command."""
    parser = argparse.ArgumentParser(prog="meterkit", description="meterkit gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser("demo", help="run the simulated site (make demo)")
    run_demo.add_argument("--out", default="demo-output", help="folder for exported files")
    run_demo.add_argument("--meters", type=int, default=12, help="wired meters on the segment")
    history_commands.register(commands)  # history, backup, restore
    args = parser.parse_args(argv)
    if hasattr(args, "handler"):
        status: int = args.handler(args)
        return status
    return demo.main(["--out", args.out, "--meters", str(args.meters)])


if __name__ == "__main__":
    sys.exit(main())
