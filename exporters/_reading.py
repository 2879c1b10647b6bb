"""The reading: one value of one meter at one instant, the unit every exporter writes.

``exporters`` knows nothing of M-Bus; a :class:`Reading` is its own small shape of data.
Writers accept a :class:`Reading` or anything else with the same attribute names
(:class:`ReadingLike`); :func:`as_reading` checks and converts such objects.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from ._errors import ReadingError
from ._shown import shown

__all__ = [
    "VALUE_TYPES",
    "Reading",
    "ReadingLike",
    "TextSink",
    "Value",
    "as_reading",
]

Value = Decimal | int | float | str
"""The types a reading's value may have."""

VALUE_TYPES: tuple[str, ...] = ("decimal", "integer", "float", "string")
"""Names of the value types, as written in CSV (``value_type``), XML and ``to_dict()``."""

_UTC = timezone.utc


class _FrozenMap(Mapping[str, str]):
    """An immutable, hashable, picklable ``str -> str`` mapping (reading metadata)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, str] = dict(items) if items else {}

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)

    def __getstate__(self) -> dict[str, str]:
        return self._items

    def __setstate__(self, state: dict[str, str]) -> None:
        self._items = state


_EMPTY_METADATA = _FrozenMap()
_PLAIN_VALUE_TYPES = (Decimal, int, float, str)
_PLAIN_OF: dict[str, Any] = {"decimal": Decimal, "integer": int, "float": float, "string": str}


class TextSink(Protocol):
    """Where the writers put text: any object with ``write(str)`` and ``flush()``."""

    def write(self, text: str, /) -> object: ...
    def flush(self) -> object: ...


class ReadingLike(Protocol):
    """Anything with the attribute names of :class:`Reading` is accepted by the writers."""

    @property
    def meter_id(self) -> str: ...
    @property
    def quantity(self) -> str: ...
    @property
    def value(self) -> Value: ...
    @property
    def unit(self) -> str: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def meter_name(self) -> str | None: ...
    @property
    def storage(self) -> int: ...
    @property
    def tariff(self) -> int: ...
    @property
    def subunit(self) -> int: ...
    @property
    def function(self) -> str: ...
    @property
    def status(self) -> Sequence[str]: ...
    @property
    def metadata(self) -> Mapping[str, str]: ...


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_unicode(name: str, text: str) -> None:
    # json.loads("\"\\ud800\"") gives such a string; no UTF can encode it, so every
    # writer would fail on it later (a CSV file half written): refuse it here, once.
    if not text.isascii():
        found = _LONE_SURROGATE.search(text)
        if found:
            raise ReadingError(
                f"lone surrogate U+{ord(found.group()):04X} at character {found.start()} "
                "is not text (no UTF encoding can carry it)",
                field=name,
            )


def _check_text(name: str, value: object, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise ReadingError(f"must be a string, got {type(value).__name__}", field=name)
    if not empty_ok and not value:
        raise ReadingError("must not be empty", field=name)
    _check_unicode(name, value)
    return value


# Python refuses to convert ints of more than 4300 digits to text; refuse them up front.
_MAX_INT_DIGITS = 4000
_MAX_INT_BITS = 13_000


def _check_int_size(name: str, value: int) -> int:
    if value.bit_length() > _MAX_INT_BITS:
        raise ReadingError(f"an integer of more than {_MAX_INT_DIGITS} digits", field=name)
    return value


def _check_index(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReadingError(f"must be an integer, got {type(value).__name__}", field=name)
    if value < 0:
        raise ReadingError(f"must be >= 0, got {shown(value)}", field=name)
    return _check_int_size(name, value)


def _check_value(value: object) -> Value:
    if isinstance(value, bool):
        raise ReadingError("must be a number or a string, not a bool", field="value")
    if isinstance(value, int):
        return _check_int_size("value", value)
    if isinstance(value, str):
        _check_unicode("value", value)
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ReadingError(f"must be finite, got {value}", field="value")
        # Plain notation of 1E+999999 would be a million digits: bound the scale.
        exponent = value.as_tuple().exponent
        if value.adjusted() > _MAX_INT_DIGITS or (
            isinstance(exponent, int) and exponent < -_MAX_INT_DIGITS
        ):
            raise ReadingError(
                f"a decimal beyond {_MAX_INT_DIGITS} digits before or after the point",
                field="value",
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ReadingError(f"must be finite, got {shown(value)}", field="value")
        return value
    raise ReadingError(
        f"must be Decimal, int, float or str, got {type(value).__name__}", field="value"
    )


def _check_status(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ReadingError(
            f"must be a sequence of flag names, got {type(value).__name__}", field="status"
        )
    flags = tuple(value)
    for flag in flags:
        if not isinstance(flag, str) or not flag or any(ch.isspace() for ch in flag):
            raise ReadingError(
                f"each flag must be a non-empty string without white space, got {shown(flag)}",
                field="status",
            )
        _check_unicode("status", flag)
    return flags


def _check_metadata(value: object) -> _FrozenMap:
    if isinstance(value, _FrozenMap):
        return value
    if not isinstance(value, Mapping):
        raise ReadingError(
            f"must be a mapping of str to str, got {type(value).__name__}", field="metadata"
        )
    if not value:
        return _EMPTY_METADATA
    for key, item in value.items():
        if not isinstance(key, str) or not key or not isinstance(item, str):
            raise ReadingError(
                "keys must be non-empty strings and values strings, "
                f"got {shown(key)}: {shown(item)}",
                field="metadata",
            )
        _check_unicode(f"metadata.{key}", key)
        _check_unicode(f"metadata.{key}", item)
    return _FrozenMap(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One value of one meter at one instant.

    Attributes:
        meter_id: the meter's identification (for M-Bus the 8-digit secondary id).
        quantity: what was measured (``"energy"``, ``"volume"``, ``"flow_temperature"``, ...).
        value: exact as :class:`~decimal.Decimal` or ``int``; ``float`` only where the
            source carried a float; ``str`` for values that are not numbers. Must be finite.
        unit: the unit (``"Wh"``, ``"m3"``, ``"degC"``, ...); may be empty for counts.
        timestamp: when the value was valid; must be timezone-aware.
        meter_name: an optional human-readable name; an empty name is stored as ``None``.
        storage: storage number (0 = current value, 1.. = historic values).
        tariff: tariff register (0 = total).
        subunit: device subunit.
        function: ``"instantaneous"``, ``"maximum"``, ``"minimum"`` or ``"error"``
            (the M-Bus DIF function field), or any other non-empty word.
        status: status flags, each a non-empty word without white space.
        metadata: free ``str -> str`` data (copied into an immutable mapping).

    Raises:
        ReadingError: when a field has the wrong type or value (its ``field`` names it).

    >>> from datetime import datetime, timedelta, timezone
    >>> r = Reading(meter_id="12345678", quantity="energy", value=Decimal("1234.5"),
    ...             unit="Wh", timestamp=datetime(2026, 11, 24, 8, 15, tzinfo=timezone.utc))
    >>> r.to_dict()["timestamp"]
    '2026-11-24T08:15:00Z'
    >>> Reading.from_dict(r.to_dict()) == r
    True
    """

    meter_id: str
    quantity: str
    value: Value
    unit: str
    timestamp: datetime
    meter_name: str | None = None
    storage: int = 0
    tariff: int = 0
    subunit: int = 0
    function: str = "instantaneous"
    status: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY_METADATA)

    def __post_init__(self) -> None:
        _check_text("meter_id", self.meter_id)
        _check_text("quantity", self.quantity)
        value = _check_value(self.value)
        if type(value) not in _PLAIN_VALUE_TYPES:
            # IntEnum, str subclasses and the like: keep the plain value.
            plain = value.value if isinstance(value, enum.Enum) else value
            object.__setattr__(self, "value", _PLAIN_OF[value_type_of(value)](plain))
        _check_text("unit", self.unit, empty_ok=True)
        ts = self.timestamp
        if not isinstance(ts, datetime):
            raise ReadingError(f"must be a datetime, got {type(ts).__name__}", field="timestamp")
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise ReadingError(
                f"must be timezone-aware, got naive {ts.isoformat()}; "
                "attach a zone, e.g. datetime.now(timezone.utc)",
                field="timestamp",
            )
        if ts.year in (1, 9999):
            # Only at the ends of the calendar can the UTC form of a time not exist.
            try:
                ts.astimezone(_UTC)
            except OverflowError:
                raise ReadingError(
                    f"{ts.isoformat()} is out of range once converted to UTC",
                    field="timestamp",
                ) from None
        name = self.meter_name
        if name is not None:
            _check_text("meter_name", name, empty_ok=True)
            if not name:
                object.__setattr__(self, "meter_name", None)
        for name in ("storage", "tariff", "subunit"):
            number = getattr(self, name)
            if type(number) is not int:
                # An IntEnum or other int subclass: keep the plain number.
                object.__setattr__(self, name, int(_check_index(name, number)))
            else:
                _check_index(name, number)
        _check_text("function", self.function)
        if type(self.status) is not tuple or self.status:
            object.__setattr__(self, "status", _check_status(self.status))
        object.__setattr__(self, "metadata", _check_metadata(self.metadata))

    @property
    def point(self) -> str:
        """The data point's name, for the reading protocol that ``modbus``, ``bacnet`` and
        the gateway share: ``metadata["point"]`` when given (``modbus read --json`` sets
        it), else ``meter_id/quantity``, followed by ``/storageN``, ``/tariffN``,
        ``/subunitN`` where those are not 0 and by the function where it is not
        ``instantaneous``.

        >>> r = Reading(meter_id="12345678", quantity="energy", value=1, unit="Wh",
        ...             timestamp=datetime(2026, 11, 24, tzinfo=timezone.utc), tariff=2)
        >>> r.point
        '12345678/energy/tariff2'
        """
        named = self.metadata.get("point")
        if named:
            return named
        parts = [self.meter_id, self.quantity]
        for name in ("storage", "tariff", "subunit"):
            number = getattr(self, name)
            if number:
                parts.append(f"{name}{number}")
        if self.function != "instantaneous":
            parts.append(self.function)
        return "/".join(parts)

    @property
    def time(self) -> datetime:
        """The reading protocol's name for :attr:`timestamp`."""
        return self.timestamp

    @property
    def quality(self) -> tuple[str, ...]:
        """The reading protocol's name for :attr:`status`: the flags as they are (the
        source's own, such as M-Bus ``power_low``, and meterkit's, such as ``stale``);
        empty means good."""
        return self.status

    @property
    def value_type(self) -> str:
        """The value's type name: ``"decimal"``, ``"integer"``, ``"float"`` or ``"string"``."""
        return value_type_of(self.value)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that :func:`json.dumps` accepts.

        Decimal values become strings (exactness is kept) with ``value_type`` saying how
        to read them back; the timestamp is UTC ISO 8601 with a ``Z``.
        """
        value = self.value
        return {
            "meter_id": self.meter_id,
            "meter_name": self.meter_name,
            "quantity": self.quantity,
            "value": format_decimal(value) if isinstance(value, Decimal) else value,
            "value_type": value_type_of(value),
            "unit": self.unit,
            "timestamp": format_timestamp(self.timestamp),
            "storage": self.storage,
            "tariff": self.tariff,
            "subunit": self.subunit,
            "function": self.function,
            "status": list(self.status),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reading:
        """Build a reading from :meth:`to_dict` output (or a hand-written JSON object).

        Required keys: ``meter_id``, ``quantity``, ``value``, ``unit``, ``timestamp``
        (ISO 8601 with an offset or ``Z``, or an aware datetime). Without ``value_type``
        the value keeps its JSON type (a string stays a string). Unknown keys are
        refused so that typos do not lose data.

        Raises:
            ReadingError: a key is missing, unknown or invalid.
        """
        if not isinstance(data, Mapping):
            raise ReadingError(f"a reading must be a JSON object, got {type(data).__name__}")
        unknown = set(data) - _DICT_KEYS
        if unknown:
            first = sorted(k if isinstance(k, str) else shown(k) for k in unknown)[0]
            names = sorted(map(shown, unknown))
            raise ReadingError(
                f"unknown key(s) {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}; "
                f"known keys: {', '.join(sorted(_DICT_KEYS))}",
                field=first if first.isprintable() and len(first) <= 60 else shown(first),
            )
        for key in ("meter_id", "quantity", "value", "unit", "timestamp"):
            if key not in data:
                raise ReadingError("is required", field=key)
        value_type = data.get("value_type")
        value = data["value"]
        if value_type is not None:
            value = parse_value(value, value_type)
        timestamp = data["timestamp"]
        if isinstance(timestamp, str):
            timestamp = parse_timestamp(timestamp)
        status = data.get("status", ())
        return cls(
            meter_id=data["meter_id"],
            quantity=data["quantity"],
            value=value,
            unit=data["unit"],
            timestamp=timestamp,
            meter_name=data.get("meter_name"),
            storage=data.get("storage", 0),
            tariff=data.get("tariff", 0),
            subunit=data.get("subunit", 0),
            function=data.get("function", "instantaneous"),
            status=tuple(status) if isinstance(status, list) else status,
            metadata=data.get("metadata") or _EMPTY_METADATA,
        )


# The keys of Reading.to_dict(), in order; the CSV columns are the same names.
DICT_KEYS: tuple[str, ...] = (
    "meter_id",
    "meter_name",
    "quantity",
    "value",
    "value_type",
    "unit",
    "timestamp",
    "storage",
    "tariff",
    "subunit",
    "function",
    "status",
    "metadata",
)
_DICT_KEYS = frozenset(DICT_KEYS)

_ATTRIBUTES = (
    "meter_id",
    "quantity",
    "value",
    "unit",
    "timestamp",
    "meter_name",
    "storage",
    "tariff",
    "subunit",
    "function",
    "status",
    "metadata",
)


def as_reading(obj: ReadingLike | Reading) -> Reading:
    """Return ``obj`` itself if it is a :class:`Reading`, else a checked copy of its attributes.

    Raises:
        ReadingError: an attribute is missing or invalid (``field`` names it).
    """
    if type(obj) is Reading:
        return obj
    values: dict[str, Any] = {}
    for name in _ATTRIBUTES:
        try:
            values[name] = getattr(obj, name)
        except AttributeError:
            raise ReadingError(
                f"{type(obj).__name__} has no attribute {shown(name)}, so it is not a reading",
                field=name,
            ) from None
    return Reading(**values)


# --- value and timestamp text forms, shared by the CSV and XML codecs ---------------------


def value_type_of(value: Value) -> str:
    """Name the type of a reading value (see :data:`VALUE_TYPES`)."""
    kind = type(value)
    if kind is Decimal:
        return "decimal"
    if kind is int:
        return "integer"
    if kind is float:
        return "float"
    if kind is str:
        return "string"
    # Subclasses (IntEnum, str subclasses) take the slow path.
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, bool):
        raise ReadingError("must be a number or a string, not a bool", field="value")
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise ReadingError(
        f"must be Decimal, int, float or str, got {type(value).__name__}", field="value"
    )


def format_decimal(value: Decimal) -> str:
    """Plain notation without exponent (``1E+3`` -> ``1000``), trailing zeros kept."""
    return format(value, "f")


_DECIMAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)\Z")
_INTEGER_RE = re.compile(r"[+-]?\d+\Z")
_FLOAT_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")


def parse_value(value: object, value_type: object, *, line: int | None = None) -> Value:
    """Turn the text (or JSON) form of a value back into a value of ``value_type``."""
    if value_type == "string":
        if not isinstance(value, str):
            raise ReadingError(
                f"value_type 'string' needs a string value, got {shown(value)}",
                field="value",
                line=line,
            )
        return value
    if value_type not in VALUE_TYPES:
        raise ReadingError(
            f"unknown value_type {shown(value_type)}; expected one of {', '.join(VALUE_TYPES)}",
            field="value_type",
            line=line,
        )
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ReadingError(f"not a number: {shown(value)}", field="value", line=line)
    if value_type == "integer":
        if isinstance(value, int):
            return _check_int_size("value", value)
        if isinstance(value, str) and _INTEGER_RE.match(value):
            if len(value) > _MAX_INT_DIGITS:
                raise ReadingError(
                    f"an integer of more than {_MAX_INT_DIGITS} digits", field="value", line=line
                )
            return int(value)
        raise ReadingError(f"not an integer: {shown(value)}", field="value", line=line)
    if value_type == "decimal":
        text = value if isinstance(value, str) else str(value)
        if not _DECIMAL_RE.match(text):
            raise ReadingError(f"not a decimal number: {shown(value)}", field="value", line=line)
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid text
            raise ReadingError(
                f"not a decimal number: {shown(value)}", field="value", line=line
            ) from None
    # float
    if isinstance(value, float):
        result = value
    else:
        text = value if isinstance(value, str) else str(value)
        if not _FLOAT_RE.match(text):
            raise ReadingError(f"not a finite float: {shown(value)}", field="value", line=line)
        result = float(text)
    if not math.isfinite(result):
        raise ReadingError(f"not a finite float: {shown(value)}", field="value", line=line)
    return result


def format_timestamp(ts: datetime) -> str:
    """UTC ISO 8601 with ``Z``: ``2026-11-24T08:15:00Z`` (microseconds only when non-zero)."""
    text = ts.astimezone(_UTC).isoformat()
    return text[:-6] + "Z"


_TIMESTAMP_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})\Z"
)


def parse_timestamp(text: str, *, field: str = "timestamp", line: int | None = None) -> datetime:
    """Parse ISO 8601 with a zone (``Z`` or ``+hh:mm``) into an aware datetime.

    Raises:
        ReadingError: the text is not such a timestamp (naive times are refused).
    """
    match = _TIMESTAMP_RE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ReadingError(
            f"not an ISO 8601 timestamp with zone (e.g. 2026-11-24T08:15:00Z): {shown(text)}",
            field=field,
            line=line,
        )
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zone in ("Z", "z"):
        tz = _UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes >= 24 * 60:
            raise ReadingError(f"zone offset out of range: {shown(text)}", field=field, line=line)
        tz = _UTC if minutes == 0 else timezone(sign * timedelta(minutes=minutes))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
    except ValueError as exc:
        raise ReadingError(
            f"invalid date or time {shown(text)}: {exc}", field=field, line=line
        ) from None
