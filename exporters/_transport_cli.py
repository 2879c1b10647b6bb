"""Command-line subcommands for delivery (send, upload, mqtt); filled in by the transports work."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the delivery subcommands to the ``exporters`` command line."""
