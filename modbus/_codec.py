"""The register codec: register contents <-> values, by a point's type and layout.

Sans-IO and pure: no pymodbus, no clock. Registers are unsigned 16-bit integers in the
order the device sends them; bits (coils, discrete inputs) are ``bool`` or 0/1.

Layouts of multi-register values (``word_order``, ``byte_order``), written with A as the
most significant byte of a 32-bit value:

=========== =========== ============================
word_order  byte_order  register contents
=========== =========== ============================
big         big         AB CD (Modbus convention)
little      big         CD AB (many meters' "swapped")
big         little      BA DC
little      little      DC BA
=========== =========== ============================

Values keep their exactness: integers and BCD scaled by a decimal factor are exact
:class:`~decimal.Decimal` (unscaled they stay ``int``); floats stay ``float``, shown with
the fewest digits that give back the same register contents (a float32 of 230.1 reads
as ``230.1``, not ``230.10000610351562``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from ._errors import DecodeError, EncodeError
from ._map import BCD_TYPES, FLOAT_TYPES, INTEGER_TYPES, RegisterPoint

__all__ = [
    "NO_VALUE_QUALITY",
    "OUT_OF_RANGE",
    "PointValue",
    "Quality",
    "bytes_to_registers",
    "decode_point",
    "encode_no_value",
    "encode_point",
    "registers_to_bytes",
    "scale_exponent",
]

PointValue = Decimal | int | float | str | bool | None
"""What a point decodes to: ``None`` when the device said "no value"."""
Quality = tuple[str, ...]
NO_VALUE_QUALITY: Quality = ("invalid",)
OUT_OF_RANGE: Quality = ("out_of_range",)

_INTEGER_FORMATS: dict[str, tuple[int, bool]] = {
    "int16": (16, True),
    "uint16": (16, False),
    "int32": (32, True),
    "uint32": (32, False),
    "int64": (64, True),
    "uint64": (64, False),
}
_FLOAT_STRUCTS = {"float32": struct.Struct(">f"), "float64": struct.Struct(">d")}
# SunSpec's "not implemented" contents per type, used to publish a point without a value.
_NAN_CONTENTS = {"float32": 0x7FC00000, "float64": 0x7FF8000000000000}
_BCD_DIGITS = {"bcd16": 4, "bcd32": 8}
# Exponents a scale register may hold (SunSpec allows -10..10).
MAX_SCALE_EXPONENT = 10


def registers_to_bytes(registers: Sequence[int], word_order: str, byte_order: str) -> bytes:
    """The value's bytes, most significant first, from registers in the given layout.

    >>> registers_to_bytes([0xCDEF, 0x89AB], "little", "big").hex()
    '89abcdef'
    """
    words = list(registers)
    if word_order == "little":
        words.reverse()
    data = bytearray()
    for word in words:
        data += word.to_bytes(2, "little" if byte_order == "little" else "big")
    return bytes(data)


def bytes_to_registers(data: bytes, word_order: str, byte_order: str) -> tuple[int, ...]:
    """The inverse of :func:`registers_to_bytes` (``data``: an even number of bytes)."""
    little = byte_order == "little"
    words = [int.from_bytes(data[i : i + 2], "little" if little else "big")
             for i in range(0, len(data), 2)]
    if word_order == "little":
        words.reverse()
    return tuple(words)


def _check_registers(point: RegisterPoint, registers: Sequence[object]) -> None:
    if len(registers) != point.count:
        raise DecodeError(
            f"needs {point.count} register(s), got {len(registers)}", field=point.name
        )
    for offset, word in enumerate(registers):
        if isinstance(word, bool) and point.type == "bool":
            continue
        if type(word) is not int or not 0 <= word <= 0xFFFF:
            raise DecodeError(
                f"a register holds 0..65535, got {word!r}", field=point.name, offset=offset
            )


def shortest_float(value: float, fits: struct.Struct) -> float:
    """``value`` with the fewest significant digits that pack (by ``fits``, a float32 or
    float64 struct) to the same bytes: a float32 of 230.1 gives 230.1."""
    contents = fits.pack(value)
    for digits in range(1, 18):
        candidate = float(f"{value:.{digits}g}")
        try:
            if fits.pack(candidate) == contents:
                return candidate
        except OverflowError:  # rounded past the largest float32 (3.4025e38 -> 3.403e38)
            continue
    return value


def _raw_number(point: RegisterPoint, data: bytes) -> int | float | None:
    kind = point.type
    if kind in _INTEGER_FORMATS:
        return int.from_bytes(data, "big", signed=_INTEGER_FORMATS[kind][1])
    if kind in FLOAT_TYPES:
        fits = _FLOAT_STRUCTS[kind]
        number: float = fits.unpack(data)[0]
        if not math.isfinite(number):
            return None
        return shortest_float(number, fits)
    # BCD: every nibble a decimal digit, else no value.
    digits = data.hex()
    return int(digits) if digits.isdigit() else None


def scale_exponent(point: RegisterPoint, registers: Sequence[int]) -> int | None:
    """The power-of-ten exponent held by a scale point (SunSpec ``sunssf``), or None
    when the register says "no value" or holds an exponent outside -10..10."""
    _check_registers(point, registers)
    raw = int.from_bytes(registers_to_bytes(registers, point.word_order, point.byte_order),
                         "big", signed=True)
    if point.no_value is not None and raw & 0xFFFF == point.no_value:
        return None
    return raw if -MAX_SCALE_EXPONENT <= raw <= MAX_SCALE_EXPONENT else None


def decode_point(
    point: RegisterPoint, registers: Sequence[int], *, exponent: int | None = None
) -> tuple[PointValue, Quality]:
    """A point's value and quality from its registers (bits for coils/discrete inputs).

    ``exponent`` is the value of the point's ``scale_point`` (see :func:`scale_exponent`);
    a point with a scale point and no exponent has no value.

    Returns:
        ``(value, quality)``: quality ``()`` is good, ``("invalid",)`` means the device
        said "no value" (``no_value`` contents, a NaN, a BCD nibble above 9, a string
        that is not UTF-8, or a missing scale exponent), ``("out_of_range",)`` a value
        outside the point's minimum/maximum (kept, not dropped).

    Raises:
        DecodeError: the number of registers does not fit the point, or a register is
            not 0..65535 (field = point name, offset = register offset).

    >>> from modbus import RegisterPoint
    >>> volts = RegisterPoint(name="voltage_l1", table="input", address=0, type="float32")
    >>> decode_point(volts, [0x4366, 0x199A])
    (230.1, ())
    """
    _check_registers(point, registers)
    kind = point.type
    if kind == "bool":
        return bool(registers[0]), ()
    if kind == "bit":
        return bool(registers[0] >> point.bit & 1), ()
    data = registers_to_bytes(registers, point.word_order, point.byte_order)
    if point.no_value is not None and int.from_bytes(data, "big") == point.no_value:
        return None, NO_VALUE_QUALITY
    if kind == "string":
        try:
            return data.rstrip(b"\x00 ").decode("utf-8"), ()
        except UnicodeDecodeError:
            return None, NO_VALUE_QUALITY
    raw = _raw_number(point, data)
    if raw is None:
        return None, NO_VALUE_QUALITY
    value: Decimal | int | float = raw
    if point.scale_point is not None:
        if exponent is None:
            return None, NO_VALUE_QUALITY
        value = _to_decimal(raw).scaleb(exponent)
    elif point.scale is not None:
        value = _to_decimal(raw) * point.scale
    if (point.minimum is not None and value < point.minimum) or (
        point.maximum is not None and value > point.maximum
    ):
        return value, OUT_OF_RANGE
    return value, ()


def _to_decimal(raw: int | float | Decimal) -> Decimal:
    # A float shown by its shortest form: the digits the device meant.
    return Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)


def encode_no_value(point: RegisterPoint) -> tuple[int, ...] | None:
    """The register contents that publish "no value": the point's ``no_value``, else
    SunSpec's "not implemented" contents (a NaN, the most negative signed integer, the
    largest unsigned integer, all ones in BCD, an empty string); None for bits, which
    have no such contents."""
    kind = point.type
    if kind in ("bool", "bit"):
        return None
    width = 16 * point.count
    if point.no_value is not None:
        contents = point.no_value
    elif kind in _NAN_CONTENTS:
        contents = _NAN_CONTENTS[kind]
    elif kind in _INTEGER_FORMATS and _INTEGER_FORMATS[kind][1]:
        contents = 1 << (width - 1)
    elif kind == "string":
        contents = 0
    else:
        contents = (1 << width) - 1
    return bytes_to_registers(contents.to_bytes(width // 8, "big"), point.word_order,
                              point.byte_order)


# Beyond this many digits before the point no register type can hold a value.
_MAX_DIGITS = 40


def _number(point: RegisterPoint, value: object) -> Decimal | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise EncodeError(f"a {point.type} takes a number, got {type(value).__name__}",
                          field=point.name)
    finite = math.isfinite(value) if isinstance(value, float) else (
        not isinstance(value, Decimal) or value.is_finite())
    if not finite:
        raise EncodeError(f"cannot encode {value}", field=point.name)
    if isinstance(value, float):
        return value
    number = Decimal(value)
    if number and number.adjusted() > _MAX_DIGITS:
        raise EncodeError(f"{value} is out of the range of a {point.type}", field=point.name)
    return number


def encode_point(
    point: RegisterPoint, value: object, *, exponent: int | None = None
) -> tuple[int, ...]:
    """The registers (or bit) that hold ``value`` in ``point``'s type and layout.

    Scaled points are rounded to the register's resolution (half to even). A ``bit``
    point gives its register with only that bit set or clear (the caller merges it with
    the other bits of the register).

    Raises:
        EncodeError: a value of the wrong type, out of the type's range, a string too long,
            or a scale point without an exponent (field = point name).

    >>> from modbus import RegisterPoint
    >>> energy = RegisterPoint(name="energy", table="holding", address=0, type="uint32",
    ...                        word_order="little", scale=Decimal("0.01"))
    >>> encode_point(energy, Decimal("123456.78"))
    (24910, 188)
    """
    kind = point.type
    if kind in ("bool", "bit"):
        if value not in (True, False) or not isinstance(value, (bool, int)):
            raise EncodeError(f"a {kind} takes True or False, got {value!r}", field=point.name)
        if kind == "bool":
            return (int(value),)
        return (int(value) << point.bit,)
    if kind == "string":
        if not isinstance(value, str):
            raise EncodeError(f"a string takes text, got {type(value).__name__}",
                              field=point.name)
        data = value.encode("utf-8")
        if len(data) > 2 * point.length:
            raise EncodeError(f"{len(data)} bytes do not fit {point.length} registers",
                              field=point.name)
        data = data.ljust(2 * point.length, b"\x00")
        return bytes_to_registers(data, point.word_order, point.byte_order)
    number = _number(point, value)
    if point.scale_point is not None:
        if exponent is None:
            raise EncodeError(f"needs the exponent of {point.scale_point}", field=point.name)
        number = _to_decimal(number).scaleb(-exponent)
    elif point.scale is not None:
        number = _to_decimal(number) / point.scale
        if number and number.adjusted() > _MAX_DIGITS:
            raise EncodeError(f"{value} is out of the range of a {kind}", field=point.name)
    if kind in FLOAT_TYPES:
        try:
            data = _FLOAT_STRUCTS[kind].pack(float(number))
        except OverflowError:
            raise EncodeError(f"{value} is too large for a {kind}", field=point.name) from None
        return bytes_to_registers(data, point.word_order, point.byte_order)
    try:
        whole = int(_to_decimal(number).to_integral_value(rounding=ROUND_HALF_EVEN))
    except (InvalidOperation, OverflowError):
        raise EncodeError(f"cannot encode {value}", field=point.name) from None
    width = 16 * point.count
    if kind in INTEGER_TYPES:
        signed = _INTEGER_FORMATS[kind][1]
        low = -(1 << (width - 1)) if signed else 0
        high = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
        if not low <= whole <= high:
            raise EncodeError(f"{value} is out of the range of a {kind} ({low}..{high})"
                              + (" once scaled" if number is not value else ""),
                              field=point.name)
        data = whole.to_bytes(width // 8, "big", signed=signed)
    else:
        assert kind in BCD_TYPES
        digits = _BCD_DIGITS[kind]
        if not 0 <= whole < 10**digits:
            raise EncodeError(f"{value} does not fit {digits} BCD digits", field=point.name)
        data = bytes.fromhex(f"{whole:0{digits}d}")
    return bytes_to_registers(data, point.word_order, point.byte_order)
