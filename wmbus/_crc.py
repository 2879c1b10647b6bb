"""CRC-16 of EN 13757-4 (polynomial 0x3D65, initial value 0, result inverted).

Used for the link-layer blocks of frame formats A and B, the ELL payload CRC
and the format signature and data CRC of compact frames (EN 13757-3 Annex).
The work is done by ``fastcrc`` (a compiled library, about 30 times faster
than Python on a 120-byte frame: the format B check runs on every CRC-less
telegram, so this matters). Where ``fastcrc`` cannot be installed, a table
implementation in Python gives the same results.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["crc16_en13757", "crc16_en13757_python", "crc16_x25", "crc16_x25_python"]

_POLY = 0x3D65


def _table8() -> list[int]:
    # CRC register after shifting one byte (in the high bits) through a zero register.
    table: list[int] = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_LAST = _table8()  # a byte followed by nothing: the last byte of a pair
# A byte followed by one zero byte: the first byte of a pair (the CRC is linear, so the
# pair's effect is the XOR of both).
_FIRST = [((crc << 8) & 0xFFFF) ^ _LAST[crc >> 8] for crc in _LAST]


def crc16_en13757_python(data: bytes | bytearray | memoryview) -> int:
    """The EN 13757 CRC-16 of ``data`` in Python, two bytes per step ("slicing by 2")."""
    first, last = _FIRST, _LAST
    crc, start = 0, 0
    if len(data) & 1:  # an odd byte first: from the zero register, one table step
        crc, start = last[data[0]], 1
    pairs = iter(data[start:])
    for high, low in zip(pairs, pairs, strict=False):  # an even count is left
        crc = first[(crc >> 8) ^ high] ^ last[(crc & 0xFF) ^ low]
    return crc ^ 0xFFFF


def crc16_x25_python(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/X-25 in Python, bit by bit (the HCI frames it checks are short)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


_en13757: Callable[[bytes | bytearray | memoryview], int]
_x25: Callable[[bytes | bytearray | memoryview], int]
try:
    from fastcrc import crc16 as _fastcrc16
except ImportError:  # pragma: no cover - fastcrc is a dependency; this is for odd platforms
    _en13757, _x25 = crc16_en13757_python, crc16_x25_python
else:
    _en13757, _x25 = _fastcrc16.en_13757, _fastcrc16.ibm_sdlc


def crc16_en13757(data: bytes | bytearray | memoryview, start: int = 0,
                  end: int | None = None) -> int:
    """The EN 13757 CRC-16 of ``data[start:end]`` (already inverted, as transmitted)."""
    if start or end is not None:
        data = data[start:end]
    return _en13757(data)


# The implementation itself, for the hot paths that checksum a whole bytes object: one
# Python call less per CRC than crc16_en13757 (the format B check of every CRC-less frame).
crc16_en13757_whole = _en13757


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/X-25 (CCITT polynomial, reflected, init and final XOR 0xFFFF), as the IMST HCI
    uses (fastcrc calls it IBM-SDLC)."""
    return _x25(data)
