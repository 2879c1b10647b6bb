"""Bounded parsing of untrusted text: JSON and TOML documents, CSV rows, numbers.

Every loader of :mod:`alarms` reads through these helpers, so that hostile
input (deep nesting, numbers of thousands of digits, giant fields, bytes that
are not UTF-8) ends in the package's own errors naming where it went wrong,
never in ``RecursionError``, ``ValueError``, ``OverflowError`` or
``csv.Error`` from deep inside a parser.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._errors import InputError, StateFormatError

__all__ = [
    "MAX_CSV_LINE",
    "MAX_DOCUMENT_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_CHARS",
    "brief",
    "csv_rows",
    "finite_float",
    "load_json",
    "load_toml",
    "parse_number",
]

#: Largest JSON, TOML or XML document read (16 MiB; a saved state is far smaller).
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
#: Deepest nesting of JSON arrays and objects (saved state nests 5 deep).
MAX_JSON_DEPTH = 32
#: Longest number literal: no value of ours needs more, and it keeps int() linear.
MAX_NUMBER_CHARS = 100
#: Longest line of a CSV file (a sample row is a few dozen characters).
MAX_CSV_LINE = 64 * 1024

# Outside strings a valid JSON document holds only brackets, literals and
# numbers, so this one pass sees its nesting and numbers exactly. (For invalid
# JSON it may mis-scan, but json.loads refuses such documents anyway.) An
# unterminated string runs to the end of the text, so no quote is scanned
# twice: the pass stays linear.
_JSON_TOKENS = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|[\[{]|[\]}]|-?Infinity|NaN|-?[0-9][-+0-9.eE]*',
    re.DOTALL,
)


def _decode(data: str | bytes, what: str) -> str:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise StateFormatError(f"{what} larger than {MAX_DOCUMENT_BYTES} bytes", offset=0)
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateFormatError(f"{what} is not UTF-8: {exc.reason}", offset=exc.start) from None


def _byte_offset(data: str | bytes, text: str, position: int) -> int:
    """The offset in ``data`` (bytes when the input was bytes) of ``text[position]``."""
    if isinstance(data, str):
        return position
    return len(text[:position].encode("utf-8"))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def load_json(data: str | bytes) -> Any:
    """Parse one JSON document within the bounds above.

    Raises :class:`alarms.StateFormatError` with the ``offset`` (bytes for
    bytes input, characters for text) of the fault: not UTF-8, not JSON,
    nested deeper than :data:`MAX_JSON_DEPTH`, a number longer than
    :data:`MAX_NUMBER_CHARS` characters or not finite (``NaN``, ``1e999``).
    """
    text = _decode(data, "JSON document")
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        first = token[0]
        if first in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise StateFormatError(
                    f"nested deeper than {MAX_JSON_DEPTH} levels",
                    offset=_byte_offset(data, text, match.start()),
                )
        elif first in "]}":
            depth -= 1
        elif first != '"':
            _check_number_token(token, data, text, match.start())
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise StateFormatError(
            f"not JSON: {exc.msg}", offset=_byte_offset(data, text, exc.pos)
        ) from None
    except (ValueError, RecursionError) as exc:  # a backstop: the scan refuses these first
        raise StateFormatError(f"not usable JSON: {exc}", offset=0) from None


def _check_number_token(token: str, data: str | bytes, text: str, position: int) -> None:
    if len(token) > MAX_NUMBER_CHARS:
        raise StateFormatError(
            f"number of {len(token)} characters (at most {MAX_NUMBER_CHARS})",
            offset=_byte_offset(data, text, position),
        )
    if token in ("NaN", "Infinity", "-Infinity"):
        raise StateFormatError(
            f"{token} is not a finite number", offset=_byte_offset(data, text, position)
        )
    if "." in token or "e" in token or "E" in token:
        try:
            value = float(token)
        except ValueError:
            return  # not a JSON number; json.loads says where
        if not math.isfinite(value):
            raise StateFormatError(
                f"{token} is out of range for a number", offset=_byte_offset(data, text, position)
            )


def _import_tomli() -> Any:
    return importlib.import_module("tomli")


def _toml_parser(source: str) -> Callable[[str], dict[str, Any]]:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads
    try:
        tomli = _import_tomli()
    except ImportError:
        raise InputError(
            "reading TOML needs Python 3.11+ (tomllib) or the 'tomli' package: pip install tomli",
            source=source,
        ) from None
    loads: Callable[[str], dict[str, Any]] = tomli.loads
    return loads


def load_toml(text: str, *, source: str) -> dict[str, Any]:
    """Parse a TOML document within bounds; errors are :class:`alarms.InputError`.

    The TOML parser recurses per nesting level and converts integers of any
    length, so deep nesting and huge integers end here as typed errors too.
    """
    loads = _toml_parser(source)
    if len(text) > MAX_DOCUMENT_BYTES:
        raise InputError(f"larger than {MAX_DOCUMENT_BYTES} bytes", source=source)
    try:
        return loads(text)
    except RecursionError:
        raise InputError("not usable TOML: nested too deep", source=source) from None
    except ValueError as exc:  # TOMLDecodeError, or an integer beyond int()'s digit limit
        raise InputError(f"not valid TOML: {exc}", source=source) from None


def csv_rows(lines: Iterable[str] | str, *, source: str) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of each CSV row; bad CSV is an :class:`alarms.InputError`.

    A line longer than :data:`MAX_CSV_LINE`, a field the csv module refuses
    (a bare CR, an over-long field) and text that is not UTF-8 all name the
    line they are on.
    """
    if isinstance(lines, str):
        lines = io.StringIO(lines, newline="")
    counter = _LineCounter(lines, source)
    reader = csv.reader(counter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"not valid CSV: {exc}", source=source, line=counter.line) from None
        yield reader.line_num, row


class _LineCounter:
    """The lines of a CSV file, each checked for length and decoding."""

    def __init__(self, lines: Iterable[str], source: str) -> None:
        self._lines = iter(lines)
        self._source = source
        self.line = 0

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not UTF-8 text: {exc.reason}", source=self._source, line=self.line + 1
            ) from None
        self.line += 1
        if not isinstance(line, str):
            raise InputError(
                f"expected text, got {type(line).__name__}", source=self._source, line=self.line
            )
        if len(line) > MAX_CSV_LINE:
            raise InputError(
                f"line longer than {MAX_CSV_LINE} characters", source=self._source, line=self.line
            )
        return line


_DECIMAL_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def parse_number(text: str) -> float | None:
    """A finite float from decimal notation (``-1.5``, ``2e3``), else ``None``.

    Stricter than ``float()``: no ``inf``/``nan``, no ``1_000``, no
    surrounding blanks, at most :data:`MAX_NUMBER_CHARS` characters.
    """
    if len(text) > MAX_NUMBER_CHARS or not _DECIMAL_NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def finite_float(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` when it is not a finite real number.

    Booleans are not numbers here; an integer too large for a float (``10**309``)
    is not finite rather than an ``OverflowError``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def brief(value: object) -> str:
    """``repr(value)`` for an error message, cut to 80 characters.

    Never fails: the repr of an integer beyond Python's digit limit raises
    ``ValueError``, which would hide the error being reported.
    """
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= 80 else text[:77] + "..."
