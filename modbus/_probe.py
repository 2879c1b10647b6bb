"""The data-type test: what a run of registers could mean, for setting up an undocumented
device. Sans-IO: registers in, candidate interpretations out.

For each register offset every type that fits is tried (16-bit integers, 32-bit
integers and floats in the four layouts, 64-bit floats, text in two registers) and kept when
its value is plausible for a meter: a finite float of a sensible magnitude (0, or 1e-3
to 1e9 in absolute value, which rules out the denormals and huge exponents that integer
contents give as floats), an integer below 1e9, printable ASCII text. A user compares the
candidates with what the meter's display shows and writes the map.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ._codec import registers_to_bytes, shortest_float

__all__ = ["Interpretation", "interpretations"]

_LAYOUTS = (("big", "big"), ("little", "big"), ("big", "little"), ("little", "little"))
_SMALLEST = 1e-3
_FLOAT32 = struct.Struct(">f")
_FLOAT64 = struct.Struct(">d")
_LARGEST = 1e9


@dataclass(frozen=True, slots=True)
class Interpretation:
    """One plausible reading of registers: ``type`` in ``word_order``/``byte_order`` at
    ``address`` gives ``value``."""

    address: int
    type: str
    word_order: str
    byte_order: str
    value: int | float | str

    def to_dict(self) -> dict[str, object]:
        """A plain dict for JSON."""
        return {"address": self.address, "type": self.type, "word_order": self.word_order,
                "byte_order": self.byte_order, "value": self.value}


def _plausible_float(value: float) -> bool:
    return math.isfinite(value) and (value == 0 or _SMALLEST <= abs(value) <= _LARGEST)


def interpretations(registers: Sequence[int], start: int = 0) -> list[Interpretation]:
    """The plausible interpretations of ``registers`` read from address ``start``.

    >>> [(i.type, i.word_order, i.value) for i in interpretations([0x3333, 0x4366])
    ...  if i.type == "float32"]
    [('float32', 'little', 230.2)]
    """
    out: list[Interpretation] = []
    words = [int(word) & 0xFFFF for word in registers]
    for offset, word in enumerate(words):
        address = start + offset
        out.append(Interpretation(address, "uint16", "big", "big", word))
        if word & 0x8000:
            out.append(Interpretation(address, "int16", "big", "big", word - 0x10000))
        pair = words[offset : offset + 2]
        if len(pair) == 2:
            text = registers_to_bytes(pair, "big", "big")
            if all(32 <= byte < 127 for byte in text):
                out.append(Interpretation(address, "string", "big", "big", text.decode()))
            for word_order, byte_order in _LAYOUTS:
                data = registers_to_bytes(pair, word_order, byte_order)
                number: float = struct.unpack(">f", data)[0]
                if _plausible_float(number) and number != 0:
                    out.append(Interpretation(address, "float32", word_order, byte_order,
                                              shortest_float(number, _FLOAT32)))
            for word_order in ("big", "little"):
                data = registers_to_bytes(pair, word_order, "big")
                for kind, signed in (("uint32", False), ("int32", True)):
                    whole = int.from_bytes(data, "big", signed=signed)
                    if abs(whole) < _LARGEST and (signed is False or whole < 0) and whole > 0xFFFF:
                        out.append(Interpretation(address, kind, word_order, "big", whole))
        quad = words[offset : offset + 4]
        if len(quad) == 4:
            for word_order in ("big", "little"):
                number = struct.unpack(">d", registers_to_bytes(quad, word_order, "big"))[0]
                if _plausible_float(number) and number != 0:
                    out.append(Interpretation(address, "float64", word_order, "big",
                                              shortest_float(number, _FLOAT64)))
    return out
