"""How a reading's parts are stored: times as integer microseconds, values exactly.

Shared by the backends so that every one keeps the same meaning: a value comes back
as the type it went in (Decimal with its exponent, int of any size, float, str, bool,
None), a time as the same instant in UTC.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from profiles import ReadingValue

from ._errors import QueryError, ReadingError

__all__ = [
    "EPOCH",
    "KIND_BOOL",
    "KIND_DECIMAL",
    "KIND_FLOAT",
    "KIND_INT",
    "KIND_NONE",
    "KIND_TEXT",
    "MICROSECOND",
    "decode_quality",
    "decode_value",
    "encode_quality",
    "encode_value",
    "from_micros",
    "query_micros",
    "to_micros",
]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
_INT64 = 2**63

# Stored beside each value so that it comes back as the type it went in. Decimal and int,
# the common cases, get the codes SQLite stores in no bytes at all.
KIND_DECIMAL = 0
KIND_INT = 1
KIND_FLOAT = 2
KIND_TEXT = 3
KIND_BOOL = 4
KIND_NONE = 5


def to_micros(time: datetime, *, index: int = 0) -> int:
    """Microseconds since 1970-01-01 UTC of an aware datetime (exact)."""
    if not isinstance(time, datetime):
        raise ReadingError(f"must be a datetime, got {type(time).__name__}", field="time",
                           index=index)
    if time.utcoffset() is None:
        raise ReadingError("must be timezone-aware", field="time", index=index)
    return (time - EPOCH) // MICROSECOND


def query_micros(time: datetime | None, field: str) -> int | None:
    """:func:`to_micros` for a query bound (None stays None); errors are QueryErrors."""
    if time is None:
        return None
    if not isinstance(time, datetime) or time.utcoffset() is None:
        raise QueryError("must be a timezone-aware datetime", field=field)
    return (time - EPOCH) // MICROSECOND


def from_micros(micros: int) -> datetime:
    """The UTC datetime of :func:`to_micros`."""
    return EPOCH + timedelta(microseconds=micros)


def encode_value(value: ReadingValue, *, index: int = 0) -> tuple[int, object]:
    """(kind, stored value): Decimal as its exact text, ints beyond 64 bits as text."""
    kind = type(value)
    if kind is Decimal:
        return KIND_DECIMAL, str(value)
    if kind is int:
        assert isinstance(value, int)
        return KIND_INT, value if -_INT64 <= value < _INT64 else str(value)
    if kind is float:
        assert isinstance(value, float)
        # SQLite turns a NaN into NULL: non-finite floats are kept as their text.
        return KIND_FLOAT, value if math.isfinite(value) else repr(value)
    if kind is str:
        return KIND_TEXT, value
    if kind is bool:
        return KIND_BOOL, int(bool(value))
    if value is None:
        return KIND_NONE, None
    raise ReadingError(
        f"must be Decimal, int, float, str, bool or None, got {kind.__name__}",
        field="value", index=index)


def decode_value(kind: int, stored: object) -> ReadingValue:
    """The value :func:`encode_value` stored."""
    if kind == KIND_DECIMAL:
        return Decimal(str(stored))
    if kind == KIND_INT:
        return stored if isinstance(stored, int) else int(str(stored))
    if kind == KIND_FLOAT:
        return stored if isinstance(stored, float) else float(str(stored))
    if kind == KIND_TEXT:
        return str(stored)
    if kind == KIND_BOOL:
        return bool(stored)
    return None


def encode_quality(quality: tuple[str, ...], *, index: int = 0) -> str | None:
    """Flags joined by commas; None for good (the empty tuple)."""
    if not quality:
        return None
    if not isinstance(quality, tuple):
        raise ReadingError("must be a tuple of flags", field="quality", index=index)
    for flag in quality:
        if not isinstance(flag, str) or not flag or "," in flag:
            raise ReadingError(f"flag {flag!r} must be a non-empty text without commas",
                               field="quality", index=index)
    return ",".join(quality)


def decode_quality(stored: str | None) -> tuple[str, ...]:
    """The flags :func:`encode_quality` stored."""
    return tuple(stored.split(",")) if stored else ()
