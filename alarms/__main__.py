"""The ``alarms`` command line: ``alarms replay RULES.toml SAMPLES.csv [--until T] [--json]``."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from pathlib import Path

from ._config import load_rules, read_samples
from ._errors import AlarmsError, InputError
from ._replay import replay, replay_line

__all__ = ["main"]

#: Exit status when standard output was closed early: 128 + SIGPIPE, as a shell reports it.
SIGPIPE_STATUS = 141


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alarms", description="X.733 alarm engine with ISA-18.2 life cycle."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "replay",
        help="replay samples through rules and print the notifications",
        description="Feed SAMPLES.csv (header time,point,value) through the rules in RULES.toml "
        "([[rule]] tables), running every deadline at its own time.",
    )
    run.add_argument("rules", metavar="RULES.toml", type=Path)
    run.add_argument("samples", metavar="SAMPLES.csv", type=Path)
    run.add_argument(
        "--until",
        metavar="T",
        type=_finite,
        default=None,
        help="advance to time T after the last sample (default: the last sample's time)",
    )
    run.add_argument("--json", action="store_true", help="one JSON object per notification")
    return parser


def _human(line: dict[str, object]) -> str:
    correlated = line["correlated"]
    assert isinstance(correlated, list)
    link = f" (clears #{','.join(str(n) for n in correlated)})" if correlated else ""
    return (
        f"{line['time']:>12} #{line['notification_id']} {str(line['event']).upper():7} "
        f"{line['alarm_id']} [{line['severity']}] {line['point']}={line['value']}{link}: "
        f"{line['text']}"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``alarms`` command; returns the exit status (0 done, 1 bad input,
    2 bad usage, 141 when the reader of standard output went away)."""
    args = _parser().parse_args(argv)
    try:
        rules = load_rules(args.rules)
        try:
            with args.samples.open(encoding="utf-8", newline="") as handle:
                notifications = replay(
                    rules, read_samples(handle, source=str(args.samples)), until=args.until
                )
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read: {exc}", source=str(args.samples)) from None
    except AlarmsError as exc:
        print(f"alarms: error: {exc}", file=sys.stderr)
        return 1
    try:
        for notification in notifications:
            line = replay_line(notification)
            print(json.dumps(line) if args.json else _human(line))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as a tool killed by SIGPIPE does.
        # Python flushes stdout again at exit; point it at /dev/null so that does not fail.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_STATUS
    return 0


if __name__ == "__main__":
    sys.exit(main())
