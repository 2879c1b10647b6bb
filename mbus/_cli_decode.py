"""``mbus decode``: hex lines in, one document per telegram out, one error per bad line.

Each input line is decoded on its own (back-to-back frames on one line are split
by their own length fields), so a bad line costs only itself: it gives one error
object (``--json``) or one line on stderr, and the exit status becomes 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import profiles

from ._errors import DecodeError, MBusError
from ._frames import LongFrame, decode_frame, frame_length
from ._meter import ProfilesOption, meter_profiles
from ._parallel import chunks, jobs_argument, map_chunks
from ._telegram import Telegram, decode_application

__all__ = ["DecodedLine", "InputError", "decode_line", "decode_many", "decode_stream",
           "error_document", "parse_hex", "print_table", "register_decode_command",
           "run_decode"]

_SEPARATORS = re.compile(r"[\s:,_|#-]+")
_NOT_HEX = re.compile(r"[^0-9a-fA-F]")


class InputError(DecodeError):
    """A command-line input line is not hex (field ``"hex"``, offset in bytes)."""


def parse_hex(text: str) -> bytes:
    """Bytes from hex text; whitespace and the separators ``: , _ | # -`` are ignored.

    Raises :class:`InputError` whose offset is the byte the bad digit would fall in.
    """
    cleaned = _SEPARATORS.sub("", text)
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    bad = _NOT_HEX.search(cleaned)
    if bad:
        raise InputError(f"{bad.group()!r} is not a hex digit", field="hex",
                         offset=bad.start() // 2)
    if len(cleaned) % 2:
        raise InputError(f"odd number of hex digits ({len(cleaned)})", field="hex",
                         offset=len(cleaned) // 2)
    return bytes.fromhex(cleaned)


def decode_stream(data: bytes, profiles: ProfilesOption = True) -> list[Telegram]:
    """Decode back-to-back frames (each self-delimiting) from one buffer.

    ``profiles`` gives the telegrams' ``meter`` part as in :func:`mbus.decode`. Raises
    a :class:`mbus.DecodeError` whose offset counts from the start of ``data``.
    """
    library = meter_profiles(profiles)
    option: ProfilesOption = False if library is None else library
    telegrams = []
    offset = 0
    while offset < len(data):
        size = frame_length(data, offset)
        if size is None or offset + size > len(data):
            decode_frame(data, offset, exact=False)  # raises the precise error
        assert size is not None
        try:
            frame = decode_frame(data[offset:offset + size])
            telegram = decode_application(frame, profiles=option) if isinstance(
                frame, LongFrame) else Telegram(frame=frame)
        except DecodeError as error:
            if offset:
                raise error.moved(offset, f"frame at byte {offset}") from None
            raise
        telegrams.append(telegram)
        offset += size
    return telegrams


def decode_line(text: str, profiles: ProfilesOption = True) -> list[Telegram]:
    """The telegrams of one line of hex; raises a :class:`mbus.DecodeError` subclass."""
    return decode_stream(parse_hex(text), profiles)


def error_document(line: int, error: MBusError) -> dict[str, Any]:
    """The JSON object ``mbus decode --json`` prints for a line that failed.

    ``{"line": N, "error": "<message naming field and offset>", "error_type":
    "<class name>", "field": ..., "offset": ...}``; ``field`` and ``offset`` are
    null when unknown.
    """
    return {"line": line, "error": str(error), "error_type": type(error).__name__,
            "field": getattr(error, "field", None), "offset": getattr(error, "offset", None)}


def _format_value(value: object) -> str:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return "" if value is None else str(value)


def print_table(telegram: Telegram, out: TextIO) -> None:
    """Human-readable form of one telegram: the meter's named fields first, then records."""
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
    if telegram.meter is not None:
        out.write("".join(f"  {line}\n" for line in telegram.meter.text_lines()))
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


def numbered_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, text) of the lines that hold input: not blank, not a comment."""
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if stripped and not stripped.startswith(("#", "//")):
            yield number, stripped


@dataclass(frozen=True, slots=True)
class DecodedLine:
    """One input line's result: its telegrams, or the error that stopped it."""

    line: int
    text: str
    telegrams: tuple[Telegram, ...] = ()
    error: MBusError | None = None


def _decode_chunk(chunk: list[tuple[int, str]], profiles: ProfilesOption = True
                  ) -> list[DecodedLine]:
    out = []
    for number, text in chunk:
        try:
            out.append(DecodedLine(number, text, tuple(decode_line(text, profiles))))
        except MBusError as error:
            out.append(DecodedLine(number, text, error=error))
    return out


def decode_many(lines: Iterable[str], *, jobs: int = 1, chunk_size: int = 2000,
                profiles: ProfilesOption = True) -> Iterator[DecodedLine]:
    """Decode lines of hex as ``mbus decode`` does, in ``jobs`` processes, in input order.

    Blank lines and ``#`` / ``//`` comments are skipped; each other line gives one
    :class:`DecodedLine` (its telegrams, or its error), exactly as the serial
    run (``jobs=1``: no processes) gives it. Memory is bounded by ``chunk_size``
    lines per job, whatever the input's length. ``profiles`` gives each
    telegram's ``meter`` part as in :func:`mbus.decode`.

    >>> import mbus
    >>> [(d.line, len(d.telegrams), type(d.error).__name__) for d in mbus.decode_many(
    ...     ["E5", "", "68 zz"])]
    [(1, 1, 'NoneType'), (3, 0, 'InputError')]
    """
    numbered = numbered_lines(lines)
    if jobs == 1:
        for chunk in chunks(numbered, chunk_size):
            yield from _decode_chunk(chunk, profiles)
        return
    for results in map_chunks(_decode_chunk, numbered, jobs=jobs, chunk_size=chunk_size,
                              before_submit=lambda: (profiles,)):
        yield from results


def run_decode(lines: Iterable[str], *, json_output: bool, out: TextIO, err: TextIO,
               profiles: ProfilesOption = True, jobs: int = 1) -> int:
    """Decode each line; returns the exit status (0, or 1 when a line failed or none was given).

    A failed line prints :func:`error_document` to ``out`` with ``json_output``,
    else ``mbus decode: line N: <error>`` to ``err``; the other lines still decode.
    ``profiles`` gives each telegram's ``meter`` part as in :func:`mbus.decode`;
    ``jobs`` > 1 decodes in that many processes, and the output is the same.
    """
    failures = decoded = 0
    for result in decode_many(lines, jobs=jobs, profiles=profiles):
        number, error, telegrams = result.line, result.error, result.telegrams
        if error is not None:
            failures += 1
            if json_output:
                out.write(json.dumps(error_document(number, error)) + "\n")
            else:
                err.write(f"mbus decode: line {number}: {error}\n")
            continue
        for telegram in telegrams:
            decoded += 1
            if json_output:
                out.write(json.dumps(telegram.to_dict()) + "\n")
            else:
                print_table(telegram, out)
    if not decoded and not failures:
        err.write("mbus decode: no input\n")
        return 1
    return 1 if failures else 0


def _cmd_decode(args: argparse.Namespace) -> int:
    try:
        chosen = profiles.profiles_option(args)
    except (profiles.ProfileError, argparse.ArgumentTypeError) as error:
        print(f"mbus decode: {error}", file=sys.stderr)
        return 2
    if args.hex:
        return run_decode([" ".join(args.hex)], json_output=args.json, out=sys.stdout,
                          err=sys.stderr, profiles=chosen)
    if args.file:
        try:
            handle = open(args.file, encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError as error:
            print(f"mbus decode: cannot read {args.file}: {error.strerror}", file=sys.stderr)
            return 2
        with handle:
            return run_decode(handle, json_output=args.json, out=sys.stdout, err=sys.stderr,
                              profiles=chosen, jobs=args.jobs)
    # Not UTF-8 is not hex either: replaced characters fail their line like any other.
    raw = getattr(sys.stdin, "buffer", None)
    stdin = sys.stdin if raw is None else io.TextIOWrapper(raw, encoding="utf-8",
                                                           errors="replace")
    return run_decode(stdin, json_output=args.json, out=sys.stdout, err=sys.stderr,
                      profiles=chosen, jobs=args.jobs)


def register_decode_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]
                            ) -> None:
    """Add ``decode`` to the ``mbus`` parser."""
    decode_cmd = commands.add_parser(
        "decode", help="decode telegrams given as hex",
        description="Decode M-Bus frames given as hex: the arguments as one line, or each "
                    "line of -f FILE or of standard input. Blank lines and lines starting "
                    "with # or // are skipped. A bad line gives one error (stderr, or a "
                    "JSON object with --json) and exit status 1; the other lines still "
                    "decode.")
    decode_cmd.add_argument("hex", nargs="*", help="hex bytes (spaces and case do not matter)")
    decode_cmd.add_argument("-f", "--file", help="read hex lines from this file")
    decode_cmd.add_argument("--json", action="store_true",
                            help="one JSON object per telegram or failed line")
    profiles.add_profile_options(decode_cmd)
    decode_cmd.add_argument("--jobs", type=jobs_argument, default=1, metavar="N",
                            help="decode in N processes (default 1); the output is the same, "
                                 "in input order")
    decode_cmd.set_defaults(handler=_cmd_decode)
