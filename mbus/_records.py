"""Data records of the M-Bus application layer (EN 13757-3:2018 clause 6).

A record is a data information block (DIF, up to 10 DIFE), a value information
block (VIF, up to 10 VIFE, or a plain-text unit) and the data. Everything that the
header bytes say is worked out once per distinct header and kept in a
:class:`RecordShape`; a :class:`Record` is a shape plus its data bytes. Real
telegrams repeat the same few headers, so decoding mostly costs a dictionary
lookup and the value conversion.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from . import _codings as codings
from ._date_text import time_json, type_f_text, type_g_text
from ._errors import EncodeError, RecordError, UnsupportedError
from ._record_dicts import (
    DictMaker,
    JsonDecoder,
    JsonValue,
    general_maker,
    hex_maker,
    number_maker,
    pow10,
    scaled_json,
    text_maker,
)
from ._record_values import ValueReader, number_value_reader
from ._vif import (
    COMBINABLE,
    COMBINABLE_EXTENSION,
    EXTENSION_FB,
    EXTENSION_FD,
    OBJECT_ACTIONS,
    PRIMARY,
    RECORD_ERRORS,
    VifInfo,
)

__all__ = [
    "FUNCTIONS",
    "MAX_DIFE",
    "MAX_VIFE",
    "PendingRecords",
    "Record",
    "RecordShape",
    "Value",
    "build_record",
    "decode_records",
    "encode_records",
    "lvar_length",
    "made_records",
    "records_to_dicts",
    "scan_records",
]

MAX_DIFE = 10  # EN 13757-3:2018 6.3.1
MAX_VIFE = 10  # EN 13757-3:2018 6.4.1
_CACHE_LIMIT = 4096

Value = int | Decimal | float | str | bytes | dt.datetime | dt.date | dt.time | None
# Decodes the data bytes of one record to (Python value, JSON value, flags).
Decoder = Callable[[bytes], tuple[Value, JsonValue, tuple[str, ...]]]
NO_FLAGS: tuple[str, ...] = ()

# DIF function field, EN 13757-3:2018 6.3.2 Table 3.
FUNCTIONS = ("instantaneous", "maximum", "minimum", "error")

# DIF data field, EN 13757-3:2018 6.3.3 Table 4: (name, length in bytes; None = LVAR).
_CODINGS: dict[int, tuple[str, int | None]] = {
    0x0: ("none", 0), 0x1: ("int8", 1), 0x2: ("int16", 2), 0x3: ("int24", 3),
    0x4: ("int32", 4), 0x5: ("real32", 4), 0x6: ("int48", 6), 0x7: ("int64", 8),
    0x8: ("selection", 0), 0x9: ("bcd2", 1), 0xA: ("bcd4", 2), 0xB: ("bcd6", 3),
    0xC: ("bcd8", 4), 0xD: ("lvar", None), 0xE: ("bcd12", 6),
}
_CODING_NIBBLE = {name: nibble for nibble, (name, _) in _CODINGS.items()}


def _unset_maker(raw: bytes) -> dict[str, Any]:  # the default, a sentinel
    raise AssertionError("RecordShape.__post_init__ replaces this")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordShape:
    """Everything the DIF/DIFE/VIF/VIFE bytes of a record say, decoded once.

    Attributes:
        header: the DIF, DIFE, VIF, VIFE bytes (and a plain-text unit) as on the wire.
        dib_length: how many of them are DIF and DIFE.
        coding: data field coding (``int32``, ``bcd8``, ``real32``, ``lvar``, ...).
        length: data length in bytes; None for LVAR (the first data byte tells).
        function: instantaneous, maximum, minimum, error, manufacturer_specific,
            more_records_follow (or global_readout in a master's request).
        quantity, unit: what is measured, in a normalised unit.
        exponent, factor: ``value = raw * factor * 10**exponent``.
        offset_exponent: an additive correction of ``10**offset_exponent`` units, if any.
        kind: number, time_point, identifier, flags, text, container, manufacturer, unknown.
        extensions: names of the combinable VIFEs (``per_h``, ``phase_L1``, ...).
        record_error: the record error code a slave reported in a VIFE, if any.
        action: the object action a master asked for in a VIFE, if any.
        flags: what the decoder did not understand (``unknown_vif``, ...).
    """

    header: bytes
    dib_length: int
    coding: str
    length: int | None
    function: str
    storage: int
    tariff: int
    subunit: int
    quantity: str
    unit: str
    exponent: int = 0
    factor: int = 1
    offset_exponent: int | None = None
    kind: str = "number"
    extensions: tuple[str, ...] = ()
    record_error: str | None = None
    action: str | None = None
    flags: tuple[str, ...] = ()
    msb_first: bool = False
    decoder: Decoder = field(repr=False, compare=False, hash=False,
                             default=lambda raw: (None, None, ()))
    template: dict[str, Any] = field(repr=False, compare=False, hash=False, default_factory=dict)
    to_json: JsonDecoder = field(repr=False, compare=False, hash=False,
                                 default=lambda raw: (None, ()))
    make_dict: DictMaker = field(repr=False, compare=False, hash=False,
                                 default=_unset_maker)
    value_of: ValueReader = field(repr=False, compare=False, hash=False, default=_unset_maker)

    def __post_init__(self) -> None:
        if self.make_dict is _unset_maker:  # made from the template and the JSON decoder
            object.__setattr__(self, "make_dict", general_maker(self.template, self.to_json))
        if self.value_of is _unset_maker:  # the first of what the decoder gives
            object.__setattr__(self, "value_of", _first_of(self.decoder))

    @property
    def dif(self) -> int:
        """The DIF byte."""
        return self.header[0]

    @property
    def difes(self) -> bytes:
        """The DIFE bytes."""
        return self.header[1:self.dib_length]

    @property
    def vib(self) -> bytes:
        """The VIF and VIFE bytes (with a plain-text unit where there is one)."""
        return self.header[self.dib_length:]


class Record(NamedTuple):
    """One data record: its shape (what the header says) and its data bytes.

    ``data`` holds the value bytes as on the wire (for LVAR, the length byte
    too), so ``shape.header + data`` gives the record's bytes back. A record is
    an immutable pair; it is a named tuple rather than a frozen dataclass because
    telegrams create many of them and a tuple is built three times faster.
    """

    shape: RecordShape
    data: bytes

    @property
    def function(self) -> str:
        """instantaneous, maximum, minimum, error, manufacturer_specific or more_records_follow."""
        return self.shape.function

    @property
    def storage(self) -> int:
        """Storage number (0 = actual value)."""
        return self.shape.storage

    @property
    def tariff(self) -> int:
        """Tariff number."""
        return self.shape.tariff

    @property
    def subunit(self) -> int:
        """Subunit (device unit) number."""
        return self.shape.subunit

    @property
    def quantity(self) -> str:
        """What is measured (``energy``, ``volume``, ``flow_temperature``, ...)."""
        return self.shape.quantity

    @property
    def unit(self) -> str:
        """Normalised unit (``Wh``, ``m3``, ``degC``, ``s``, ...; empty if none)."""
        return self.shape.unit

    @property
    def value(self) -> Value:
        """The value, exact: int or Decimal for integer and BCD data, float only for REAL32."""
        value: Value = self.shape.value_of(self.data)
        return value

    @property
    def flags(self) -> tuple[str, ...]:
        """What is odd about this record (``time_invalid``, ``invalid_bcd``, ``unknown_vif``...)."""
        return self.shape.flags + self.shape.decoder(self.data)[2]

    def encode(self) -> bytes:
        """The record's bytes."""
        return self.shape.header + self.data

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (see the ``mbus decode --json`` format)."""
        return self.shape.make_dict(self.data)


def records_to_dicts(records: Iterable[tuple[RecordShape, bytes]]) -> list[dict[str, Any]]:
    """The JSON-able forms of records (``Record.to_dict`` of each, in one loop)."""
    return [shape.make_dict(data) for shape, data in records]


# --- value decoders --------------------------------------------------------------------------

def _scaled_python(mantissa: int, exponent: int) -> int | Decimal:
    return mantissa * pow10(exponent) if exponent >= 0 else Decimal(mantissa).scaleb(exponent)


Reader = Callable[[bytes], tuple[int | str, tuple[str, ...]]]


def _number_decoder(shape_args: dict[str, Any], read: Reader) -> Decoder:
    factor: int = shape_args["factor"]
    exponent: int = shape_args["exponent"]
    offset_exp: int | None = shape_args["offset_exponent"]

    def decode(raw: bytes) -> tuple[Value, JsonValue, tuple[str, ...]]:
        number, flags = read(raw)
        if isinstance(number, str):
            return number, number, flags
        mantissa, exp = number * factor, exponent
        if offset_exp is not None:
            exp = min(exponent, offset_exp)
            mantissa = mantissa * pow10(exponent - exp) + pow10(offset_exp - exp)
        return _scaled_python(mantissa, exp), scaled_json(mantissa, exp), flags

    return decode


def _json_via(decoder: Decoder) -> JsonDecoder:
    def to_json(raw: bytes) -> tuple[JsonValue, tuple[str, ...]]:
        _, value, flags = decoder(raw)
        return value, flags

    return to_json


def _real_decoder(exponent: int, offset_exp: int | None) -> Decoder:
    def decode(raw: bytes) -> tuple[Value, JsonValue, tuple[str, ...]]:
        value = codings.decode_real32(raw)
        if not math.isfinite(value):
            return value, str(value), ("not_finite",)
        value = value * 10**exponent if exponent >= 0 else value / 10**-exponent
        if offset_exp is not None:
            value += 10.0**offset_exp
        return value, value, ()

    return decode


def _signed(raw: bytes) -> tuple[int, tuple[str, ...]]:
    return int.from_bytes(raw, "little", signed=True), ()


def _unsigned(raw: bytes) -> tuple[int, tuple[str, ...]]:
    return int.from_bytes(raw, "little"), ()


def _msb(read: Reader) -> Reader:
    return lambda raw: read(raw[::-1])


def _plain(
    read: Callable[[bytes], tuple[Any, tuple[str, ...]]], to_json: Callable[[Any], JsonValue]
) -> Decoder:
    def decode(raw: bytes) -> tuple[Value, JsonValue, tuple[str, ...]]:
        value, flags = read(raw)
        return value, (None if value is None else to_json(value)), flags

    return decode


def _iso(value: dt.date | dt.time) -> str:
    return value.isoformat()


def _hex(raw: bytes) -> tuple[bytes, tuple[str, ...]]:
    return bytes(raw), ()


def _hex_json(value: bytes) -> str:
    return value.hex()


# Data shown as hex (text, containers, manufacturer data, unsupported codings).
_HEX = _plain(_hex, _hex_json)


def _hex_to_json(raw: bytes) -> tuple[JsonValue, tuple[str, ...]]:
    """``_json_via(_HEX)`` in one call."""
    return raw.hex(), NO_FLAGS


def _none(raw: bytes) -> tuple[Value, JsonValue, tuple[str, ...]]:
    return None, None, ()


def _negative_bcd(raw: bytes) -> tuple[int | str, tuple[str, ...]]:
    value, flags = codings.decode_bcd(raw)
    return (-value if isinstance(value, int) else value), flags


def _lvar_decoder(kind: str, args: dict[str, Any]) -> Decoder:
    """LVAR data, EN 13757-3:2018 6.3.3 Table 5; ``raw`` starts with the LVAR byte."""
    positive_bcd = _number_decoder(args, codings.decode_bcd)
    negative_bcd = _number_decoder(args, _negative_bcd)
    binary = _number_decoder(args, _signed)

    def decode(raw: bytes) -> tuple[Value, JsonValue, tuple[str, ...]]:
        lvar, body = raw[0], raw[1:]
        if lvar < 0xC0:
            if kind in ("container", "manufacturer"):
                return bytes(body), body.hex(), ()
            text = body[::-1].decode("latin-1")  # characters are sent last one first
            return text, text, ()
        if not body:
            return 0, 0, ()
        if lvar < 0xD0:  # 0xC0-0xC9: positive BCD of (LVAR - C0h) bytes
            return positive_bcd(body)
        if lvar < 0xE0:  # 0xD0-0xD9: negative BCD
            return negative_bcd(body)
        if lvar < 0xF0:  # 0xE0-0xEF: binary number
            return binary(body)
        return bytes(body), body.hex(), ("binary",)

    return decode


def lvar_length(lvar: int) -> int | None:
    """Data bytes that follow an LVAR byte; None for the reserved values 0xF7-0xFF."""
    if lvar < 0xC0:
        return lvar
    if lvar < 0xCA:
        return lvar - 0xC0  # (LVAR - C0h) * 2 digits = LVAR - C0h bytes
    if 0xD0 <= lvar < 0xDA:
        return lvar - 0xD0
    if 0xE0 <= lvar < 0xF0:
        return lvar - 0xE0
    if 0xF0 <= lvar < 0xF5:
        return 4 * (lvar - 0xEC)
    if lvar == 0xF5:
        return 48
    if lvar == 0xF6:
        return 64
    return None


# ISO text of plain type F and G values (4 and 2 bytes) by table lookup.
_TIME_TEXT = {4: type_f_text, 2: type_g_text}
# Date/time codings of integer data by length, EN 13757-3:2018 Annex A types G, J, F, I.
_TIME_READERS: dict[int, Callable[[bytes], tuple[Any, tuple[str, ...]]]] = {
    2: codings.decode_type_g, 3: codings.decode_type_j, 4: codings.decode_type_f,
    6: codings.decode_type_i,
}


def _make_decoder(coding: str, length: int | None, kind: str, args: dict[str, Any],
                  quantity: str) -> tuple[Decoder, tuple[str, ...]]:
    """Choose how to read the data of a record; returns the decoder and static flags."""
    msb_first: bool = args["msb_first"]
    if coding in ("none", "selection"):
        return _none, ()
    if kind == "time_point" and coding.startswith("int"):
        if quantity == "daylight_saving":
            return _HEX, ("not supported yet: type K daylight saving fields",)
        reader = _TIME_READERS.get(length or 0)
        if reader is not None:
            return _plain(reader, _iso), ()
        return _HEX, ("unexpected_time_coding",)
    if coding == "real32":
        return _real_decoder(args["exponent"], args["offset_exponent"]), ()
    if coding == "lvar":
        if kind == "time_point":
            return _HEX, ("not supported yet: type M date and time",)
        return _lvar_decoder(kind, args), ()
    if kind in ("text", "container"):
        return _HEX, ()
    read: Reader
    if coding.startswith("bcd"):
        read = codings.decode_bcd
    elif kind in ("identifier", "flags"):
        read = _unsigned  # Table 12 remark k: binary identifiers are unsigned (type C)
    else:
        read = _signed  # type B
    if msb_first:
        read = _msb(read)
    return _number_decoder(args, read), ()


# --- header interpretation ------------------------------------------------------------------

_MANUFACTURER_VIF = VifInfo(quantity="manufacturer_specific", unit="", kind="manufacturer")
_UNKNOWN_VIF = VifInfo(quantity="unknown", unit="", kind="unknown")
_ANY_VIF = VifInfo(quantity="any", unit="", kind="unknown")


def _build_shape(header: bytes, dib_length: int, text_end: int, from_master: bool,
                 msb_first: bool) -> RecordShape:
    """Interpret the header bytes of one record (already split and bounds-checked)."""
    dif = header[0]
    coding, length = _CODINGS[dif & 0x0F]
    storage = (dif >> 6) & 1
    tariff = subunit = 0
    for index, dife in enumerate(header[1:dib_length]):
        storage |= (dife & 0x0F) << (1 + 4 * index)
        tariff |= ((dife >> 4) & 0x03) << (2 * index)
        subunit |= ((dife >> 6) & 0x01) << index
    function = FUNCTIONS[(dif >> 4) & 0x03]

    vif = header[dib_length]
    vifes = header[text_end:]
    flags: list[str] = []
    extensions: list[str] = []
    record_error = action = None
    code = vif & 0x7F
    info: VifInfo
    plain_unit = ""
    if code == 0x7C:  # plain-text VIF: the unit is the text (sent last character first)
        plain_unit = header[dib_length + 2:text_end][::-1].decode("latin-1")
        info = VifInfo(quantity="custom", unit=plain_unit)
    elif code == 0x7F:
        info = _MANUFACTURER_VIF
    elif code == 0x7E:
        info = _ANY_VIF
    elif code in (0x7B, 0x7D):
        table = EXTENSION_FB if code == 0x7B else EXTENSION_FD
        if not vifes:
            info = _UNKNOWN_VIF
            flags.append("missing_extension_vife")
        else:
            found = table.get(vifes[0] & 0x7F)
            if found is None:
                info = _UNKNOWN_VIF
                flags.append("unknown_vif")
            else:
                info = found
            vifes = vifes[1:]
    elif code in PRIMARY:
        info = PRIMARY[code]
    else:
        info = _UNKNOWN_VIF
        flags.append("unknown_vif")

    exponent, factor, unit = info.exponent, info.factor, info.unit
    offset_exponent: int | None = None
    manufacturer_vifes = info.kind == "manufacturer"
    extension_next = False
    for byte in vifes:
        vife = byte & 0x7F
        if manufacturer_vifes:
            extensions.append(f"manufacturer_vife_0x{vife:02x}")
            continue
        if extension_next:
            extension_next = False
            found_ext = COMBINABLE_EXTENSION.get(vife)
            extensions.append(found_ext.name if found_ext else f"reserved_extension_0x{vife:02x}")
            continue
        if vife == 0x7C:
            extension_next = True
            continue
        if vife == 0x7F:
            manufacturer_vifes = True
            extensions.append("manufacturer_vifes_follow")
            continue
        comb = COMBINABLE.get(vife)
        if vife < 0x20 and comb is None:
            if from_master:
                action = OBJECT_ACTIONS.get(vife, f"reserved_0x{vife:02x}")
            else:
                record_error = RECORD_ERRORS.get(vife, f"reserved_0x{vife:02x}")
            continue
        if comb is None:
            extensions.append(f"reserved_vife_0x{vife:02x}")
            flags.append("unknown_vife")
            continue
        extensions.append(comb.name)
        if comb.effect == "exponent":
            exponent += comb.amount
        elif comb.effect == "offset":
            offset_exponent = comb.amount if offset_exponent is None else offset_exponent
        elif comb.effect == "per":
            unit = f"{unit}/{comb.unit}" if unit else f"1/{comb.unit}"
        elif comb.effect == "times":
            unit = f"{unit}*{comb.unit}" if unit else comb.unit
    if offset_exponent is not None and info.kind == "number":
        offset_exponent += 0  # offset is in the VIF's unit, before its exponent (6.4.6 note)
    elif offset_exponent is not None:
        offset_exponent = None
        flags.append("offset_on_non_number")

    kind = info.kind
    if kind in ("manufacturer", "unknown", "identifier", "flags"):
        exponent, factor, offset_exponent = 0, 1, None
        if kind != "identifier" and kind != "flags":
            unit = ""
    args = {"factor": factor, "exponent": exponent, "offset_exponent": offset_exponent,
            "msb_first": msb_first}
    decoder, static_flags = _make_decoder(coding, length, kind, args, info.quantity)
    # Date/time fields, and numbers without an additive correction, have one-call paths.
    time_reader = (_TIME_READERS.get(length or 0) if kind == "time_point"
                   and coding.startswith("int") and info.quantity != "daylight_saving" else None)
    plain_number = (kind in ("number", "identifier", "flags", "manufacturer", "unknown")
                    and bool(length) and offset_exponent is None and not msb_first)
    signed = kind not in ("identifier", "flags")
    if time_reader is not None:
        to_json = time_json(time_reader)
    elif decoder is _HEX:
        to_json = _hex_to_json
    else:
        to_json = _json_via(decoder)
    flags.extend(static_flags)
    if from_master and dif == 0x7F:
        function = "global_readout"
    template: dict[str, Any] = {
        "function": function, "storage": storage, "tariff": tariff, "subunit": subunit,
        "quantity": info.quantity, "unit": unit, "value": None,
        "dif": header[:dib_length].hex(), "vif": header[dib_length:].hex(), "data": "",
        "coding": coding,
    }
    if extensions:
        template["extensions"] = extensions
    if record_error is not None:
        template["record_error"] = record_error
    if action is not None:
        template["action"] = action
    if flags:
        template["flags"] = flags
    make_dict = general_maker(template, to_json)
    value_of: ValueReader = _first_of(decoder)
    if time_reader is not None:
        value_of = _first_of(time_reader)
        if length in _TIME_TEXT:
            make_dict = text_maker(template, _TIME_TEXT[length], general=make_dict)
    elif to_json is _hex_to_json:
        make_dict = hex_maker(template)
    elif plain_number:
        value_of = number_value_reader(coding, signed, factor, exponent,
                                       general=value_of) or value_of
        make_dict = number_maker(template, coding, signed, factor, exponent,
                                 general=make_dict) or make_dict
    return RecordShape(
        header=header, dib_length=dib_length, coding=coding, length=length, function=function,
        storage=storage, tariff=tariff, subunit=subunit, quantity=info.quantity, unit=unit,
        exponent=exponent, factor=factor, offset_exponent=offset_exponent, kind=kind,
        extensions=tuple(extensions), record_error=record_error, action=action,
        flags=tuple(flags), msb_first=msb_first, decoder=decoder, template=template,
        to_json=to_json, make_dict=make_dict, value_of=value_of,
    )


def _first_of(read: Callable[[bytes], tuple[Any, ...]]) -> ValueReader:
    """The Python value alone, from a decoder or a date/time reader (value first)."""
    return lambda raw: read(raw)[0]


def _special_shape(dif: int, from_master: bool) -> RecordShape:
    """Shapes of the special DIFs 0x0F and 0x1F (manufacturer data to the end) and 0x7F."""
    if dif == 0x7F:
        function, quantity = ("global_readout", "global_readout")
        coding = "none"
        decoder: Decoder = _none
    else:
        function = "manufacturer_specific" if dif == 0x0F else "more_records_follow"
        quantity, coding = "manufacturer_data", "manufacturer"
        decoder = _HEX
    template: dict[str, Any] = {
        "function": function, "storage": 0, "tariff": 0, "subunit": 0, "quantity": quantity,
        "unit": "", "value": None, "dif": f"{dif:02x}", "vif": "", "data": "", "coding": coding,
    }
    return RecordShape(header=bytes((dif,)), dib_length=1, coding=coding, length=None,
                       function=function, storage=0, tariff=0, subunit=0, quantity=quantity,
                       unit="", kind="manufacturer", decoder=decoder, template=template,
                       to_json=_hex_to_json if decoder is _HEX else _json_via(decoder),
                       make_dict=hex_maker(template) if decoder is _HEX else _unset_maker)


_SPECIAL = {dif: _special_shape(dif, False) for dif in (0x0F, 0x1F, 0x7F)}
# DIFs without extension bit that are not special (low nibble 0xF): DIF and VIF may be all.
_PLAIN_DIF = tuple(dif < 0x80 and dif & 0x0F != 0x0F for dif in range(256))
_CACHES: dict[tuple[bool, bool], dict[bytes, RecordShape]] = {
    (master, msb): {} for master in (False, True) for msb in (False, True)
}
# Two-byte headers (DIF and VIF only) keyed by DIF << 8 | VIF; at most 32768 entries.
_SHORT_CACHES: dict[tuple[bool, bool], dict[int, RecordShape]] = {
    (master, msb): {} for master in (False, True) for msb in (False, True)
}


class PendingRecords(list[tuple[RecordShape, bytes]]):
    """Records as ``(shape, data)`` pairs in frame order, not yet made into Records.

    :func:`scan_records` returns them; a telegram stores them and makes
    :class:`Record` objects only when its ``records`` are first read.
    """

    __slots__ = ()


def decode_records(
    data: bytes,
    offset: int = 0,
    end: int | None = None,
    *,
    from_master: bool = False,
    msb_first: bool = False,
    base_offset: int = 0,
    max_records: int | None = None,
) -> tuple[Record, ...]:
    """Decode the data records in ``data[offset:end]``.

    ``from_master`` selects how VIFE codes 0x00-0x1F read (object actions from a
    master, record errors from a slave). ``msb_first`` reads multi-byte values
    most significant byte first (CI 0x76/0x77, "mode 2"). ``base_offset`` is added
    to byte offsets in error messages (the position of ``data`` in the frame).
    ``max_records`` stops after that many records.

    Raises :class:`RecordError` naming the field and byte offset when a record is
    cut off or breaks the DIFE/VIFE limits.
    """
    return made_records(scan_records(data, offset, end, from_master=from_master,
                                     msb_first=msb_first, base_offset=base_offset,
                                     max_records=max_records))


_new_record = tuple.__new__


def made_records(pairs: Iterable[tuple[RecordShape, bytes]]) -> tuple[Record, ...]:
    """``(shape, data)`` pairs made into a tuple of :class:`Record` objects."""
    return tuple([_new_record(Record, pair) for pair in pairs])


def scan_records(
    data: bytes,
    offset: int = 0,
    end: int | None = None,
    *,
    from_master: bool = False,
    msb_first: bool = False,
    base_offset: int = 0,
    max_records: int | None = None,
) -> PendingRecords:
    """:func:`decode_records` without making :class:`Record` objects: ``(shape, data)`` pairs.

    For decoders that keep the records in a telegram made with :func:`lazy_records`.
    """
    end = len(data) if end is None else min(end, len(data))
    # A 0xFF byte after the end: the fast path reads the byte after a DIF without a
    # bounds check (0xFF is no plain VIF, so the general path, which checks, takes over).
    data = bytes(data[:end]) + b"\xff"
    cache = _CACHES[(from_master, msb_first)]
    short_cache = _SHORT_CACHES[(from_master, msb_first)]
    short_get = short_cache.get
    plain_dif = _PLAIN_DIF
    records = PendingRecords()
    append = records.append
    i = record_start = offset
    try:
        while i < end:
            dif = data[i]
            record_start = i
            if plain_dif[dif] and (vif := data[i + 1]) < 0x7C:
                # Common case: one DIF, one VIF, no extensions and no plain-text unit; the
                # shape is looked up by an int key, which needs no bytes object.
                shape = short_get(dif << 8 | vif)
                if shape is None:
                    shape = _build_shape(data[i:i + 2], 1, 2, from_master, msb_first)
                    short_cache[dif << 8 | vif] = shape
                i += 2
            elif dif & 0x0F == 0x0F:
                if dif == 0x2F:  # idle filler
                    i += 1
                    continue
                if dif in (0x0F, 0x1F):
                    append((_SPECIAL[dif], data[i + 1:end]))
                    break
                if dif == 0x7F and from_master:
                    append((_SPECIAL[dif], b""))
                    i += 1
                    continue
                raise RecordError(f"DIF 0x{dif:02x} is reserved", offset=base_offset + i,
                                  field="DIF", data=bytes((dif,)))
            else:
                i += 1
                if dif & 0x80:
                    count = 0
                    while True:
                        if i >= end:
                            raise RecordError("record ends inside its DIFE chain",
                                              offset=base_offset + i, field="DIFE")
                        count += 1
                        if count > MAX_DIFE:
                            raise RecordError(f"more than {MAX_DIFE} DIFE",
                                              offset=base_offset + i, field="DIFE",
                                              data=bytes(data[record_start:i + 1]))
                        more = data[i] & 0x80
                        i += 1
                        if not more:
                            break
                dib_length = i - record_start
                if i >= end:
                    raise RecordError("record ends before its VIF", offset=base_offset + i,
                                      field="VIF")
                vif = data[i]
                i += 1
                text_end = i
                if vif & 0x7F == 0x7C:  # plain-text unit: length byte and characters follow the VIF
                    if i >= end:
                        raise RecordError("record ends before the length of its plain-text VIF",
                                          offset=base_offset + i, field="VIF")
                    text_end = i + 1 + data[i]
                    if text_end > end:
                        raise RecordError(
                            f"plain-text VIF of {data[i]} characters runs past the data",
                            offset=base_offset + i, field="VIF", data=bytes(data[i:i + 1]))
                    i = text_end
                if vif & 0x80:
                    count = 0
                    while True:
                        if i >= end:
                            raise RecordError("record ends inside its VIFE chain",
                                              offset=base_offset + i, field="VIFE")
                        count += 1
                        if count > MAX_VIFE:
                            raise RecordError(f"more than {MAX_VIFE} VIFE",
                                              offset=base_offset + i, field="VIFE",
                                              data=bytes(data[record_start:i + 1]))
                        more = data[i] & 0x80
                        i += 1
                        if not more:
                            break
                header = data[record_start:i]
                shape = cache.get(header)
                if shape is None:
                    if len(cache) >= _CACHE_LIMIT:
                        cache.clear()
                    shape = _build_shape(header, dib_length, text_end - record_start, from_master,
                                         msb_first)
                    cache[header] = shape
            length = shape.length
            if length is None:  # LVAR
                if i >= end:
                    raise RecordError("record ends before its LVAR byte",
                                      offset=base_offset + i, field="LVAR")
                body = lvar_length(data[i])
                if body is None:
                    raise UnsupportedError(f"LVAR 0x{data[i]:02x} is reserved",
                                           offset=base_offset + i, field="LVAR",
                                           data=bytes(data[i:i + 1]))
                length = body + 1
            stop = i + length
            if stop > end:
                raise RecordError(
                    f"data of {length} bytes runs past the end ({end - i} left)",
                    offset=base_offset + i, field="data", data=data[i:end],
                )
            append((shape, data[i:stop]))
            i = stop
            if max_records is not None and len(records) >= max_records:
                break
    except RecordError as exc:
        exc.records_before = made_records(records)
        exc.record_offset = record_start
        raise
    return records


def encode_records(records: Iterable[Record]) -> bytes:
    """The bytes of a sequence of records."""
    return b"".join(record.shape.header + record.data for record in records)


# --- building records from values ------------------------------------------------------------

def _dib(coding: str, function: str, storage: int, tariff: int, subunit: int) -> bytes:
    if coding not in _CODING_NIBBLE:
        raise EncodeError(f"unknown coding {coding!r}; one of {sorted(_CODING_NIBBLE)}")
    if function not in FUNCTIONS:
        raise EncodeError(f"function must be one of {FUNCTIONS}, got {function!r}")
    if storage < 0 or tariff < 0 or subunit < 0:
        raise EncodeError("storage, tariff and subunit must not be negative")
    out = [_CODING_NIBBLE[coding] | FUNCTIONS.index(function) << 4 | (storage & 1) << 6]
    storage >>= 1
    while storage or tariff or subunit:
        if len(out) > MAX_DIFE:
            raise EncodeError("storage, tariff or subunit needs more than 10 DIFE")
        out[-1] |= 0x80
        out.append((storage & 0x0F) | (tariff & 0x03) << 4 | (subunit & 1) << 6)
        storage, tariff, subunit = storage >> 4, tariff >> 2, subunit >> 1
    return bytes(out)


def _mantissa(value: Any, shape: RecordShape) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        raise EncodeError(f"a {shape.quantity} value must be a number, got {value!r}")
    number = Decimal(value) if not isinstance(value, Decimal) else value
    if shape.offset_exponent is not None:
        number -= Decimal(1).scaleb(shape.offset_exponent)
    scaled = number.scaleb(-shape.exponent) / shape.factor
    if scaled != scaled.to_integral_value():
        raise EncodeError(
            f"{value} {shape.unit} is not a whole multiple of the VIF's resolution "
            f"({shape.factor}e{shape.exponent})")
    return int(scaled)


def _encode_value(value: Any, shape: RecordShape) -> bytes:
    coding, length = shape.coding, shape.length
    try:
        if coding in ("none", "selection"):
            return b""
        if shape.kind == "time_point" and coding.startswith("int"):
            if length == 2 and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return codings.encode_type_g(value)
            if length == 4 and isinstance(value, dt.datetime):
                return codings.encode_type_f(value)
            if length == 6 and isinstance(value, dt.datetime):
                return codings.encode_type_i(value)
            if length == 3 and isinstance(value, dt.time):
                return codings.encode_type_j(value)
            raise EncodeError(f"{coding} cannot carry {value!r} as a date or time")
        if coding == "real32":
            return codings._REAL32.pack(float(value) / 10.0**shape.exponent)
        if coding == "lvar":
            if isinstance(value, bytes):
                return bytes((len(value),)) + value
            if isinstance(value, str):
                raw = value.encode("latin-1")[::-1]
                return bytes((len(raw),)) + raw
            mantissa = _mantissa(value, shape)
            size = max(1, (mantissa.bit_length() + 8) // 8)
            return bytes((0xE0 + size,)) + mantissa.to_bytes(size, "little", signed=True)
        if isinstance(value, bytes) and shape.kind in ("text", "container", "manufacturer"):
            if len(value) != length:
                raise EncodeError(f"{coding} needs {length} bytes, got {len(value)}")
            return value
        mantissa = _mantissa(value, shape) if shape.kind == "number" else int(value)
        assert length is not None
        if coding.startswith("bcd"):
            raw = codings.encode_bcd(mantissa, length)
        else:
            signed = shape.kind not in ("identifier", "flags")
            raw = mantissa.to_bytes(length, "little", signed=signed)
        return raw[::-1] if shape.msb_first else raw
    except (OverflowError, ValueError, TypeError) as exc:
        raise EncodeError(f"cannot encode {value!r} as {coding}: {exc}") from None


def build_record(
    vif: int | bytes,
    value: Any,
    *,
    coding: str = "int32",
    function: str = "instantaneous",
    storage: int = 0,
    tariff: int = 0,
    subunit: int = 0,
    from_master: bool = False,
) -> Record:
    """Build a record from its VIF (one byte or the whole VIF/VIFE chain) and a value.

    ``value`` is in the record's normalised unit (for VIF 0x13, volume in m3 with
    1e-3 resolution, ``Decimal("12.345")``); it must be a whole multiple of the
    resolution. Dates are :class:`datetime.date`/``datetime``; text is str.

    >>> record = mbus.build_record(0x13, Decimal("12.345"), coding="bcd8")
    >>> record.encode().hex()
    '0c1345230100'
    >>> record.value, record.unit
    (Decimal('12.345'), 'm3')
    """
    vib = bytes((vif,)) if isinstance(vif, int) else bytes(vif)
    header = _dib(coding, function, storage, tariff, subunit) + vib
    probe = decode_records(header + b"\x00" * 80, from_master=from_master, max_records=1)
    if not probe or probe[0].shape.header != header:
        raise EncodeError(f"VIF bytes {vib.hex()} do not make one record header")
    shape = probe[0].shape
    data = _encode_value(value, shape)
    record = Record(shape, data)
    if len(decode_records(record.encode(), from_master=from_master)) != 1:
        raise EncodeError(f"{value!r} does not encode as one {coding} record")
    return record
