"""The Python value of a record (``Record.value``) in one call per shape.

The general decoder of a shape gives the Python value, the JSON value and the
flags together; ``Record.value`` needs only the first. For binary and BCD
numbers without an additive correction, one function per shape reads just the
value: an int, or a Decimal where the exponent scales down. Anything unusual
(negative or invalid BCD digits) goes through the general decoder, and tests
check these readers against it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ._record_dicts import pow10

__all__ = ["ValueReader", "number_value_reader"]

# Data bytes to the record's Python value.
ValueReader = Callable[[bytes], Any]


def number_value_reader(coding: str, signed: bool, factor: int, exponent: int,
                        general: ValueReader) -> ValueReader | None:
    """The value of binary or BCD data scaled by ``factor * 10**exponent``; None otherwise."""
    from_bytes = int.from_bytes
    if coding.startswith("int") and exponent >= 0:
        multiplier = factor * pow10(exponent)

        def binary_scaled_up(raw: bytes) -> Any:
            return from_bytes(raw, "little", signed=signed) * multiplier

        return binary_scaled_up
    if coding.startswith("int"):
        def binary_scaled_down(raw: bytes) -> Any:
            return Decimal(from_bytes(raw, "little", signed=signed) * factor).scaleb(exponent)

        return binary_scaled_down
    if coding.startswith("bcd") and exponent >= 0:
        bcd_multiplier = factor * pow10(exponent)

        def bcd_scaled_up(raw: bytes) -> Any:
            try:  # hex digits are 0-9a-f: int() refuses exactly the non-decimal ones
                return int(raw[::-1].hex()) * bcd_multiplier
            except ValueError:  # a negative sign nibble or digits A-F
                return general(raw)

        return bcd_scaled_up
    if coding.startswith("bcd"):
        def bcd_scaled_down(raw: bytes) -> Any:
            try:  # as in bcd_scaled_up
                return Decimal(int(raw[::-1].hex()) * factor).scaleb(exponent)
            except ValueError:
                return general(raw)

        return bcd_scaled_down
    return None
