"""The ``mbus`` command line: ``mbus decode`` (and the bus commands registered by the master)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from ._errors import DecodeError, MBusError
from ._frames import LongFrame, decode_frame, frame_length
from ._telegram import Telegram, decode_application

__all__ = ["COMMAND_REGISTRY", "decode_stream", "main", "parse_hex"]

# Further subcommands (the master's read/scan/...) register a function that adds their parser.
COMMAND_REGISTRY: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []

_SEPARATORS = re.compile(r"[\s:,_|#-]+")


class InputError(MBusError):
    """The command-line input is not hex."""


def parse_hex(text: str) -> bytes:
    """Bytes from hex text; whitespace and the separators ``: , _ | # -`` are ignored."""
    cleaned = _SEPARATORS.sub("", text)
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    bad = re.search(r"[^0-9a-fA-F]", cleaned)
    if bad:
        raise InputError(f"input: {bad.group()!r} at hex digit {bad.start()} is not a hex digit")
    if len(cleaned) % 2:
        raise InputError(f"input: odd number of hex digits ({len(cleaned)})")
    return bytes.fromhex(cleaned)


def decode_stream(data: bytes) -> list[Telegram]:
    """Decode back-to-back frames (each self-delimiting) from one buffer."""
    telegrams = []
    offset = 0
    while offset < len(data):
        size = frame_length(data, offset)
        if size is None or offset + size > len(data):
            decode_frame(data, offset, exact=False)  # raises the precise error
        assert size is not None
        try:
            frame = decode_frame(data[offset:offset + size])
            telegram = decode_application(frame) if isinstance(frame, LongFrame) else Telegram(
                frame=frame)
        except DecodeError as error:
            if error.offset is not None and offset:
                error = type(error)(f"{error.message} (frame at byte {offset})",
                                    offset=error.offset + offset, field=error.field,
                                    data=error.data)
            raise error from None
        telegrams.append(telegram)
        offset += size
    return telegrams


def _format_value(value: object) -> str:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return "" if value is None else str(value)


def print_table(telegram: Telegram, out: TextIO) -> None:
    """Human-readable form of one telegram."""
    frame = telegram.frame.to_dict()
    out.write(" ".join(f"{k}={v}" for k, v in frame.items()) + "\n")
    if telegram.error is not None:
        out.write(f"application error: {telegram.error.message}\n")
        return
    if telegram.header is not None:
        header = telegram.header.to_dict()
        out.write("  " + "  ".join(f"{k}={v}" for k, v in header.items()) + "\n")
    if telegram.alarm is not None:
        out.write(f"  alarm status: 0x{telegram.alarm:02x}\n")
    if not telegram.records:
        return
    rows = [("#", "function", "st", "tar", "sub", "quantity", "value", "unit")]
    for index, record in enumerate(telegram.records):
        value = record.value
        shown = value.hex() if isinstance(value, bytes) else _format_value(value)
        rows.append((str(index), record.function, str(record.storage), str(record.tariff),
                     str(record.subunit), record.quantity, shown, record.unit))
    widths = [min(max(len(row[col]) for row in rows), 40) for col in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write(("  " + "  ".join(cells)).rstrip() + "\n")


def _cmd_decode(args: argparse.Namespace) -> int:
    if args.file:
        with open(args.file, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    elif args.hex:
        text = " ".join(args.hex)
    else:
        text = sys.stdin.read()
    try:
        telegrams = decode_stream(parse_hex(text))
    except MBusError as error:
        print(f"mbus decode: {error}", file=sys.stderr)
        return 1
    if not telegrams:
        print("mbus decode: no input", file=sys.stderr)
        return 1
    for telegram in telegrams:
        if args.json:
            sys.stdout.write(json.dumps(telegram.to_dict()) + "\n")
        else:
            print_table(telegram, sys.stdout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mbus`` command."""
    parser = argparse.ArgumentParser(prog="mbus", description="Wired M-Bus tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    decode_cmd = commands.add_parser(
        "decode", help="decode telegrams given as hex",
        description="Decode M-Bus frames given as hex (arguments, -f FILE or stdin).")
    decode_cmd.add_argument("hex", nargs="*", help="hex bytes (spaces and case do not matter)")
    decode_cmd.add_argument("-f", "--file", help="read hex from this file")
    decode_cmd.add_argument("--json", action="store_true", help="one JSON object per telegram")
    decode_cmd.set_defaults(handler=_cmd_decode)
    for register in COMMAND_REGISTRY:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mbus`` command."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


from . import _cli_bus  # noqa: E402, F401  (registers read, scan, set-address, reset, ...)
