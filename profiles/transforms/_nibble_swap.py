"""``nibble_swap``: swap the two hex digits of every byte.

Some meters write BCD counters with the digits of each byte swapped (a BCD byte
0x21 meaning 12); swapping back lets a layout read them as plain ``bcd`` items.
Source: EN 13757-3:2018 Annex A (type A, BCD) for the digit order the result has.
"""

from __future__ import annotations

from ._context import NO_CONTEXT, TransformContext

__all__ = ["nibble_swap"]

_SWAPPED = bytes(((byte & 0x0F) << 4) | (byte >> 4) for byte in range(256))


def nibble_swap(data: bytes, context: TransformContext = NO_CONTEXT) -> bytes:
    """``data`` with the high and low nibble of each byte exchanged."""
    return data.translate(_SWAPPED)
