"""CRC-16 of EN 13757-4 (polynomial 0x3D65, initial value 0, result inverted).

Used for the link-layer blocks of frame formats A and B, the ELL payload CRC
and the format signature and data CRC of compact frames (EN 13757-3 Annex).
"""

from __future__ import annotations

__all__ = ["crc16_en13757"]

_POLY = 0x3D65


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_TABLE = _table()


def crc16_en13757(data: bytes, start: int = 0, end: int | None = None) -> int:
    """The EN 13757 CRC-16 of ``data[start:end]`` (already inverted, as transmitted)."""
    table = _TABLE
    crc = 0
    for byte in data[start:end]:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ byte]
    return crc ^ 0xFFFF
