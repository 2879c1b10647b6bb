"""Data field codings of EN 13757-3:2018 Annex A: integers, BCD, REAL32, dates and times.

Pure functions from raw bytes (least significant byte first, as on the wire) to
Python values. Each returns ``(value, flags)`` where ``flags`` names anything
odd that the caller should keep (an invalid BCD digit, a time marked invalid).
"""

from __future__ import annotations

import datetime as dt
import struct

__all__ = [
    "decode_bcd",
    "decode_real32",
    "decode_type_f",
    "decode_type_g",
    "decode_type_i",
    "decode_type_j",
    "encode_bcd",
    "encode_type_f",
    "encode_type_g",
    "encode_type_i",
    "encode_type_j",
]

_REAL32 = struct.Struct("<f")
NO_FLAGS: tuple[str, ...] = ()


def decode_bcd(raw: bytes) -> tuple[int | str, tuple[str, ...]]:
    """Type A: BCD, least significant byte first; 0xF in the top nibble means negative.

    Digits A-F elsewhere are invalid: the digits come back as a hex string,
    flagged ``invalid_bcd``.
    """
    digits = raw[::-1].hex()
    if digits.isdigit():
        return int(digits), NO_FLAGS
    if digits[0] == "f" and digits[1:].isdigit():
        return -int(digits[1:] or "0"), NO_FLAGS
    return digits.upper(), ("invalid_bcd",)


def encode_bcd(value: int, size: int) -> bytes:
    """Type A encoding of ``value`` in ``size`` bytes; negative values use the 0xF nibble."""
    if value < 0:
        text = "f" + str(-value).rjust(2 * size - 1, "0")
    else:
        text = str(value).rjust(2 * size, "0")
    if len(text) != 2 * size:
        raise OverflowError(f"{value} does not fit {2 * size} BCD digits")
    return bytes.fromhex(text)[::-1]


def decode_real32(raw: bytes) -> float:
    """Type H: IEEE 754 single precision, least significant byte first."""
    return float(_REAL32.unpack(raw)[0])


def _century(year: int) -> int:
    # Years 0-80 are 2000-2080, 81-99 are 1981-1999 (EN 13757-3:2018 Table A.5 note).
    return 2000 + year if year <= 80 else 1900 + year


def decode_type_g(raw: bytes) -> tuple[dt.date | None, tuple[str, ...]]:
    """Type G, date (CP16): day 1-5, month 9-12, year 6-8 and 13-16; FFFF is invalid."""
    b0, b1 = raw[0], raw[1]
    if b0 == 0xFF and b1 == 0xFF:
        return None, ("invalid_date",)
    year = _century(((b0 & 0xE0) >> 5) | ((b1 & 0xF0) >> 1))
    try:
        return dt.date(year, b1 & 0x0F, b0 & 0x1F), NO_FLAGS
    except ValueError:
        return None, ("invalid_date",)


def encode_type_g(value: dt.date) -> bytes:
    """Inverse of :func:`decode_type_g` for years 1981-2080."""
    year = value.year % 100
    if not (1981 <= value.year <= 2080):
        raise OverflowError(f"type G covers the years 1981-2080, not {value.year}")
    return bytes(((year & 0x07) << 5 | value.day, (year & 0x78) << 1 | value.month))


def decode_type_f(raw: bytes) -> tuple[dt.datetime | None, tuple[str, ...]]:
    """Type F, date and time (CP32): minute, hour, day, month, year; IV and SU flags."""
    b0, b1, b2, b3 = raw[0], raw[1], raw[2], raw[3]
    flags: tuple[str, ...] = NO_FLAGS
    if b0 & 0x80:
        flags = ("time_invalid",)
    if b1 & 0x80:
        flags = (*flags, "summer_time")
    year = ((b2 & 0xE0) >> 5) | ((b3 & 0xF0) >> 1)
    hundreds = (b1 & 0x60) >> 5
    full_year = _century(year) if hundreds == 0 else 1900 + 100 * hundreds + year
    try:
        return dt.datetime(full_year, b3 & 0x0F, b2 & 0x1F, b1 & 0x1F, b0 & 0x3F), flags
    except ValueError:
        return None, (*flags, "invalid_date")


def encode_type_f(value: dt.datetime, *, summer_time: bool = False,
                  invalid: bool = False) -> bytes:
    """Inverse of :func:`decode_type_f` for years 1981-2080."""
    if not (1981 <= value.year <= 2080):
        raise OverflowError(f"type F is written here for the years 1981-2080, not {value.year}")
    year = value.year % 100
    return bytes((
        value.minute | (0x80 if invalid else 0),
        value.hour | (0x80 if summer_time else 0),
        (year & 0x07) << 5 | value.day,
        (year & 0x78) << 1 | value.month,
    ))


def decode_type_i(raw: bytes) -> tuple[dt.datetime | None, tuple[str, ...]]:
    """Type I, date and time with seconds (CP48); IV, SU and leap-year flags."""
    b0, b1, b2, b3, b4 = raw[0], raw[1], raw[2], raw[3], raw[4]
    flags: tuple[str, ...] = NO_FLAGS
    if b1 & 0x80:
        flags = ("time_invalid",)
    if b0 & 0x40:
        flags = (*flags, "summer_time")
    year = _century(((b3 & 0xE0) >> 5) | ((b4 & 0xF0) >> 1))
    try:
        value = dt.datetime(year, b4 & 0x0F, b3 & 0x1F, b2 & 0x1F, b1 & 0x3F, b0 & 0x3F)
    except ValueError:
        return None, (*flags, "invalid_date")
    return value, flags


def encode_type_i(value: dt.datetime, *, summer_time: bool = False,
                  invalid: bool = False) -> bytes:
    """Inverse of :func:`decode_type_i` (week number and day of week are written as 0)."""
    if not (1981 <= value.year <= 2080):
        raise OverflowError(f"type I is written here for the years 1981-2080, not {value.year}")
    year = value.year % 100
    return bytes((
        value.second | (0x40 if summer_time else 0),
        value.minute | (0x80 if invalid else 0),
        value.hour,
        (year & 0x07) << 5 | value.day,
        (year & 0x78) << 1 | value.month,
        0,
    ))


def decode_type_j(raw: bytes) -> tuple[dt.time | None, tuple[str, ...]]:
    """Type J, time of day (CP24): second, minute, hour."""
    try:
        return dt.time(raw[2] & 0x1F, raw[1] & 0x3F, raw[0] & 0x3F), NO_FLAGS
    except ValueError:
        return None, ("invalid_time",)


def encode_type_j(value: dt.time) -> bytes:
    """Inverse of :func:`decode_type_j`."""
    return bytes((value.second, value.minute, value.hour))
