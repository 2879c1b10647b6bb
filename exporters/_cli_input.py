"""What the ``exporters`` commands that read JSON on stdin share: options, time rule, output.

The reading time of a document follows one rule (see :func:`readings_from_document`): its
own ``timestamp`` key, else the telegram's clock record, else ``--timestamp``, else the
time the line is read, which is said once on stderr.

Objects with an ``error`` key (what ``mbus decode --json`` prints for a line it could not
decode) are reported on stderr, one line each, and skipped; ``--strict`` makes them fatal.

Output is all or nothing: a run that fails writes nothing, neither to ``-o FILE`` (written
to a temporary name and renamed when complete) nor to stdout (kept in a temporary buffer
and copied out when complete).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone, tzinfo
from typing import IO, Any, BinaryIO, TextIO, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._documents import error_document_message, iter_json_values, readings_from_json
from ._errors import DocumentError, ExportError
from ._reading import Reading, parse_timestamp

__all__ = [
    "add_input_options",
    "add_reading_options",
    "atomic_binary_output",
    "atomic_output",
    "stdin_readings",
]

PROG = "exporters"

# Up to this much output stays in memory before the stdout buffer moves to a file.
_MEMORY_BUFFER = 8 << 20
_COPY_CHUNK = 1 << 16


def _timestamp_arg(text: str) -> datetime:
    if text == "now":
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        return parse_timestamp(text)
    except ExportError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _zone_arg(text: str) -> tzinfo | None:
    if text == "local":
        return None
    if text in ("UTC", "Z"):
        return timezone.utc
    if text[:1] in "+-" and len(text) == 6 and text[3] == ":":
        try:
            hours, minutes = int(text[1:3]), int(text[4:6])
            return timezone((-1 if text[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes))
        except ValueError:
            pass
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown time zone {text!r}: use 'local', 'UTC', +hh:mm or a name like Europe/Berlin"
        ) from None


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Add ``-o`` and the options of :func:`add_reading_options` to ``parser``."""
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE (atomically: temporary name, then rename) instead of stdout",
    )
    add_reading_options(parser)


def add_reading_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--timestamp``, ``--meter-zone`` and ``--strict``, which
    :func:`stdin_readings` reads, to ``parser``."""
    parser.add_argument(
        "--timestamp",
        type=_timestamp_arg,
        metavar="TIME",
        help="reading time for documents without one of their own ('timestamp' key or "
        "the telegram's clock record): ISO 8601 with zone (2026-11-24T08:00:00Z) or "
        "'now'; default: the time each line is read",
    )
    parser.add_argument(
        "--meter-zone",
        type=_zone_arg,
        default=None,
        metavar="ZONE",
        help="time zone of the meters' clock records: 'local' (this machine, the "
        "default), 'UTC', +hh:mm or a name like Europe/Berlin",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail on records without quantity or scalar value and on error objects "
        "instead of skipping them",
    )


def stdin_readings(args: argparse.Namespace, command: str) -> Iterator[Reading]:
    """The readings of the JSON values on stdin, by the rules of this module.

    Raises:
        DocumentError: bad input (``line`` says where; nothing is written).
    """
    stream = getattr(sys.stdin, "buffer", sys.stdin)  # bytes: UTF-8 is checked by us
    told = False
    line = 0

    def read_time() -> datetime:
        nonlocal told
        if not told:
            told = True
            print(
                f"{PROG} {command}: line {line} and others without a time of their own get "
                "the time they are read (UTC); give --timestamp to set one",
                file=sys.stderr,
            )
        return datetime.now(timezone.utc).replace(microsecond=0)

    fallback = args.timestamp if args.timestamp is not None else read_time
    for line, value in iter_json_values(stream):
        message = error_document_message(value)
        if message is not None:
            upstream = value.get("line")
            known = type(upstream) is int and 0 < upstream < 10**15
            source = f" (input line {upstream} of the decoder)" if known else ""
            if args.strict:
                raise DocumentError(f"an error object{source}: {message}", field="error", line=line)
            print(
                f"{PROG} {command}: line {line}: skipped an error object{source}: {message}",
                file=sys.stderr,
            )
            continue
        try:
            yield from readings_from_json(
                value, timestamp=fallback, strict=args.strict, meter_zone=args.meter_zone
            )
        except DocumentError as exc:
            raise DocumentError(exc.message, field=exc.field, line=line) from None


@contextlib.contextmanager
def atomic_output(path: str | None) -> Iterator[TextIO]:
    """A text stream whose content reaches ``path`` (or stdout) only if the block succeeds.

    ``path``: a temporary file beside it, fsynced and renamed over it. ``None``: a
    temporary buffer (in memory up to 8 MiB, then on disk) copied to stdout at the end.
    Either way the text is UTF-8 and newlines are written as given.
    """
    with _atomic(path, binary=False) as stream:
        yield cast(TextIO, stream)


@contextlib.contextmanager
def atomic_binary_output(path: str | None) -> Iterator[BinaryIO]:
    """As :func:`atomic_output`, for bytes (Parquet)."""
    with _atomic(path, binary=True) as stream:
        yield cast(BinaryIO, stream)


@contextlib.contextmanager
def _atomic(path: str | None, *, binary: bool) -> Iterator[IO[Any]]:
    text_mode: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": ""}
    if path is None:
        with tempfile.SpooledTemporaryFile(
            max_size=_MEMORY_BUFFER, mode="w+b" if binary else "w+", **text_mode
        ) as buffer:
            yield buffer
            buffer.seek(0)
            sys.stdout.flush()
            target = getattr(sys.stdout, "buffer", None)
            # Bytes for a text stdout without a buffer (a test's StringIO) are decoded
            # incrementally, so a character split between two chunks stays whole.
            text = codecs.getincrementaldecoder("utf-8")("surrogateescape")
            while piece := buffer.read(_COPY_CHUNK):
                data: bytes = piece.encode("utf-8") if isinstance(piece, str) else piece
                if target is not None:
                    target.write(data)
                else:
                    sys.stdout.write(text.decode(data))
            if target is not None:
                target.flush()
        sys.stdout.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=".part", dir=directory
    )
    try:
        with open(handle, "wb" if binary else "w", **text_mode) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
