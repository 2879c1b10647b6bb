"""CRC-16 of EN 13757-4 (polynomial 0x3D65, initial value 0, result inverted).

Used for the link-layer blocks of frame formats A and B, the ELL payload CRC
and the format signature and data CRC of compact frames (EN 13757-3 Annex).
Two bytes are processed per step with two 256-entry tables ("slicing by 2"):
a single 65536-entry table is faster on its own but falls out of the CPU caches
between telegrams, which made it several times slower inside the decoder.
"""

from __future__ import annotations

__all__ = ["crc16_en13757"]

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


def crc16_en13757(data: bytes | bytearray | memoryview, start: int = 0,
                  end: int | None = None) -> int:
    """The EN 13757 CRC-16 of ``data[start:end]`` (already inverted, as transmitted)."""
    size = len(data)
    if start < 0:
        start = max(start + size, 0)
    stop = size if end is None else min(end + size if end < 0 else end, size)
    if stop - start <= 0:
        return 0xFFFF
    first, last = _FIRST, _LAST
    crc = 0
    if (stop - start) & 1:  # an odd byte first: from the zero register, one table step
        crc = last[data[start]]
        start += 1
    pairs = iter(data[start:stop])
    for high, low in zip(pairs, pairs, strict=False):  # an even count is left
        crc = first[(crc >> 8) ^ high] ^ last[(crc & 0xFF) ^ low]
    return crc ^ 0xFFFF
