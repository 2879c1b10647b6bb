"""Bounded parsing of untrusted text: the JSON of state files and the rows of edges CSV.

Every loader of ``s0`` reads through these two helpers, so that hostile input (deep
nesting, numbers of thousands of digits, giant fields, bytes that are not UTF-8) ends in
``s0``'s own errors naming where it went wrong, never in ``RecursionError``, ``ValueError``
or ``csv.Error`` from deep inside a parser.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from ._errors import ReplayInputError, StateError

__all__ = [
    "MAX_CSV_LINE",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_CHARS",
    "brief",
    "csv_rows",
    "load_json",
]

#: Largest state file read (16 MiB; a channel's state is under 1 KiB).
MAX_JSON_BYTES = 16 * 1024 * 1024
#: Deepest nesting of JSON arrays and objects (a counter's state nests 5 deep).
MAX_JSON_DEPTH = 32
#: Longest number literal: nanosecond times need 22 digits, and it keeps int() linear.
MAX_NUMBER_CHARS = 100
#: Longest line of an edges CSV file (a row is a few dozen characters).
MAX_CSV_LINE = 64 * 1024

# Outside strings a valid JSON document holds only brackets, literals and numbers, so
# this one pass sees its nesting and numbers exactly. (Invalid JSON may be mis-scanned,
# but json.loads refuses it anyway.) An unterminated string runs to the end of the text,
# so no quote is scanned twice: the pass stays linear.
_JSON_TOKENS = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|[\[{]|[\]}]|-?Infinity|NaN|-?[0-9][-+0-9.eE]*',
    re.DOTALL,
)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def load_json(data: bytes, *, field: str = "file") -> Any:
    """Parse one UTF-8 JSON document within the bounds above.

    Raises:
        StateError: naming ``field`` and the byte ``offset`` of the fault: not UTF-8,
            not JSON, nested deeper than :data:`MAX_JSON_DEPTH`, a number longer than
            :data:`MAX_NUMBER_CHARS` characters or not finite (``NaN``, ``1e999``).
    """
    if len(data) > MAX_JSON_BYTES:
        raise StateError(f"larger than {MAX_JSON_BYTES} bytes", field=field, offset=0)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateError(f"not UTF-8: {exc.reason}", field=field, offset=exc.start) from None

    def fault(message: str, position: int) -> StateError:
        return StateError(message, field=field, offset=len(text[:position].encode("utf-8")))

    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        first = token[0]
        if first in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise fault(f"nested deeper than {MAX_JSON_DEPTH} levels", match.start())
        elif first in "]}":
            depth -= 1
        elif first != '"':
            if len(token) > MAX_NUMBER_CHARS:
                raise fault(
                    f"number of {len(token)} characters (at most {MAX_NUMBER_CHARS})",
                    match.start(),
                )
            if not _finite_token(token):
                raise fault(f"{token} is not a finite number", match.start())
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise fault(f"not JSON: {exc.msg}", exc.pos) from None
    except (ValueError, RecursionError) as exc:  # a backstop: the scan refuses these first
        raise StateError(f"not usable JSON: {exc}", field=field, offset=0) from None


def _finite_token(token: str) -> bool:
    if token in ("NaN", "Infinity", "-Infinity"):
        return False
    if "." in token or "e" in token or "E" in token:
        try:
            return math.isfinite(float(token))
        except ValueError:
            return True  # not a JSON number; json.loads says where
    return True


def csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of each row of a strict CSV file (the header is row 1).

    Raises:
        ReplayInputError: naming the row, for a line longer than :data:`MAX_CSV_LINE`,
            CSV the csv module refuses (a bare CR, a stray quote, an over-long field) or
            text that is not UTF-8.
    """
    counter = _LineCounter(lines)
    reader = csv.reader(counter, strict=True)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ReplayInputError(f"not valid CSV: {exc}", row=counter.line) from None
        yield reader.line_num, cells


class _LineCounter:
    """The lines of a CSV file, each checked for length and decoding."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.line = 0

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except UnicodeDecodeError as exc:
            raise ReplayInputError(f"not UTF-8 text: {exc.reason}", row=self.line + 1) from None
        self.line += 1
        if not isinstance(line, str):
            raise ReplayInputError(f"expected text, got {type(line).__name__}", row=self.line)
        if len(line) > MAX_CSV_LINE:
            raise ReplayInputError(f"line longer than {MAX_CSV_LINE} characters", row=self.line)
        return line


def brief(value: object) -> str:
    """``repr(value)`` (``str`` for a Decimal) for an error message, cut to 80 characters.

    Never fails: the repr of an integer beyond Python's digit limit raises ``ValueError``,
    which would hide the error being reported.
    """
    try:
        text = str(value) if isinstance(value, Decimal) else repr(value)
    except ValueError:
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= 80 else text[:77] + "..."
