"""Readings as CSV: one row per reading, RFC 4180, streaming, and a reader that round-trips.

Format (the columns are :data:`CSV_COLUMNS`, in this order, after one header row):

- records end with CRLF; a field is quoted only when it contains the separator, a double
  quote, CR or LF, and quotes inside are doubled (RFC 4180, section 2);
- ``timestamp`` is UTC ISO 8601 with ``Z`` (``2026-11-24T08:15:00Z``);
- ``value`` is written in plain notation (no exponent for decimals) and ``value_type`` says
  how to read it back (``decimal``, ``integer``, ``float``, ``string``);
- ``status`` is the flags separated by single spaces; ``metadata`` is a compact JSON object
  with sorted keys, or empty;
- the German profile (``"de"``) separates fields with ``;`` and writes the decimal comma in
  ``value``; everything else is unchanged;
- text fields (every column except the numbers and the timestamp) that start with
  ``= + - @``, a tab, CR or LF (or their full-width forms) get a leading apostrophe so that a
  spreadsheet shows them as text instead of running them as a formula; text that already
  starts with an apostrophe gets one more, so the reader can undo the guard exactly.

The writer keeps no rows: memory stays constant however many readings pass through it.
Open files with ``newline=""`` so that the CRLF record ends are kept as written.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TextIO, cast

from ._errors import CsvFormatError, ExportError, ReadingError
from ._json_limits import JsonFormatError, load_json
from ._reading import (
    DICT_KEYS,
    Reading,
    ReadingLike,
    TextSink,
    Value,
    as_reading,
    format_decimal,
    format_timestamp,
    parse_timestamp,
    parse_value,
)
from ._shown import shown

__all__ = [
    "CSV_COLUMNS",
    "CSV_PROFILES",
    "CsvProfile",
    "CsvWriter",
    "read_csv",
    "write_csv",
]

logger = logging.getLogger(__name__)

CSV_COLUMNS: tuple[str, ...] = DICT_KEYS
"""The header row, in column order."""

_REQUIRED_COLUMNS = ("meter_id", "quantity", "value", "unit", "timestamp")


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvProfile:
    """Separator and decimal mark of a CSV dialect.

    Attributes:
        name: the profile's name (``"default"``, ``"de"``).
        delimiter: the field separator.
        decimal_separator: the decimal mark written in the ``value`` column.
    """

    name: str
    delimiter: str
    decimal_separator: str

    def __post_init__(self) -> None:
        if len(self.delimiter) != 1 or self.delimiter in '"\r\n':
            raise CsvFormatError(
                f"must be one character other than quote, CR or LF, got {shown(self.delimiter)}",
                field="delimiter",
            )
        if self.decimal_separator not in (".", ","):
            raise CsvFormatError(
                f"must be '.' or ',', got {shown(self.decimal_separator)}",
                field="decimal_separator",
            )
        if self.decimal_separator == self.delimiter:
            raise CsvFormatError(
                "the decimal separator must differ from the field separator",
                field="decimal_separator",
            )


CSV_PROFILES: Mapping[str, CsvProfile] = {
    "default": CsvProfile(name="default", delimiter=",", decimal_separator="."),
    "de": CsvProfile(name="de", delimiter=";", decimal_separator=","),
}
"""The built-in profiles: ``default`` (``,`` and ``.``) and ``de`` (``;`` and ``,``)."""

# OWASP "CSV injection": cells starting with these are run as formulas by spreadsheets.
# The full-width forms are included because some spreadsheets normalise them.
_FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20'")


def _guard(text: str) -> str:
    if text and text[0] in _FORMULA_STARTS:
        return "'" + text
    return text


def _unguard(text: str) -> str:
    if text[:1] == "'":
        return text[1:]
    return text


def _profile(profile: CsvProfile | str) -> CsvProfile:
    if isinstance(profile, CsvProfile):
        return profile
    try:
        return CSV_PROFILES[profile]
    except KeyError:
        raise CsvFormatError(
            f"unknown CSV profile {shown(profile)}; known: {', '.join(CSV_PROFILES)}",
            field="profile",
        ) from None


class CsvWriter:
    """Stream readings into a text file as CSV rows (see the module text for the format).

    The header row is written at once. The writer does not own the stream: closing it (or
    leaving the ``with`` block) only flushes.

    Args:
        stream: a text stream, opened with ``newline=""``.
        profile: ``"default"``, ``"de"`` or a :class:`CsvProfile`.
        header: write the header row (turn off when appending to an existing file).
        formula_guard: protect text fields against spreadsheet formula injection.

    >>> import io
    >>> from datetime import datetime, timezone
    >>> out = io.StringIO()
    >>> with CsvWriter(out, profile="de") as writer:
    ...     writer.write(Reading(meter_id="12345678", quantity="energy",
    ...         value=Decimal("1234.5"), unit="Wh",
    ...         timestamp=datetime(2026, 11, 24, 9, 15, tzinfo=timezone.utc)))
    >>> print(out.getvalue().splitlines()[1])
    12345678;;energy;1234,5;decimal;Wh;2026-11-24T09:15:00Z;0;0;0;instantaneous;;
    """

    def __init__(
        self,
        stream: TextSink,
        *,
        profile: CsvProfile | str = "default",
        header: bool = True,
        formula_guard: bool = True,
    ) -> None:
        self.profile = _profile(profile)
        self._stream = stream
        self._writer = csv.writer(
            stream,
            delimiter=self.profile.delimiter,
            quotechar='"',
            doublequote=True,
            quoting=csv.QUOTE_MINIMAL,
            lineterminator="\r\n",
            strict=True,
        )
        self._comma = self.profile.decimal_separator == ","
        self._guard = formula_guard
        self._last_ts: datetime | None = None
        self._last_ts_text = ""
        self.count = 0
        """Rows written so far (without the header)."""
        if header:
            self._writer.writerow(CSV_COLUMNS)

    def __enter__(self) -> CsvWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Flush the stream (it stays open: the caller owns it)."""
        self._stream.flush()

    def _value(self, value: Value) -> tuple[str, str]:
        kind = type(value)
        if kind is Decimal:
            text = format_decimal(cast(Decimal, value))
            vtype = "decimal"
        elif kind is int:
            return str(value), "integer"
        elif kind is float:
            text = repr(value)
            vtype = "float"
        elif kind is str:
            plain = cast(str, value)
            return (_guard(plain) if self._guard else plain), "string"
        else:
            return self._value(_plain_value(value))
        if self._comma:
            text = text.replace(".", ",")
        return text, vtype

    def write(self, reading: ReadingLike | Reading) -> None:
        """Write one reading as one row.

        Raises:
            ReadingError: ``reading`` is not a valid reading.
        """
        r = as_reading(reading)
        ts = r.timestamp
        if ts is not self._last_ts:
            # A telegram's readings share one timestamp object: format it once.
            self._last_ts_text = format_timestamp(ts)
            self._last_ts = ts
        value, vtype = self._value(r.value)
        status = " ".join(r.status) if r.status else ""
        metadata = (
            json.dumps(dict(r.metadata), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
            if r.metadata
            else ""
        )
        name = r.meter_name or ""
        if self._guard:
            row = (
                _guard(r.meter_id),
                _guard(name),
                _guard(r.quantity),
                value,
                vtype,
                _guard(r.unit),
                self._last_ts_text,
                r.storage,
                r.tariff,
                r.subunit,
                _guard(r.function),
                _guard(status),
                metadata,
            )
        else:
            row = (
                r.meter_id,
                name,
                r.quantity,
                value,
                vtype,
                r.unit,
                self._last_ts_text,
                r.storage,
                r.tariff,
                r.subunit,
                r.function,
                status,
                metadata,
            )
        self._writer.writerow(row)
        self.count += 1

    def write_many(self, readings: Iterable[ReadingLike | Reading]) -> int:
        """Write every reading of an iterable (consumed lazily); return how many."""
        before = self.count
        write = self.write
        for reading in readings:
            write(reading)
        return self.count - before


def _plain_value(value: object) -> Value:
    """Map subclasses of the value types (IntEnum, str subclasses) to the plain types."""
    if isinstance(value, bool):
        raise ReadingError("must be a number or a string, not a bool", field="value")
    if isinstance(value, Decimal):
        return Decimal(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    raise ReadingError(
        f"must be Decimal, int, float or str, got {type(value).__name__}", field="value"
    )


def write_csv(
    readings: Iterable[ReadingLike | Reading],
    stream: TextSink,
    *,
    profile: CsvProfile | str = "default",
    header: bool = True,
    formula_guard: bool = True,
) -> int:
    """Write a header row and one row per reading to ``stream``; return the row count."""
    writer = CsvWriter(stream, profile=profile, header=header, formula_guard=formula_guard)
    count = writer.write_many(readings)
    writer.close()
    return count


def _sniff_profile(first_line: str) -> CsvProfile:
    # Column names hold neither separator, so the separator that splits the line into
    # mostly known column names is the file's (the header check then names any other).
    header = first_line.rstrip("\r\n")
    for profile in CSV_PROFILES.values():
        names = header.split(profile.delimiter)
        if len(names) > 1 and sum(name in CSV_COLUMNS for name in names) > len(names) // 2:
            return profile
    raise CsvFormatError(
        "the first line is not a meterkit CSV header (column names such as meter_id, "
        "separated by ',' or ';'); pass profile= for other separators",
        line=1,
    )


_MAX_LINE = 1 << 20


def _read_line(stream: TextIO, line: int) -> str:
    try:
        text = stream.readline(_MAX_LINE + 1)
    except UnicodeDecodeError as exc:
        # The caller's text stream could not decode its bytes (open with encoding="utf-8").
        raise CsvFormatError(
            f"the stream cannot decode its bytes as {exc.encoding}: {exc.reason}", line=line
        ) from None
    if len(text) > _MAX_LINE:
        raise CsvFormatError(f"a line longer than {_MAX_LINE} characters", line=line)
    return text


class _LineSource:
    """Hands csv.reader the stream line by line after the first line was peeked at."""

    def __init__(self, first: str, stream: TextIO) -> None:
        self._first: str | None = first
        self._stream = stream
        self._lines = 1

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._first is not None:
            line, self._first = self._first, None
            return line
        self._lines += 1
        line = _read_line(self._stream, self._lines)
        if not line:
            raise StopIteration
        return line


def read_csv(
    stream: TextIO,
    *,
    profile: CsvProfile | str | None = None,
    formula_guard: bool = True,
) -> Iterator[Reading]:
    """Read readings back from CSV written by :class:`CsvWriter` (lazily, one row at a time).

    The header row decides the column order; columns other than ``meter_id``, ``quantity``,
    ``value``, ``unit`` and ``timestamp`` may be missing and take the reading's defaults.
    Without ``profile`` the separator is recognised from the header (``,`` -> default,
    ``;`` -> ``de``). A UTF-8 byte order mark before the header is skipped. Without a
    ``value_type`` column, values that look like integers become ``int``, decimals become
    :class:`~decimal.Decimal` and anything else stays a string.

    Raises:
        CsvFormatError: bad header, wrong number of fields, bad cell (``line`` and ``field``
            say where).
    """
    first = _read_line(stream, 1)
    if first.startswith("\ufeff"):
        first = first[1:]
    if not first:
        raise CsvFormatError("the file is empty; expected a header row", line=1)
    chosen = _sniff_profile(first) if profile is None else _profile(profile)
    comma = chosen.decimal_separator == ","
    reader = csv.reader(
        _LineSource(first, stream),
        delimiter=chosen.delimiter,
        quotechar='"',
        doublequote=True,
        strict=True,
    )
    try:
        header = next(reader)
    except csv.Error as exc:
        raise CsvFormatError(f"malformed header row: {exc}", line=1) from None
    except StopIteration:  # pragma: no cover - first is non-empty
        raise CsvFormatError("the file is empty; expected a header row", line=1) from None
    index = _header_index(header)
    width = len(header)
    unguard = _unguard if formula_guard else _identity
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvFormatError(f"malformed CSV: {exc}", line=reader.line_num) from None
        if not row:
            continue  # a blank line between records
        line = reader.line_num
        if len(row) != width:
            raise CsvFormatError(
                f"expected {width} fields as in the header, got {len(row)}", line=line
            )
        yield _row_to_reading(row, index, unguard, comma, line)


def _identity(text: str) -> str:
    return text


def _header_index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        if name not in CSV_COLUMNS:
            raise CsvFormatError(
                f"unknown column {shown(name)}; known columns: {', '.join(CSV_COLUMNS)}",
                field=name,
                line=1,
            )
        if name in index:
            raise CsvFormatError(f"column {shown(name)} appears twice", field=name, line=1)
        index[name] = position
    for name in _REQUIRED_COLUMNS:
        if name not in index:
            raise CsvFormatError("required column is missing", field=name, line=1)
    return index


def _cell_int(row: list[str], index: dict[str, int], name: str, line: int) -> int:
    position = index.get(name)
    if position is None or row[position] == "":
        return 0
    text = row[position]
    if not text.isdigit() or not text.isascii() or len(text) > 4000:
        raise CsvFormatError(
            f"must be a non-negative integer, got {text[:40]!r}", field=name, line=line
        )
    return int(text)


def _row_to_reading(
    row: list[str],
    index: dict[str, int],
    unguard: Any,
    comma: bool,
    line: int,
) -> Reading:
    def text(name: str, default: str = "") -> str:
        position = index.get(name)
        return default if position is None else str(unguard(row[position]))

    raw_value = row[index["value"]]
    value_type = text("value_type") or None
    try:
        if value_type == "string":
            value: Value = unguard(raw_value)
        else:
            number = raw_value.replace(",", ".") if comma else raw_value
            if value_type is None:
                value = _infer_value(number, unguard(raw_value))
            else:
                value = parse_value(number, value_type, line=line)
        status_text = text("status")
        metadata_text = text("metadata")
        metadata: dict[str, str] = {}
        if metadata_text:
            try:
                loaded = load_json(metadata_text, field="metadata")
            except JsonFormatError as exc:
                raise CsvFormatError(
                    f"not a JSON object ({exc}): {metadata_text[:60]!r}",
                    field="metadata",
                    line=line,
                ) from None
            if not isinstance(loaded, dict):
                raise CsvFormatError("must be a JSON object", field="metadata", line=line)
            metadata = loaded
        return Reading(
            meter_id=text("meter_id"),
            meter_name=text("meter_name") or None,
            quantity=text("quantity"),
            value=value,
            unit=text("unit"),
            timestamp=parse_timestamp(row[index["timestamp"]], line=line),
            storage=_cell_int(row, index, "storage", line),
            tariff=_cell_int(row, index, "tariff", line),
            subunit=_cell_int(row, index, "subunit", line),
            function=text("function") or "instantaneous",
            status=tuple(status_text.split(" ")) if status_text else (),
            metadata=metadata,
        )
    except CsvFormatError:
        raise
    except ExportError as exc:
        raise CsvFormatError(exc.message, field=exc.field, line=line) from None


def _infer_value(number: str, text: str) -> Value:
    try:
        return parse_value(number, "integer")
    except ReadingError:
        pass
    try:
        return parse_value(number, "decimal")
    except ReadingError:
        return text
