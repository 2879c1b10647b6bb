"""CRC-16 of EN 13757-4 (polynomial 0x3D65, initial value 0, result inverted).

Used for the link-layer blocks of frame formats A and B, the ELL payload CRC
and the format signature and data CRC of compact frames (EN 13757-3 Annex).
Two bytes are processed per step with a 65536-entry table (built on first use).
"""

from __future__ import annotations

from struct import Struct

__all__ = ["crc16_en13757"]

_POLY = 0x3D65


def _table8() -> list[int]:
    table: list[int] = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_TABLE8 = _table8()
_TABLE16: list[int] = []
_LAYOUTS: dict[int, Struct] = {}


def _table16() -> list[int]:
    # CRC register after shifting a 16-bit value through: high byte first, then low byte.
    t8 = _TABLE8
    table: list[int] = []
    for high in range(256):
        first = t8[high]
        upper = (first << 8) & 0xFFFF
        top = first >> 8
        table.extend(upper ^ t8[top ^ low] for low in range(256))
    return table


def crc16_en13757(data: bytes, start: int = 0, end: int | None = None) -> int:
    """The EN 13757 CRC-16 of ``data[start:end]`` (already inverted, as transmitted)."""
    table = _TABLE16 or _build()
    size = len(data)
    stop = size if end is None else min(end + size if end < 0 else end, size)
    count = stop - start
    if count <= 0:
        return 0xFFFF
    layout = _LAYOUTS.get(count >> 1)
    if layout is None:
        layout = _LAYOUTS[count >> 1] = Struct(f">{count >> 1}H")
    crc = 0
    for word in layout.unpack_from(data, start):
        crc = table[crc ^ word]
    if count & 1:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE8[(crc >> 8) ^ data[stop - 1]]
    return crc ^ 0xFFFF


def _build() -> list[int]:
    _TABLE16.extend(_table16())
    return _TABLE16
