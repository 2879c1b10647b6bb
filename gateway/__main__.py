"""``meterkit`` / ``python -m gateway``: the gateway application's command line.

Each command lives in its owner's module, which registers it here with one line of
:data:`COMMANDS`: a function ``register(commands)`` that adds its sub-parser to the
``argparse`` sub-parsers and sets ``handler`` (a function of the parsed arguments that
returns the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = [
    "gateway._commands:register",  # run, check
    "gateway._demo:register",  # demo
    "gateway._history_commands:register",  # history, backup, restore
    "gateway._collect:register",  # collect
    "gateway._web_commands:register",  # web-user
]
"""``module:function`` of each command group's registration."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``meterkit`` command."""
    parser = argparse.ArgumentParser(prog="meterkit", description="meterkit gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    for spec in COMMANDS:
        module, _, function = spec.partition(":")
        getattr(importlib.import_module(module), function)(commands)
    args = parser.parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
