"""Apator 162 water meters: the total volume out of the manufacturer register list.

Source: the public behaviour of wmbusmeters' apator162 driver (its register grammar and
the values it prints for its test telegrams). The manufacturer data (after DIF 0F) is
seven status bytes, then registers, each one tag byte and a value whose length the tag
determines, then 0xFF padding and a two-byte checksum. Register 0x10 holds the total
volume in litres (uint32 LE). Since a register's place depends on the registers before
it, a layout cannot find it: this transform walks the list.
"""

from __future__ import annotations

from types import MappingProxyType

from ._context import NO_CONTEXT, TransformContext
from ._errors import TransformError

__all__ = ["REGISTER_LENGTHS", "apator162_registers"]

_STATUS = 7
_TOTAL = 0x10
_PADDING = 0xFF
_CHECKSUM = 2
_ABSENT = b"\xff\xff\xff\xff"


def _lengths() -> dict[int, int]:
    lengths = {0x00: 4, 0x01: 3, 0x10: 4, 0x11: 2, 0x40: 6, 0x41: 2, 0x42: 4, 0x43: 2,
               0x44: 3, 0x8A: 9, 0x8B: 6, 0x8C: 6, 0x8E: 7, 0xA0: 4, 0xA1: 4, 0xA2: 1,
               0xA3: 7, 0xA4: 4, 0xA5: 1, 0xA6: 3, 0xA9: 1, 0xAF: 1, 0xB0: 5, 0xB1: 8,
               0xB2: 16, 0xB3: 8, 0xB4: 2, 0xB5: 16, 0xD0: 3, 0xD3: 3, 0xF0: 4}
    # 0x71-0x7C: a byte and 2-13 monthly values (uint32 each).
    lengths.update({tag: 1 + 4 * (tag - 0x70 + 1) for tag in range(0x71, 0x7D)})
    lengths.update(dict.fromkeys((0x80, 0x81, 0x82, 0x83, 0x84, 0x86, 0x87), 10))
    lengths.update(dict.fromkeys((0x85, 0x88, 0x8F), 11))
    lengths.update(dict.fromkeys((0xA7, 0xA8, 0xAA, 0xAB, 0xAC, 0xAD), 2))
    lengths.update(dict.fromkeys(range(0xB6, 0xC0), 3))
    lengths.update(dict.fromkeys(range(0xC0, 0xC8), 3))
    return lengths


REGISTER_LENGTHS = MappingProxyType(_lengths())
"""Register tag -> bytes of its value."""
# Tag -> bytes from it to the next tag (0: a tag of unknown length), by index.
_STEPS = tuple(1 + REGISTER_LENGTHS[tag] if tag in REGISTER_LENGTHS else 0
               for tag in range(256))


def apator162_registers(data: bytes, context: TransformContext = NO_CONTEXT) -> bytes:
    """The seven status bytes and the total volume register (uint32 LE, FF FF FF FF if absent).

    Raises :class:`TransformError` for data shorter than the status bytes, a tag of
    unknown length or a register running into the checksum.
    """
    if len(data) < _STATUS + _CHECKSUM:
        raise TransformError(f"Apator 162 data needs {_STATUS} status bytes and a checksum, "
                             f"has {len(data)} bytes", offset=len(data))
    end = len(data) - _CHECKSUM
    total = _ABSENT
    position = _STATUS
    while position < end:
        tag = data[position]
        if tag == _PADDING:
            break
        step = _STEPS[tag]
        if not step:
            raise TransformError(f"Apator 162 register 0x{tag:02x} has no known length",
                                 offset=position)
        if position + step > end:
            raise TransformError(f"Apator 162 register 0x{tag:02x} needs {step - 1} bytes, "
                                 f"{end - position - 1} are left before the checksum",
                                 offset=position)
        if tag == _TOTAL:
            total = data[position + 1:position + 5]
        position += step
    return data[:_STATUS] + total
