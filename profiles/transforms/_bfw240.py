"""BFW 240 radio heat cost allocators: the packed monthly history, unpacked.

Source: the public behaviour of wmbusmeters' bfw240radio driver (its test telegrams and
the values it prints for them). The telegram (CI 0x7A, no records) carries, after the
two filler bytes 2F 2F and two bytes more: the units of the previous billing period and
of the current one (big-endian uint16 each), two bytes, then eighteen monthly values
packed two to three bytes as 12-bit numbers (the oldest pair first), then the device
date as BCD day, month, year.

The 12-bit pairs are not whole bytes nor a contiguous bit range of any integer
(month 2k+1 is ``(b1 & 0x0F) << 8 | b2``, month 2k+2 is ``(b1 >> 4) << 8 | b0``), so a
layout cannot read them: this transform rewrites them as plain little-endian uint16.
"""

from __future__ import annotations

import struct

from ._context import NO_CONTEXT, TransformContext
from ._errors import TransformError

__all__ = ["OUTPUT_LENGTH", "bfw240_history"]

_PREVIOUS = 4  # offsets in the payload after the TPL header
_HISTORY = 10
_PAIRS = 9
_DATE = _HISTORY + 3 * _PAIRS
INPUT_LENGTH = _DATE + 3
OUTPUT_LENGTH = 2 + 2 + 2 * 2 * _PAIRS + 3
"""previous units, current units, months 1-18 (1 = last month), date (BCD day, month, year)."""
_NUMBERS = struct.Struct(f"<{2 + 2 * _PAIRS}H")  # previous, current, months 1-18


def bfw240_history(data: bytes, context: TransformContext = NO_CONTEXT) -> bytes:
    """The payload rewritten as: previous, current, months 1-18 (uint16 LE each), the date.

    Raises :class:`TransformError` when the payload is shorter than the layout needs.
    """
    if len(data) < INPUT_LENGTH:
        raise TransformError(f"a BFW 240 payload has {INPUT_LENGTH} bytes, this one "
                             f"{len(data)}", offset=len(data))
    previous = int.from_bytes(data[_PREVIOUS:_PREVIOUS + 2], "big")
    current = int.from_bytes(data[_PREVIOUS + 2:_PREVIOUS + 4], "big")
    months = [0] * (2 * _PAIRS)
    for pair in range(_PAIRS):  # pair 0 holds months 18 and 17, pair 8 months 2 and 1
        b0, b1, b2 = data[_HISTORY + 3 * pair:_HISTORY + 3 * pair + 3]
        newer = 2 * (_PAIRS - 1 - pair)  # index of the odd month of this pair
        months[newer] = (b1 & 0x0F) << 8 | b2
        months[newer + 1] = (b1 >> 4) << 8 | b0
    return _NUMBERS.pack(previous, current, *months) + data[_DATE:_DATE + 3]
