"""Fixed data structure (CI 0x73, and 0x77 most significant byte first), EN 13757-3:2004 Annex.

Layout after the CI field: ID(4, BCD) ACC(1) STS(1) MED/UNIT(2) COUNTER1(4) COUNTER2(4).
Status bit 7 tells the counter coding (0 = BCD, 1 = binary), bit 6 whether the
counters are stored values (1) or actual values (0). The two bytes "MED/UNIT"
carry a 6-bit unit code for each counter and the medium in their top bits.
"""

from __future__ import annotations

from functools import lru_cache

from ._errors import RecordError
from ._header import Header
from ._records import Record, RecordShape

__all__ = ["FIXED_MEDIUM", "FIXED_UNITS", "decode_fixed"]

# Medium of the fixed structure (4 bits), mapped to the device-type codes of Table 6.
FIXED_MEDIUM: dict[int, int] = {
    0x0: 0x00, 0x1: 0x01, 0x2: 0x02, 0x3: 0x03, 0x4: 0x04, 0x5: 0x05, 0x6: 0x06, 0x7: 0x07,
    0x8: 0x08, 0xA: 0x03, 0xB: 0x04, 0xC: 0x06, 0xD: 0x07, 0xE: 0x08,
}


def _units() -> dict[int, tuple[str, str, int]]:
    table: dict[int, tuple[str, str, int]] = {0x00: ("time_hms", "", 0), 0x01: ("date_dmy", "", 0)}
    groups = ((0x02, "energy", "Wh", 0), (0x0B, "energy", "J", 3), (0x14, "power", "W", 0),
              (0x1D, "power", "J/h", 3), (0x26, "volume", "m3", -6),
              (0x2F, "volume_flow", "m3/h", -6))
    for first, quantity, unit, exponent in groups:
        for step in range(9):  # 1, 10, 100 of three prefixes
            table[first + step] = (quantity, unit, exponent + step)
    table[0x38] = ("temperature", "degC", -3)
    table[0x39] = ("hca_units", "", 0)
    table[0x3F] = ("dimensionless", "", 0)
    return table


# Unit codes of the fixed structure (EN 1434-3:1997 Table 6 / EN 13757-3:2004 Table E.1).
FIXED_UNITS = _units()
_HISTORIC = 0x3E  # "same unit as counter 1, historic value"


# One shape per distinct unit/coding (at most 64 * 2 * 2 * 64), as the scanner's shape cache.
@lru_cache(maxsize=4096)
def _shape(unit_code: int, bcd: bool, stored: bool, reference: int) -> RecordShape:
    flags: tuple[str, ...] = ()
    storage = 1 if stored else 0
    if unit_code == _HISTORIC:
        unit_code, storage = reference, 1
    quantity, unit, exponent = FIXED_UNITS.get(unit_code, ("reserved", "", 0))
    if quantity == "reserved":
        flags = ("reserved_unit",)
    return RecordShape(header=b"", dib_length=0, coding="bcd8" if bcd else "int32", length=4,
                       function="instantaneous", storage=storage, tariff=0, subunit=0,
                       quantity=quantity, unit=unit, exponent=exponent, flags=flags,
                       reading="bcd" if bcd else "signed", unit_code=unit_code)


def decode_fixed(
    data: bytes, base_offset: int, msb_first: bool
) -> tuple[Header, tuple[Record, ...]]:
    """Decode the 16 bytes after CI 0x73/0x77 into a header and two counter records."""
    if len(data) != 16:
        raise RecordError(f"fixed data structure has 16 bytes, this one {len(data)}",
                          offset=base_offset, field="fixed_data", data=data)

    def field(start: int, size: int) -> bytes:
        raw = data[start:start + size]
        return raw[::-1] if msb_first else raw

    status = data[5]
    type1, type2 = data[6], data[7]
    medium = FIXED_MEDIUM.get((type1 >> 6) | (type2 >> 6) << 2, 0x0F)
    header = Header(id=field(0, 4)[::-1].hex().upper(), manufacturer=None, version=None,
                    medium=medium, access_number=data[4], status=status, signature=None)
    bcd, stored = not status & 0x80, bool(status & 0x40)
    first = _shape(type1 & 0x3F, bcd, stored, type1 & 0x3F)
    second = _shape(type2 & 0x3F, bcd, stored, type1 & 0x3F)
    counters = (Record(first, field(8, 4)), Record(second, field(12, 4)))
    return header, counters


