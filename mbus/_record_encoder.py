"""Building records from values: the inverse of the record decoder."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from . import _codings as codings
from ._errors import EncodeError
from ._record_shapes import CODING_NIBBLES, FUNCTIONS, MAX_DIFE, Record, RecordShape
from ._records import decode_records

__all__ = ["build_record"]


def _dib(coding: str, function: str, storage: int, tariff: int, subunit: int) -> bytes:
    if coding not in CODING_NIBBLES:
        raise EncodeError(f"unknown coding {coding!r}; one of {sorted(CODING_NIBBLES)}")
    if function not in FUNCTIONS:
        raise EncodeError(f"function must be one of {FUNCTIONS}, got {function!r}")
    if storage < 0 or tariff < 0 or subunit < 0:
        raise EncodeError("storage, tariff and subunit must not be negative")
    out = [CODING_NIBBLES[coding] | FUNCTIONS.index(function) << 4 | (storage & 1) << 6]
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
