"""The ``mbus`` command line: ``decode`` and the bus commands, registered explicitly."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence

from ._cli_analyze import register_analyze_command
from ._cli_bus import register_bus_commands
from ._cli_decode import register_decode_command

__all__ = ["SIGPIPE_STATUS", "build_parser", "main"]

# The exit status of a command killed by SIGPIPE, which is what ``mbus decode | head``
# would be without Python's own handling of a closed pipe.
SIGPIPE_STATUS = 141


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mbus`` command."""
    parser = argparse.ArgumentParser(prog="mbus", description="Wired M-Bus tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    register_decode_command(commands)
    register_analyze_command(commands)
    register_bus_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mbus`` command; returns the exit status.

    When the reader of standard output goes away (``mbus decode ... | head -1``) the
    command stops quietly with status 141, as a tool killed by SIGPIPE does.
    """
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        status = handler(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that this last
        # flush does not report the closed pipe a second time.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return SIGPIPE_STATUS
    return status
