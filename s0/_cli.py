"""The ``s0`` command line: ``s0 replay EDGES.csv ...`` and ``s0 watch --line N ...``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from ._config import ChannelConfig
from ._counter import S0Counter
from ._errors import ConfigError, GpioError, ReplayInputError, StateError
from ._events import Event, PulseCounted, PulseRejected, TotalRolledOver
from ._gpio import GpioPulseReader
from ._replay import ReplayResult, read_edges_csv, replay_edges
from ._statefile import load_state_file, save_state_file

__all__ = ["main"]

#: Exit status when standard output was closed early: 128 + SIGPIPE, as a shell reports it.
SIGPIPE_STATUS = 141


def _decimal_arg(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _line_arg(text: str) -> tuple[int, str]:
    offset, _, name = text.partition("=")
    if not offset.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not OFFSET or OFFSET=NAME")
    return int(offset), name.strip() or f"line{int(offset)}"


def _channel_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--imp-per-unit", required=True, type=_decimal_arg, metavar="N",
        help="impulse constant: pulses per unit (e.g. 1000 for 1000 imp/kWh)",
    )  # fmt: skip
    parser.add_argument("--unit", default="kWh", help="unit of the total (default kWh)")
    parser.add_argument(
        "--debounce", type=_decimal_arg, default=Decimal("0.010"), metavar="S",
        help="seconds a level must be stable (default 0.010)",
    )  # fmt: skip
    parser.add_argument(
        "--min-on", type=_decimal_arg, default=Decimal("0.030"), metavar="S",
        help="shortest pulse in seconds (default 0.030)",
    )  # fmt: skip
    parser.add_argument(
        "--min-off", type=_decimal_arg, default=Decimal("0.030"), metavar="S",
        help="shortest pause before a pulse in seconds (default 0.030)",
    )  # fmt: skip
    parser.add_argument(
        "--offset", type=_decimal_arg, default=Decimal(0), metavar="X",
        help="added to the total so that it matches the meter's register (default 0)",
    )  # fmt: skip
    parser.add_argument(
        "--power-timeout", type=_decimal_arg, default=Decimal(300), metavar="S",
        help="seconds without a pulse after which power is zero (default 300)",
    )  # fmt: skip
    parser.add_argument(
        "--rollover", type=_decimal_arg, default=None, metavar="X",
        help="the register wraps to zero at this total (default: never)",
    )  # fmt: skip
    parser.add_argument(
        "--decimals", type=int, default=None, metavar="D",
        help="decimal places of the total (default: the resolution of one pulse)",
    )  # fmt: skip


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
    _channel_options(replay)
    replay.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    replay.add_argument(
        "--events", action="store_true",
        help="first print one JSON line per counted or rejected pulse",
    )  # fmt: skip
    watch = commands.add_parser(
        "watch",
        help="count pulses on Linux GPIO lines (needs meterkit[gpio])",
        description=(
            "Count S0 pulses on GPIO lines with kernel timestamps and print one JSON line per "
            "event. With --state, counts survive restarts: the file is read at start and "
            "written atomically after every counted pulse and at exit (Ctrl-C, SIGTERM). "
            "The options configure every line; the state file carries the counts."
        ),
    )
    watch.add_argument("--chip", default="/dev/gpiochip0", help="GPIO chip (default gpiochip0)")
    watch.add_argument(
        "--line", action="append", required=True, type=_line_arg, metavar="OFFSET[=NAME]",
        help="a line offset on the chip and a channel name (repeatable)",
    )  # fmt: skip
    _channel_options(watch)
    watch.add_argument("--state", type=Path, metavar="FILE", help="state file to keep counts in")
    watch.add_argument(
        "--active-high", action="store_true",
        help="the line is high during a pulse (default: low, an open collector with pull-up)",
    )  # fmt: skip
    watch.add_argument(
        "--no-pull-up", action="store_true", help="do not enable the line's internal pull-up"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``s0`` command; returns the exit status (0 ok, 1 bad input, 2 bad usage, 141
    when the reader of standard output went away)."""
    args = _parser().parse_args(argv)
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
        print(f"s0 {args.command}: {option}: {exc.message}", file=sys.stderr)
        return 2
    try:
        if args.command == "watch":
            return _watch(args, config, sys.stdout, sys.stderr)
        status = _replay(args, config, sys.stdout, sys.stderr)
        sys.stdout.flush()
    except BrokenPipeError:
        return _stdout_gone()
    return status


def _stdout_gone() -> int:
    """The reader of standard output went away (``| head``): stop quietly, as a tool killed
    by SIGPIPE does. Python flushes stdout again at exit; point it at /dev/null first."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return SIGPIPE_STATUS


def _replay(args: argparse.Namespace, config: ChannelConfig, out: TextIO, err: TextIO) -> int:
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


def _load_counter(state: Path | None, lines: dict[int, str], config: ChannelConfig) -> S0Counter:
    counter = S0Counter()
    if state is not None:
        with contextlib.suppress(FileNotFoundError):  # a first start
            counter = S0Counter.restore(load_state_file(state))
    for name in lines.values():
        if name in counter:
            counter.reconfigure(name, config)
        else:
            counter.add_channel(name, config)
    return counter


def _watch(args: argparse.Namespace, config: ChannelConfig, out: TextIO, err: TextIO) -> int:
    lines = dict(args.line)
    if len(set(lines.values())) != len(lines) or len(lines) != len(args.line):
        print("s0 watch: --line: each line and each name may appear once", file=err)
        return 2
    try:
        counter = _load_counter(args.state, lines, config)
    except (StateError, OSError) as exc:
        print(f"s0 watch: {args.state}: {exc}", file=err)
        return 1
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    def on_event(event: Event) -> None:
        out.write(json.dumps(event.to_dict()) + "\n")
        out.flush()
        if args.state is not None and isinstance(event, (PulseCounted, TotalRolledOver)):
            save_state_file(args.state, counter.save())

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: the caller handles signals
        previous = None
    status = 0
    # A failed start (no gpiod, no chip) has counted nothing: no final save, whose error
    # line about the state file would only follow the real one.
    final_save = False
    try:
        with GpioPulseReader.open(
            args.chip,
            lines,
            counter,
            active_low=not args.active_high,
            pull_up=not args.no_pull_up,
        ) as reader:
            final_save = True
            reader.run(on_event, should_stop=lambda: stopping)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # before OSError: the events' reader went away, not the disk
        status = _stdout_gone()
    except GpioError as exc:
        print(f"s0 watch: {exc}", file=err)
        status = 1
    except OSError as exc:
        print(f"s0 watch: cannot write the state file {args.state}: {exc}", file=err)
        status = 1
        final_save = False  # the state file is what failed
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if args.state is not None and final_save:
        try:
            save_state_file(args.state, counter.save())
        except OSError as exc:
            print(f"s0 watch: cannot write the state file {args.state}: {exc}", file=err)
            status = 1
    return status
