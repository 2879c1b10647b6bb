"""The ``s0`` command line: ``s0 replay EDGES.csv --imp-per-unit N ...``."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from typing import TextIO

from ._config import ChannelConfig
from ._errors import ConfigError, ReplayInputError
from ._events import PulseCounted, PulseRejected
from ._replay import ReplayResult, read_edges_csv, replay_edges

__all__ = ["main"]


def _decimal_arg(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s0", description="S0 pulse inputs (DIN EN 62053-31): count, total, power."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    replay = commands.add_parser(
        "replay",
        help="replay a recorded time,level CSV through a counter",
        description=(
            "Replay EDGES.csv (header 'time,level', seconds and 0/1, in time order) through "
            "one S0 channel and print the pulses, rejected pulses, total and power at the "
            "last edge. Exit status 1 on a bad row."
        ),
    )
    replay.add_argument("edges", metavar="EDGES.csv", help="the edges file ('-' for stdin)")
    replay.add_argument(
        "--imp-per-unit", required=True, type=_decimal_arg, metavar="N",
        help="impulse constant: pulses per unit (e.g. 1000 for 1000 imp/kWh)",
    )  # fmt: skip
    replay.add_argument("--unit", default="kWh", help="unit of the total (default kWh)")
    replay.add_argument(
        "--debounce", type=_decimal_arg, default=Decimal("0.010"), metavar="S",
        help="seconds a level must be stable (default 0.010)",
    )  # fmt: skip
    replay.add_argument(
        "--min-on", type=_decimal_arg, default=Decimal("0.030"), metavar="S",
        help="shortest pulse in seconds (default 0.030)",
    )  # fmt: skip
    replay.add_argument(
        "--min-off", type=_decimal_arg, default=Decimal("0.030"), metavar="S",
        help="shortest pause before a pulse in seconds (default 0.030)",
    )  # fmt: skip
    replay.add_argument(
        "--offset", type=_decimal_arg, default=Decimal(0), metavar="X",
        help="added to the total so that it matches the meter's register (default 0)",
    )  # fmt: skip
    replay.add_argument(
        "--power-timeout", type=_decimal_arg, default=Decimal(300), metavar="S",
        help="seconds without a pulse after which power is zero (default 300)",
    )  # fmt: skip
    replay.add_argument(
        "--rollover", type=_decimal_arg, default=None, metavar="X",
        help="the register wraps to zero at this total (default: never)",
    )  # fmt: skip
    replay.add_argument(
        "--decimals", type=int, default=None, metavar="D",
        help="decimal places of the total (default: the resolution of one pulse)",
    )  # fmt: skip
    replay.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    replay.add_argument(
        "--events", action="store_true",
        help="first print one JSON line per counted or rejected pulse",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``s0`` command; returns the exit status (0 ok, 1 bad input, 2 bad usage)."""
    args = _parser().parse_args(argv)
    return _replay(args, sys.stdout, sys.stderr)


def _replay(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        config = ChannelConfig(
            imp_per_unit=args.imp_per_unit,
            unit=args.unit,
            offset=args.offset,
            debounce=args.debounce,
            min_on=args.min_on,
            min_off=args.min_off,
            power_timeout=args.power_timeout,
            rollover=args.rollover,
            decimals=args.decimals,
        )
    except ConfigError as exc:
        option = "--" + (exc.field or "").replace("_", "-")
        print(f"s0 replay: {option}: {exc.message}", file=err)
        return 2
    name = "<stdin>" if args.edges == "-" else args.edges
    try:
        if args.edges == "-":
            edges = read_edges_csv(sys.stdin)
        else:
            with open(args.edges, encoding="utf-8", newline="") as file:
                edges = read_edges_csv(file)
    except ReplayInputError as exc:
        print(f"s0 replay: {name}: {exc}", file=err)
        return 1
    except (OSError, UnicodeDecodeError) as exc:
        print(f"s0 replay: cannot read {name}: {exc}", file=err)
        return 1
    result = replay_edges(edges, config)
    _print(result, args, out)
    return 0


def _print(result: ReplayResult, args: argparse.Namespace, out: TextIO) -> None:
    if args.events:
        for event in result.events:
            if isinstance(event, (PulseCounted, PulseRejected)):
                out.write(json.dumps(event.to_dict()) + "\n")
    summary = result.to_dict()
    if args.json:
        out.write(json.dumps(summary) + "\n")
        return
    reading = result.reading
    by_reason = sorted(reading.rejected_by_reason.items())
    reasons = ", ".join(f"{reason}: {n}" for reason, n in by_reason)
    power = "unknown" if reading.power is None else f"{reading.power:.6g} {reading.power_unit}"
    out.write(f"pulses:   {reading.pulses}\n")
    out.write(f"rejected: {reading.rejected}" + (f" ({reasons})" if reasons else "") + "\n")
    out.write(f"total:    {reading.total} {reading.unit}\n")
    out.write(f"power:    {power}\n")
