"""Readings and alarm notifications as XML, with the schema shipped as ``readings.xsd``.

The document (namespace :data:`XML_NAMESPACE`, schema version 1)::

    <?xml version="1.0" encoding="UTF-8"?>
    <export xmlns="urn:meterkit:exporters:1" version="1" created="2026-11-24T09:00:00Z">
      <reading meter_id="12345678" meter_name="Flat 3" quantity="energy" unit="Wh"
               timestamp="2026-11-24T08:15:00Z" storage="0" tariff="0" subunit="0"
               function="instantaneous" status="power_low"><decimal>1234.5</decimal><meta
               key="medium">heat</meta></reading>
      <alarm><field name="alarm_id" type="string">T1-high</field><field name="time"
             type="datetime">2026-11-24T08:16:00Z</field></alarm>
    </export>

- ``<reading>``: the reading's fields as attributes (``meter_name`` and ``status`` only when
  set); the value is one child named after its type: ``<decimal>`` (plain notation, exact),
  ``<integer>``, ``<float>`` (finite, shortest text that reads back to the same double) or
  ``<string>``; then one ``<meta key="...">`` per metadata entry.
- ``<alarm>``: one alarm notification from any source (a mapping, an object with
  ``to_dict()``, a dataclass or a plain object), as ``<field name=".." type="..">`` in
  order. Types: ``string``, ``integer``, ``decimal``, ``float``, ``boolean``, ``datetime``
  (UTC), ``null``, ``json`` (lists and nested objects as JSON text).
- Timestamps are UTC ISO 8601 with ``Z``. Characters that XML 1.0 cannot carry (most C0
  controls) are refused with :class:`XmlFormatError`; CR, LF and tab survive as character
  references.

The writer streams (nothing is kept per reading); the reader is incremental and refuses
DTDs, so entity expansion attacks do not apply. :func:`validate_xml` checks a file against
the shipped XSD with lxml.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from typing import IO, Any, BinaryIO, cast
from xml.parsers import expat

from ._errors import ExportError, SchemaValidationError, XmlFormatError
from ._json_limits import JsonFormatError, JsonLimits, load_json
from ._reading import (
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
    "XML_NAMESPACE",
    "XML_SCHEMA_VERSION",
    "AlarmRecord",
    "XmlWriter",
    "read_xml",
    "validate_xml",
    "write_xml",
    "xml_schema",
]

logger = logging.getLogger(__name__)

XML_NAMESPACE = "urn:meterkit:exporters:1"
"""The namespace of every element of the export schema."""

XML_SCHEMA_VERSION = "1"
"""The value of the root's ``version`` attribute."""

_SCHEMA_FILE = "readings.xsd"

# XML 1.0 Char production: everything else cannot appear in a document, even escaped.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTR_SPECIAL = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_TEXT_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTR_TABLE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;",
     "\r": "&#13;"}
)  # fmt: skip
_TEXT_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_CACHE_LIMIT = 4096


def _check_chars(text: str, name: str) -> None:
    bad = _ILLEGAL.search(text)
    if bad is not None:
        raise XmlFormatError(
            f"character U+{ord(bad.group()):04X} at position {bad.start()} cannot be written "
            "in XML 1.0; remove it or export as CSV",
            field=name,
        )


def _attr(text: str, name: str) -> str:
    if _ATTR_SPECIAL.search(text) is None:
        return text
    _check_chars(text, name)
    return text.translate(_ATTR_TABLE)


def _text(text: str, name: str) -> str:
    if _TEXT_SPECIAL.search(text) is None:
        return text
    _check_chars(text, name)
    return text.translate(_TEXT_TABLE)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRecord:
    """An alarm notification as read back from XML: its fields, in document order.

    Attributes:
        fields: name -> value (``str``, ``int``, :class:`~decimal.Decimal`, ``float``,
            ``bool``, aware ``datetime``, ``None``, or parsed JSON for ``json`` fields).
    """

    fields: Mapping[str, Any] = field(hash=False)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict :func:`json.dumps` accepts (datetimes and Decimals as text)."""
        return {name: _jsonable(value) for name, value in self.fields.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, Decimal):
        return format_decimal(value)
    return value


# The writer puts floats into "json" fields with repr(), so floats read them back exactly.
_JSON_FIELD_LIMITS = JsonLimits(exact_numbers=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.isoformat()
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_decimal(value) if value.is_finite() else str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)


def _alarm_mapping(alarm: object) -> Mapping[str, Any]:
    if isinstance(alarm, Mapping):
        return alarm
    to_dict = getattr(alarm, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, Mapping):
            return result
        raise XmlFormatError(
            f"{type(alarm).__name__}.to_dict() returned {type(result).__name__}, not a mapping",
            field="alarm",
        )
    if dataclasses.is_dataclass(alarm) and not isinstance(alarm, type):
        return {f.name: getattr(alarm, f.name) for f in dataclasses.fields(alarm)}
    try:
        return dict(vars(alarm))
    except TypeError:
        pass
    slots: list[str] = []
    for klass in type(alarm).__mro__:
        names = getattr(klass, "__slots__", ())
        slots.extend([names] if isinstance(names, str) else names)
    if slots:
        return {name: getattr(alarm, name) for name in slots if hasattr(alarm, name)}
    raise XmlFormatError(
        f"cannot read the fields of a {type(alarm).__name__}: pass a mapping, a dataclass "
        "or an object with to_dict()",
        field="alarm",
    )


def _alarm_field(name: str, value: Any) -> tuple[str, str]:
    """(type, text) of one alarm field."""
    if isinstance(value, enum.Enum):
        inner = value.value
        value = inner if isinstance(inner, (str, int, float, Decimal)) else value.name
    if value is None:
        return "null", ""
    if isinstance(value, bool):
        return "boolean", "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() > 13_000:
            raise XmlFormatError("an integer of more than 4000 digits", field=name)
        return "integer", str(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise XmlFormatError(f"a decimal must be finite, got {value}", field=name)
        return "decimal", format_decimal(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "float", "NaN"
        if math.isinf(value):
            return "float", "INF" if value > 0 else "-INF"
        return "float", repr(float(value))
    if isinstance(value, str):
        return "string", str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise XmlFormatError(
                f"a datetime must be timezone-aware, got naive {value.isoformat()}", field=name
            )
        return "datetime", format_timestamp(value)
    if isinstance(value, date):
        return "string", value.isoformat()
    try:
        text = json.dumps(
            value, default=_json_default, ensure_ascii=False, separators=(",", ":"),
            allow_nan=False,
        )  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise XmlFormatError(f"cannot be written as JSON: {exc}", field=name) from None
    return "json", text


class XmlWriter:
    """Stream readings and alarm notifications into an XML export document.

    The XML declaration and the root start tag are written at once, the end tag by
    :meth:`close` (also when a ``with`` block is left by an exception, so that what was
    written stays well-formed). The writer does not close the stream.

    Args:
        stream: a text stream; open files with ``encoding="utf-8"`` (the declaration says
            UTF-8).
        created: when the export was made (written as the root's ``created`` attribute);
            the writer reads no clock.

    >>> import io
    >>> from datetime import datetime, timezone
    >>> out = io.StringIO()
    >>> with XmlWriter(out) as writer:
    ...     writer.write(Reading(meter_id="12345678", quantity="volume", value=Decimal("12.345"),
    ...         unit="m3", timestamp=datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)))
    >>> print(out.getvalue().splitlines()[2])  # doctest: +NORMALIZE_WHITESPACE
      <reading meter_id="12345678" quantity="volume" unit="m3"
       timestamp="2026-11-24T08:00:00Z" storage="0" tariff="0" subunit="0"
       function="instantaneous"><decimal>12.345</decimal></reading>
    """

    def __init__(self, stream: TextSink, *, created: datetime | None = None) -> None:
        self._stream = stream
        self._write = stream.write
        self._closed = False
        self._cache: dict[str, str] = {}
        self._last_ts: datetime | None = None
        self._last_ts_text = ""
        self.count = 0
        """Readings and alarms written so far."""
        root = f'<export xmlns="{XML_NAMESPACE}" version="{XML_SCHEMA_VERSION}"'
        if created is not None:
            if created.tzinfo is None or created.utcoffset() is None:
                raise XmlFormatError("must be timezone-aware", field="created")
            root += f' created="{format_timestamp(created)}"'
        self._write('<?xml version="1.0" encoding="UTF-8"?>\n' + root + ">\n")

    def __enter__(self) -> XmlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write the end tag and flush; later calls do nothing."""
        if not self._closed:
            self._closed = True
            self._write("</export>\n")
            self._stream.flush()

    def _check_open(self) -> None:
        if self._closed:
            raise XmlFormatError("the writer is closed; its document already ended")

    def _cached_attr(self, text: str, name: str) -> str:
        # Meter ids, quantities and units repeat: escape each distinct string once.
        cache = self._cache
        escaped = cache.get(text)
        if escaped is None:
            escaped = _attr(text, name)
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[text] = escaped
        return escaped

    def write(self, reading: ReadingLike | Reading) -> None:
        """Write one ``<reading>`` element.

        Raises:
            ReadingError: ``reading`` is not a valid reading.
            XmlFormatError: a text holds a character XML 1.0 cannot carry (nothing is
                written then).
        """
        if self._closed:
            self._check_open()
        r = as_reading(reading)
        cached = self._cached_attr
        ts = r.timestamp
        if ts is not self._last_ts:
            self._last_ts_text = format_timestamp(ts)
            self._last_ts = ts
        parts = [
            '  <reading meter_id="',
            cached(r.meter_id, "meter_id"),
        ]
        if r.meter_name is not None:
            parts += ['" meter_name="', cached(r.meter_name, "meter_name")]
        parts += [
            '" quantity="',
            cached(r.quantity, "quantity"),
            '" unit="',
            cached(r.unit, "unit"),
            '" timestamp="',
            self._last_ts_text,
            '" storage="',
            str(r.storage),
            '" tariff="',
            str(r.tariff),
            '" subunit="',
            str(r.subunit),
            '" function="',
            cached(r.function, "function"),
        ]
        if r.status:
            parts += ['" status="', cached(" ".join(r.status), "status")]
        parts.append('">')
        parts.append(_value_element(r.value))
        if r.metadata:
            for key, item in r.metadata.items():
                parts += [
                    '<meta key="',
                    cached(key, "metadata"),
                    '">',
                    _text(item, "metadata"),
                    "</meta>",
                ]
        parts.append("</reading>\n")
        self._write("".join(parts))
        self.count += 1

    def write_many(self, readings: Iterable[ReadingLike | Reading]) -> int:
        """Write every reading of an iterable (consumed lazily); return how many."""
        before = self.count
        write = self.write
        for reading in readings:
            write(reading)
        return self.count - before

    def write_alarm(self, alarm: object) -> None:
        """Write one alarm notification as an ``<alarm>`` element.

        ``alarm`` is a mapping, an object with ``to_dict()``, a dataclass or a plain
        object; its fields are written in order (see the module text for the types).

        Raises:
            XmlFormatError: a field name is not a non-empty string, a value cannot be
                written (naive datetime, non-finite Decimal, unserialisable nested value),
                or a text holds a character XML 1.0 cannot carry.
        """
        self._check_open()
        parts = ["  <alarm>"]
        for name, value in _alarm_mapping(alarm).items():
            if not isinstance(name, str) or not name:
                raise XmlFormatError(
                    f"alarm field names must be non-empty strings, got {shown(name)}", field="alarm"
                )
            kind, text = _alarm_field(name, value)
            parts += [
                '<field name="',
                _attr(name, "alarm"),
                '" type="',
                kind,
                '">',
                _text(text, name),
                "</field>",
            ]
        parts.append("</alarm>\n")
        self._write("".join(parts))
        self.count += 1


def _value_element(value: Value) -> str:
    kind = type(value)
    if kind is Decimal:
        return "<decimal>" + format_decimal(cast(Decimal, value)) + "</decimal>"
    if kind is int:
        return "<integer>" + str(value) + "</integer>"
    if kind is float:
        return "<float>" + repr(value) + "</float>"
    if kind is str:
        return "<string>" + _text(cast(str, value), "value") + "</string>"
    # Subclasses of the value types (IntEnum, str subclasses) go through their base type.
    if isinstance(value, Decimal):
        return _value_element(Decimal(value))
    if isinstance(value, int):
        return _value_element(int(value))
    if isinstance(value, float):
        return _value_element(float(value))
    return _value_element(str(value))


def write_xml(
    readings: Iterable[ReadingLike | Reading],
    stream: TextSink,
    *,
    alarms: Iterable[object] = (),
    created: datetime | None = None,
) -> int:
    """Write a whole export document: the readings, then the alarms; return how many items."""
    with XmlWriter(stream, created=created) as writer:
        writer.write_many(readings)
        for alarm in alarms:
            writer.write_alarm(alarm)
    return writer.count


# --- reader ---------------------------------------------------------------------------------

_NS = XML_NAMESPACE + " "
_VALUE_TYPES = {"decimal", "integer", "float", "string"}
_READING_ATTRIBUTES = frozenset(
    (
        "meter_id",
        "meter_name",
        "quantity",
        "unit",
        "timestamp",
        "storage",
        "tariff",
        "subunit",
        "function",
        "status",
    )
)
_FIELD_TYPES = frozenset(
    ("string", "integer", "decimal", "float", "boolean", "datetime", "null", "json")
)
_MAX_TEXT = 1 << 20
_CHUNK = 1 << 16


class _Reader:
    """expat handlers that turn export elements into readings and alarm records."""

    def __init__(self) -> None:
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.buffer_text = True
        self.parser.ordered_attributes = False
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.data
        self.parser.StartDoctypeDeclHandler = self.doctype
        self.parser.EntityDeclHandler = self.entity
        self.ready: list[Reading | AlarmRecord] = []
        self.depth = 0
        self.seen_root = False
        self.item: str | None = None
        self.attrs: dict[str, str] = {}
        self.value: tuple[str, str] | None = None
        self.meta: dict[str, str] = {}
        self.fields: dict[str, Any] = {}
        self.child: str | None = None
        self.child_attrs: dict[str, str] = {}
        self.text: list[str] = []
        self.text_size = 0

    def fail(self, message: str, *, field: str | None = None) -> XmlFormatError:
        return XmlFormatError(message, field=field, line=self.parser.CurrentLineNumber)

    def doctype(self, *args: object) -> None:
        raise self.fail("document type declarations are not allowed in an export document")

    def entity(self, *args: object) -> None:
        raise self.fail("entity declarations are not allowed in an export document")

    def local(self, name: str) -> str:
        if not name.startswith(_NS):
            raise self.fail(f"element {name.split(' ')[-1]!r} is not in namespace {XML_NAMESPACE}")
        return name[len(_NS) :]

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = self.local(name)
        depth = self.depth
        self.depth += 1
        if depth == 0:
            if tag != "export":
                raise self.fail(f"the root element must be <export>, got <{tag}>")
            version = attrs.get("version")
            if version != XML_SCHEMA_VERSION:
                raise self.fail(
                    f"unsupported export version {shown(version)}; this reader reads version "
                    f"{XML_SCHEMA_VERSION}",
                    field="version",
                )
            self.seen_root = True
        elif depth == 1:
            if tag not in ("reading", "alarm"):
                raise self.fail(f"unexpected element <{tag}> in <export>")
            self.item = tag
            self.attrs = attrs
            self.value = None
            self.meta = {}
            self.fields = {}
        elif depth == 2:
            self.child = tag
            self.child_attrs = attrs
            self.text = []
            self.text_size = 0
            if self.item == "reading":
                if tag in _VALUE_TYPES:
                    if self.value is not None or self.meta:
                        raise self.fail(f"<{tag}>: a reading has exactly one value, first")
                elif tag != "meta":
                    raise self.fail(f"unexpected element <{tag}> in <reading>")
            elif tag != "field":
                raise self.fail(f"unexpected element <{tag}> in <alarm>")
        else:
            raise self.fail(f"unexpected element <{tag}> nested too deep")

    def data(self, text: str) -> None:
        if self.depth == 3:
            self.text_size += len(text)
            if self.text_size > _MAX_TEXT:
                raise self.fail(f"text longer than {_MAX_TEXT} characters")
            self.text.append(text)
        elif text.strip():
            raise self.fail(f"unexpected text {text.strip()[:40]!r}")

    def end(self, name: str) -> None:
        self.depth -= 1
        depth = self.depth
        if depth == 2:
            self.end_child()
        elif depth == 1:
            if self.item == "reading":
                self.ready.append(self.build_reading())
            else:
                self.ready.append(AlarmRecord(fields=self.fields))
            self.item = None

    def end_child(self) -> None:
        tag = self.child
        text = "".join(self.text)
        if self.item == "reading":
            if tag == "meta":
                key = self.child_attrs.get("key")
                if not key:
                    raise self.fail("<meta> needs a non-empty key attribute", field="metadata")
                if key in self.meta:
                    raise self.fail(f"metadata key {shown(key)} appears twice", field="metadata")
                self.meta[key] = text
            else:
                self.value = (cast(str, tag), text)
            return
        name = self.child_attrs.get("name")
        kind = self.child_attrs.get("type")
        if not name:
            raise self.fail("<field> needs a non-empty name attribute", field="alarm")
        if name in self.fields:
            raise self.fail(f"alarm field {shown(name)} appears twice", field=name)
        if kind not in _FIELD_TYPES:
            raise self.fail(f"unknown alarm field type {shown(kind)}", field=name)
        self.fields[name] = self.field_value(name, kind, text)

    def field_value(self, name: str, kind: str, text: str) -> Any:
        if kind == "string":
            return text
        if kind == "null":
            return None
        if kind == "boolean":
            if text in ("true", "1"):
                return True
            if text in ("false", "0"):
                return False
            raise self.fail(f"not a boolean: {shown(text)}", field=name)
        if kind == "datetime":
            try:
                return parse_timestamp(text, field=name, line=self.parser.CurrentLineNumber)
            except ExportError as exc:
                raise self.fail(exc.message, field=name) from None
        if kind == "json":
            try:
                return load_json(text, limits=_JSON_FIELD_LIMITS, field=name)
            except JsonFormatError as exc:
                raise self.fail(f"not JSON: {exc}", field=name) from None
        if kind == "float":
            special = {"INF": math.inf, "-INF": -math.inf, "NaN": math.nan}
            if text in special:
                return special[text]
        try:
            return parse_value(text.strip(), kind)
        except ExportError as exc:
            raise self.fail(exc.message, field=name) from None

    def build_reading(self) -> Reading:
        attrs = self.attrs
        unknown = set(attrs) - _READING_ATTRIBUTES
        if unknown:
            raise self.fail(
                f"unknown attribute(s) {', '.join(sorted(unknown))} on <reading>",
                field=sorted(unknown)[0],
            )
        if self.value is None:
            raise self.fail("a reading needs a value element (<decimal>, <integer>, ...)")
        line = self.parser.CurrentLineNumber
        try:
            for required in ("meter_id", "quantity", "unit", "timestamp"):
                if required not in attrs:
                    raise XmlFormatError("attribute is required", field=required, line=line)
            kind, text = self.value
            value = text if kind == "string" else parse_value(text.strip(), kind, line=line)
            status = attrs.get("status", "").split()
            return Reading(
                meter_id=attrs["meter_id"],
                meter_name=attrs.get("meter_name"),
                quantity=attrs["quantity"],
                value=value,
                unit=attrs["unit"],
                timestamp=parse_timestamp(attrs["timestamp"], line=line),
                storage=_attr_int(attrs, "storage", line),
                tariff=_attr_int(attrs, "tariff", line),
                subunit=_attr_int(attrs, "subunit", line),
                function=attrs.get("function", "instantaneous"),
                status=tuple(status),
                metadata=self.meta,
            )
        except XmlFormatError:
            raise
        except ExportError as exc:
            raise XmlFormatError(exc.message, field=exc.field, line=line) from None


def _attr_int(attrs: Mapping[str, str], name: str, line: int) -> int:
    text = attrs.get(name, "0").strip()
    if not text.isdigit() or not text.isascii() or len(text) > 4000:
        raise XmlFormatError(
            f"must be a non-negative integer, got {text[:40]!r}", field=name, line=line
        )
    return int(text)


def read_xml(source: IO[str] | IO[bytes]) -> Iterator[Reading | AlarmRecord]:
    """Read readings and alarm records back from an export document, in document order.

    ``source`` is a binary or text file object; it is read in chunks, so memory stays
    bounded however long the document is. Readings come back as :class:`Reading`, alarms
    as :class:`AlarmRecord`. The reader checks the structure it relies on; use
    :func:`validate_xml` for a full check against the schema.

    Raises:
        XmlFormatError: not well-formed, not an export document, or a bad value (``line``
            says where).
    """
    reader = _Reader()
    parser = reader.parser
    line = 1  # line of the chunk's start, for faults expat cannot place
    while True:
        try:
            chunk = source.read(_CHUNK)
        except UnicodeDecodeError as exc:
            # A text stream that cannot decode its bytes; binary streams go to expat as is.
            raise XmlFormatError(
                f"the stream cannot decode its bytes as {exc.encoding}: {exc.reason}",
                line=parser.CurrentLineNumber,
            ) from None
        final = not chunk
        try:
            parser.Parse(chunk, final)
        except expat.ExpatError as exc:
            raise XmlFormatError(
                f"not well-formed XML: {expat.ErrorString(exc.code)} at column {exc.offset}",
                line=exc.lineno,
            ) from None
        except LookupError as exc:
            # expat asks Python for the codec the declaration names: "UTV-8".
            raise XmlFormatError(
                f"the XML declaration names an encoding Python does not know: {exc}",
                field="encoding",
                line=parser.CurrentLineNumber,
            ) from None
        except UnicodeEncodeError as exc:
            # Text chunks go to expat as UTF-8; a lone surrogate cannot.
            position = exc.start
            raise XmlFormatError(
                f"not text: {exc.reason}",
                line=line + (chunk.count("\n", 0, position) if isinstance(chunk, str) else 0),
            ) from None
        if isinstance(chunk, str):
            line += chunk.count("\n")
        if reader.ready:
            yield from reader.ready
            reader.ready.clear()
        if final:
            break
    if not reader.seen_root:  # pragma: no cover - expat reports "no element found" first
        raise XmlFormatError("no <export> element found")


# --- schema -----------------------------------------------------------------------------


def xml_schema() -> bytes:
    """The shipped XSD (``exporters/readings.xsd``) as bytes."""
    return resources.files("exporters").joinpath(_SCHEMA_FILE).read_bytes()


_schema_cache: list[Any] = []


def _load_schema() -> Any:
    try:
        from lxml import etree
    except ImportError:  # pragma: no cover - lxml is a test dependency
        raise ExportError(
            "validating against the XSD needs lxml, which is not installed: "
            "pip install 'meterkit[xml]'"
        ) from None
    if not _schema_cache:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        _schema_cache.append(etree.XMLSchema(etree.fromstring(xml_schema(), parser)))
    return _schema_cache[0]


def validate_xml(source: str | os.PathLike[str] | BinaryIO) -> None:
    """Check an export document (a path or a binary file) against the shipped XSD.

    Needs lxml. The document is parsed incrementally (memory stays bounded); the first
    violations are reported.

    Raises:
        SchemaValidationError: the document is not well-formed or breaks the schema; its
            ``errors`` list the violations as ``"LINE:COLUMN: message"``.
        ExportError: lxml is not installed.
    """
    schema = _load_schema()  # first: it raises the typed error when lxml is missing
    from lxml import etree

    path: Any = os.fspath(source) if isinstance(source, (str, os.PathLike)) else source
    etree.clear_error_log()
    try:
        context = etree.iterparse(
            path,
            events=("end",),
            schema=schema,
            # Not resolve_entities=False: with a schema, lxml then lets a truncated file
            # pass. Without DTD loading and network, libxml2 bounds entity expansion.
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        )
        for _event, element in context:
            # Free what was checked so that memory stays bounded on long files.
            element.clear(keep_tail=True)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        log: Any = exc.error_log
        errors = tuple(_describe(entry) for entry in log) or (str(exc),)
        if isinstance(path, str):
            # Streaming validation reports few positions; a whole-tree pass over a file of
            # bounded size finds them, and every violation instead of the first.
            errors = _detailed_errors(path, schema) or errors
        first_line = errors[0].split(":", 1)[0]
        raise SchemaValidationError(
            f"not a valid export document: {errors[0]}",
            errors=errors,
            line=int(first_line) if first_line.isdigit() and first_line != "0" else None,
        ) from None
    except OSError as exc:
        raise ExportError(f"cannot read {source!r}: {exc}") from None


_DETAIL_LIMIT = 64 << 20


def _describe(entry: Any) -> str:
    return f"{entry.line}:{entry.column}: {entry.message}"


def _detailed_errors(path: str, schema: Any) -> tuple[str, ...]:
    from lxml import etree

    try:
        if os.path.getsize(path) > _DETAIL_LIMIT:
            return ()
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        tree = etree.parse(path, parser)
    except OSError:
        return ()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        return (f"{line}:{column}: {exc.msg}",)
    if schema.validate(tree):  # pragma: no cover - the streaming pass already failed
        return ()
    return tuple(_describe(entry) for entry in schema.error_log)
