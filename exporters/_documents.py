"""Telegram documents (``mbus decode --json``, ``wmbus decode --json``) and JSON lines -> readings.

A telegram document is the JSON object those commands print::

    {"frame": "...",
     "header": {"id": "12345678", "manufacturer": "KAM", "version": 1, "medium": "heat",
                "access_number": 42, "status": 0, "signature": 0},
     "records": [{"function": "instantaneous", "storage": 0, "tariff": 0, "subunit": 0,
                  "quantity": "energy", "unit": "Wh", "value": 1234.5,
                  "dif": "04", "vif": "06", "data": "..."}]}

Each record with a quantity and a scalar value becomes one :class:`Reading`:

- ``meter_id`` is the header's ``id`` (an integer id is written as 8 digits);
- ``meter_name`` is the document's ``meter_name`` key, if any;
- the value keeps its exactness: JSON integers stay ``int``, numbers with a fraction
  become :class:`~decimal.Decimal` (from their decimal text, never through binary
  floating point), a ``{"mantissa": m, "exponent": e}`` object becomes
  ``Decimal(m) * 10**e``, strings (dates, manufacturer data) stay strings;
- ``status`` is the header's status (a list of flag names as is, a mapping's true keys, or
  the status byte decoded by EN 13757-3: bits 0-1 application, 2 power low, 3 permanent
  error, 4 temporary error, 5-7 manufacturer specific) followed by the record's own
  ``flags`` (for example ``invalid_date``);
- ``metadata`` keeps the rest of the header (manufacturer, version, medium, access number,
  signature) and the record's coding (``dif``, ``vif``, ``data``, ``coding`` and other
  scalar keys), so a user can always go back to the bytes;
- ``timestamp`` follows one rule, first match wins:

  1. the document's own ``timestamp`` key (ISO 8601 with a zone);
  2. the telegram's own clock: the first record with quantity ``datetime``, storage 0,
     tariff 0, subunit 0 and function ``instantaneous`` (VIF 6D in M-Bus). Meters send
     their local time without a zone; it is read in ``meter_zone`` (default: the zone of
     the machine running the conversion). A clock record without a valid value
     (``invalid_date``) does not count;
  3. the ``timestamp`` argument (a datetime, or a function called for the time, e.g. the
     time the line was read);
  4. else :class:`DocumentError`.

A JSON object with an ``error`` key and no ``records`` is what ``mbus decode --json``
prints for an input line it could not decode (``{"line": 4, "error": "...", ...}``);
it holds no readings and is refused with :class:`DocumentError` (the ``exporters``
command line reports and skips such objects instead).

Records without a quantity or with a value that is not a scalar (unknown or manufacturer
specific data) are skipped and logged at DEBUG level; ``strict=True`` raises instead.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from ._errors import DocumentError, ExportError
from ._json_limits import iter_json_stream
from ._reading import Reading, Value, parse_timestamp
from ._shown import shown

__all__ = [
    "iter_json_values",
    "read_json_readings",
    "readings_from_document",
    "readings_from_json",
]

logger = logging.getLogger(__name__)

# EN 13757-3, status byte of the fixed/variable data header, bits 0-4.
_APPLICATION_STATUS = {1: "application_busy", 2: "application_error", 3: "abnormal_condition"}
_STATUS_BITS = ((2, "power_low"), (3, "permanent_error"), (4, "temporary_error"))
_MANUFACTURER_BITS = ((5, "manufacturer_5"), (6, "manufacturer_6"), (7, "manufacturer_7"))

_HEADER_META = ("manufacturer", "version", "medium", "access_number", "signature")
_RECORD_KEYS = frozenset(
    ("function", "storage", "tariff", "subunit", "quantity", "unit", "value", "flags")
)


def _status_flags(status: Any) -> tuple[str, ...]:
    if status is None:
        return ()
    if isinstance(status, bool):
        raise DocumentError(f"status must be a byte, a list or a mapping, got {status!r}",
                            field="header.status")  # fmt: skip
    if isinstance(status, int):
        if not 0 <= status <= 0xFF:
            raise DocumentError(f"status byte out of range: {status}", field="header.status")
        flags = []
        application = _APPLICATION_STATUS.get(status & 0x03)
        if application:
            flags.append(application)
        flags += [name for bit, name in _STATUS_BITS + _MANUFACTURER_BITS if status >> bit & 1]
        return tuple(flags)
    if isinstance(status, str):
        # wmbusmeters-style documents say "OK" when no flag is set.
        return () if status.strip().upper() in ("", "OK") else tuple(status.split())
    if isinstance(status, Mapping):
        return tuple(str(name) for name, on in status.items() if on is True)
    if isinstance(status, list):
        return tuple(str(flag) for flag in status)
    raise DocumentError(
        f"status must be a byte, a list or a mapping, got {type(status).__name__}",
        field="header.status",
    )


ReadingTime = datetime | Callable[[], datetime]
"""A reading time, or a function giving one when it is needed (e.g. the time of reading)."""

# Python refuses str() of an int of 4301+ digits; metadata keeps no number that long.
_MAX_META_INT_BITS = 13_000


def _meta_text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > _MAX_META_INT_BITS:
        raise DocumentError("an integer of more than 3900 digits", field=field)
    if isinstance(value, (str, int, Decimal, float)):
        return str(value)
    if isinstance(value, list) and all(
        isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 0xFF for item in value
    ):
        return bytes(value).hex()
    try:
        return json.dumps(value, default=str, separators=(",", ":"), sort_keys=True)
    except RecursionError:
        # Only a Python caller can get here: JSON input is refused deeper than 64 levels.
        raise DocumentError("nested too deeply to keep as metadata", field=field) from None
    except (TypeError, ValueError) as exc:
        raise DocumentError(f"cannot be kept as metadata: {exc}", field=field) from None


def _record_value(value: Any, where: str) -> Value | None:
    """The record's value as a reading value, or None when it is not a scalar."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, float):
        # Documents parsed by json.loads give floats; the text was decimal, keep it exact.
        return Decimal(repr(value))
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"mantissa", "exponent"}:
        mantissa, exponent = value["mantissa"], value["exponent"]
        if (
            isinstance(mantissa, (int, str))
            and not isinstance(mantissa, bool)
            and isinstance(exponent, int)
            and not isinstance(exponent, bool)
        ):
            try:
                return Decimal(mantissa).scaleb(exponent)
            except (InvalidOperation, ArithmeticError):
                raise DocumentError(
                    f"bad mantissa {shown(mantissa)}", field=f"{where}.value"
                ) from None
    return None


def _non_negative(record: Mapping[str, Any], key: str, where: str) -> int:
    value = record.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DocumentError(
            f"must be a non-negative integer, got {shown(value)}", field=f"{where}.{key}"
        )
    return value


_MAX_ERROR_TEXT = 500
_NAIVE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?\Z")


def _meter_clock(records: list[Any], meter_zone: tzinfo | None) -> datetime | None:
    """The time of the telegram's own clock record (storage 0), if it has a valid one."""
    for record in records:
        if (
            isinstance(record, Mapping)
            and record.get("quantity") == "datetime"
            and record.get("storage", 0) == 0
            and record.get("tariff", 0) == 0
            and record.get("subunit", 0) == 0
            and record.get("function", "instantaneous") == "instantaneous"
        ):
            value = record.get("value")
            if not isinstance(value, str) or len(value) > 40:
                return None
            match = _NAIVE_TIME.match(value)
            try:
                if match is None:
                    return parse_timestamp(value)  # a clock that states its zone
                year, month, day, hour, minute, second = (int(p or 0) for p in match.groups())
                naive = datetime(year, month, day, hour, minute, second)
                if meter_zone is None:
                    return naive.astimezone()  # the zone of this machine, with its DST
                return naive.replace(tzinfo=meter_zone)
            except (ExportError, ValueError, OverflowError):
                logger.debug("ignoring the clock record %r: not a valid time", value)
                return None
    return None


def _document_time(
    doc: Mapping[str, Any], records: list[Any], timestamp: ReadingTime | None,
    meter_zone: tzinfo | None,
) -> datetime:  # fmt: skip
    stamp = doc.get("timestamp")
    if stamp is not None:
        if isinstance(stamp, datetime):
            return stamp
        if isinstance(stamp, str):
            try:
                return parse_timestamp(stamp)
            except ExportError as exc:
                raise DocumentError(exc.message, field="timestamp") from None
        raise DocumentError(
            f"must be an ISO 8601 string, got {type(stamp).__name__}", field="timestamp"
        )
    clock = _meter_clock(records, meter_zone)
    if clock is not None:
        return clock
    if timestamp is None:
        raise DocumentError(
            "the document has no time of its own ('timestamp' key or clock record) and "
            "no timestamp was given; pass one "
            "(CLI: --timestamp now or --timestamp 2026-11-24T08:00:00Z)",
            field="timestamp",
        )
    return timestamp if isinstance(timestamp, datetime) else timestamp()


def error_document_message(value: Any) -> str | None:
    """The message of an error object (``mbus decode --json`` for a failed line), else None.

    An error object is a JSON object with an ``error`` key and neither ``records`` nor
    ``meter_id``.
    """
    if (
        isinstance(value, Mapping)
        and "error" in value
        and "records" not in value
        and "meter_id" not in value
    ):
        message = value["error"]
        if not isinstance(message, str):
            return shown(message)
        # The message is echoed on stderr: keep one line of sane length.
        message = " ".join(message.split())
        return message if len(message) <= _MAX_ERROR_TEXT else message[:_MAX_ERROR_TEXT] + "..."
    return None


def readings_from_document(
    doc: Mapping[str, Any],
    *,
    timestamp: ReadingTime | None = None,
    strict: bool = False,
    meter_zone: tzinfo | None = None,
) -> list[Reading]:
    """Turn one telegram document into readings (see the module text for the mapping).

    Args:
        doc: the parsed JSON object of ``mbus decode --json`` / ``wmbus decode --json``.
        timestamp: used when the document has no time of its own (no ``timestamp`` key,
            no clock record); an aware datetime, or a function returning one.
        strict: raise instead of skipping records without quantity or scalar value.
        meter_zone: the zone of the meter's clock record (which has none); ``None``
            means the zone of this machine.

    Raises:
        DocumentError: not a telegram document, no timestamp, or a malformed record
            (``field`` names it, e.g. ``records[3].storage``).

    >>> from datetime import datetime, timezone
    >>> doc = {"header": {"id": "12345678", "manufacturer": "KAM", "status": 4},
    ...        "records": [{"quantity": "energy", "unit": "Wh", "value": Decimal("1234.5"),
    ...                     "storage": 0, "tariff": 0, "subunit": 0,
    ...                     "function": "instantaneous", "dif": "04", "vif": "06"}]}
    >>> [r] = readings_from_document(doc, timestamp=datetime(2026, 11, 24, tzinfo=timezone.utc))
    >>> r.meter_id, r.value, r.status, dict(r.metadata)["vif"]
    ('12345678', Decimal('1234.5'), ('power_low',), '06')
    """
    if not isinstance(doc, Mapping):
        raise DocumentError(f"a telegram document is a JSON object, got {type(doc).__name__}")
    header = doc.get("header")
    records = doc.get("records")
    if not isinstance(header, Mapping):
        raise DocumentError("missing or not an object", field="header")
    if not isinstance(records, list):
        raise DocumentError("missing or not a list", field="records")
    when = _document_time(doc, records, timestamp, meter_zone)
    meter = header.get("id")
    if isinstance(meter, int) and not isinstance(meter, bool) and meter >= 0:
        meter_id = f"{meter:08d}"
    elif isinstance(meter, str) and meter:
        meter_id = meter
    else:
        raise DocumentError(f"must be a non-empty string or integer, got {shown(meter)}",
                            field="header.id")  # fmt: skip
    name = doc.get("meter_name")
    status = _status_flags(header.get("status"))
    base_meta: dict[str, str] = {}
    for key in _HEADER_META:
        text = _meta_text(header.get(key), f"header.{key}")
        if text is not None:
            base_meta[key] = text
    readings = []
    for position, record in enumerate(records):
        where = f"records[{position}]"
        if not isinstance(record, Mapping):
            raise DocumentError(f"must be an object, got {type(record).__name__}", field=where)
        quantity = record.get("quantity")
        value = _record_value(record.get("value"), where)
        if not isinstance(quantity, str) or not quantity or value is None:
            if strict:
                raise DocumentError(
                    "has no quantity or no scalar value (unknown or manufacturer data)",
                    field=where,
                )
            logger.debug("skipping %s of meter %s: no quantity or scalar value", where, meter_id)
            continue
        unit = record.get("unit")
        function = record.get("function")
        flags = record.get("flags")
        if flags:
            if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
                raise DocumentError("must be a list of flag names", field=f"{where}.flags")
            record_status = status + tuple(f for f in flags if f not in status)
        else:
            record_status = status
        metadata = dict(base_meta)
        for key, item in record.items():
            if key in _RECORD_KEYS:
                continue
            text = _meta_text(item, f"{where}.{key}")
            if text is not None:
                metadata[str(key)] = text
        try:
            readings.append(
                Reading(
                    meter_id=meter_id,
                    meter_name=name if isinstance(name, str) else None,
                    quantity=quantity,
                    value=value,
                    unit=unit if isinstance(unit, str) else "",
                    timestamp=when,
                    storage=_non_negative(record, "storage", where),
                    tariff=_non_negative(record, "tariff", where),
                    subunit=_non_negative(record, "subunit", where),
                    function=function
                    if isinstance(function, str) and function
                    else "instantaneous",
                    status=record_status,
                    metadata=metadata,
                )
            )
        except DocumentError:
            raise
        except ExportError as exc:
            raise DocumentError(exc.message, field=f"{where}.{exc.field}") from None
    return readings


def readings_from_json(
    value: Any,
    *,
    timestamp: ReadingTime | None = None,
    strict: bool = False,
    meter_zone: tzinfo | None = None,
) -> list[Reading]:
    """Readings from one parsed JSON value: a telegram document (it has ``records``), a
    reading object (it has ``meter_id``, as :meth:`Reading.to_dict` writes), or a list of
    those. ``timestamp`` and ``meter_zone`` are as for :func:`readings_from_document`.

    Raises:
        DocumentError: anything else (an error object of ``mbus decode --json``
            included), or a malformed document or reading.
    """
    if isinstance(value, list):
        out: list[Reading] = []
        for item in value:
            out += readings_from_json(
                item, timestamp=timestamp, strict=strict, meter_zone=meter_zone
            )
        return out
    if isinstance(value, Mapping):
        if "records" in value:
            return readings_from_document(
                value, timestamp=timestamp, strict=strict, meter_zone=meter_zone
            )
        if "meter_id" in value:
            data = dict(value)
            if "timestamp" not in data and timestamp is not None:
                data["timestamp"] = timestamp if isinstance(timestamp, datetime) else timestamp()
            number = data.get("value")
            if isinstance(number, float) and "value_type" not in data:
                data["value"] = Decimal(repr(number))
            try:
                return [Reading.from_dict(data)]
            except ExportError as exc:
                raise DocumentError(exc.message, field=exc.field) from None
        message = error_document_message(value)
        if message is not None:
            raise DocumentError(
                f"an error object, not a document: the line failed upstream: {message}",
                field="error",
            )
    raise DocumentError(
        "expected a telegram document (with 'records'), a reading (with 'meter_id') or a "
        f"list of them, got {type(value).__name__}"
    )


def iter_json_values(stream: IO[Any]) -> Iterator[tuple[int, Any]]:
    """Yield ``(line, value)`` for each JSON value in a text or binary (UTF-8) stream.

    Accepts JSON lines as well as pretty-printed values one after another, in time linear
    in the input. Numbers with a fraction are parsed as :class:`~decimal.Decimal` so that
    no exactness is lost. The limits of :data:`DEFAULT_JSON_LIMITS` apply (a single value
    at most 16 MiB, nested at most 64 deep, integers of at most 4000 digits).

    Raises:
        JsonFormatError: text that is not JSON, not UTF-8, or beyond a limit (``line``
            and ``offset`` say where).
    """
    for line, _offset, value in iter_json_stream(stream):
        yield line, value


def read_json_readings(
    stream: IO[Any],
    *,
    timestamp: ReadingTime | None = None,
    strict: bool = False,
    meter_zone: tzinfo | None = None,
) -> Iterator[Reading]:
    """Readings from a stream of JSON values (telegram documents or readings), lazily.

    ``stream`` is a text stream or a binary one holding UTF-8. ``timestamp`` and
    ``meter_zone`` are as for :func:`readings_from_document`.

    Raises:
        DocumentError: bad JSON or a value that is not a document or reading; ``line``
            gives the line where that value starts.
    """
    for line, value in iter_json_values(stream):
        try:
            yield from readings_from_json(
                value, timestamp=timestamp, strict=strict, meter_zone=meter_zone
            )
        except DocumentError as exc:
            raise DocumentError(exc.message, field=exc.field, line=line) from None
