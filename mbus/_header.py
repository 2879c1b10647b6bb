"""Fixed header of the application layer: identification, manufacturer, medium, status.

Tables from EN 13757-3:2018 (device type Table 6, status byte Table 5) and
EN 13757-7 (CI field). The header layouts are:

* long header (CI 0x72, 0x76): ID(4, BCD) MAN(2) VER(1) MED(1) ACC(1) STS(1) SIG(2)
* short header (CI 0x7A): ACC(1) STS(1) SIG(2)
* no header (CI 0x78)
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

from ._errors import EncodeError, RecordError

__all__ = [
    "APPLICATION_ERRORS",
    "CI_NAMES",
    "MEDIUM_NAMES",
    "Header",
    "decode_bcd_id",
    "decode_manufacturer",
    "encode_bcd_id",
    "encode_manufacturer",
    "medium_name",
    "status_flags",
]

# Device type (medium), EN 13757-3:2018 Table 6 (snake_case names).
MEDIUM_NAMES: dict[int, str] = {
    0x00: "other",
    0x01: "oil",
    0x02: "electricity",
    0x03: "gas",
    0x04: "heat",
    0x05: "steam",
    0x06: "warm_water",
    0x07: "water",
    0x08: "heat_cost_allocator",
    0x09: "compressed_air",
    0x0A: "cooling_outlet",
    0x0B: "cooling_inlet",
    0x0C: "heat_inlet",
    0x0D: "heat_cooling",
    0x0E: "bus_system_component",
    0x0F: "unknown",
    0x10: "irrigation_water",
    0x11: "water_data_logger",
    0x12: "gas_data_logger",
    0x13: "gas_converter",
    0x14: "calorific_value",
    0x15: "hot_water",
    0x16: "cold_water",
    0x17: "dual_register_water",
    0x18: "pressure",
    0x19: "ad_converter",
    0x1A: "smoke_detector",
    0x1B: "room_sensor",
    0x1C: "gas_detector",
    0x20: "breaker",
    0x21: "valve",
    0x25: "customer_unit",
    0x28: "waste_water",
    0x29: "garbage",
    0x2A: "carbon_dioxide",
    0x30: "service_tool",
    0x31: "communication_controller",
    0x32: "unidirectional_repeater",
    0x33: "bidirectional_repeater",
    0x36: "radio_converter_system_side",
    0x37: "radio_converter_meter_side",
    0x38: "wired_adapter",
    0xFF: "wildcard",
}

# CI field values, EN 13757-7:2018 Table 2 and EN 13757-3:2018 (names as used here).
CI_NAMES: dict[int, str] = {
    0x50: "application_reset",
    0x51: "command",
    0x52: "selection",
    0x53: "application_reset_long",
    0x54: "request_application",
    0x5A: "command_short",
    0x5B: "command_long",
    0x6E: "application_error_short",
    0x6F: "application_error_long",
    0x70: "application_error",
    0x71: "alarm",
    0x72: "response_long",
    0x73: "response_fixed",
    0x74: "alarm_short",
    0x75: "alarm_long",
    0x76: "response_long_msb",
    0x77: "response_fixed_msb",
    0x78: "response",
    0x79: "compact_frame",
    0x7A: "response_short",
    0x8C: "ell_short",
    0x8D: "ell_long",
    0x8E: "ell_short_destination",
    0x8F: "ell_long_destination",
    0x90: "afl",
    **{0xB8 + i: f"set_baud_{rate}" for i, rate in
       enumerate((300, 600, 1200, 2400, 4800, 9600, 19200, 38400))},
    **{code: "manufacturer_specific" for code in range(0xA0, 0xB8)},
}

# Application errors (CI 0x70), EN 13757-3:2018 Table 19.
APPLICATION_ERRORS: dict[int, str] = {
    0x00: "unspecified error",
    0x01: "unimplemented CI field",
    0x02: "buffer too long, truncated",
    0x03: "too many records",
    0x04: "premature end of record",
    0x05: "more than 10 DIFEs",
    0x06: "more than 10 VIFEs",
    0x08: "application too busy for handling readout request",
    0x09: "too many readouts",
}

# Status byte, EN 13757-3:2018 Table 5: bits 0-1 application state, then flags.
_APPLICATION_STATE = ("ok", "application_busy", "application_error", "abnormal_condition")
_STATUS_BITS = ((0x04, "power_low"), (0x08, "permanent_error"), (0x10, "temporary_error"),
                (0x20, "manufacturer_1"), (0x40, "manufacturer_2"), (0x80, "manufacturer_3"))


def medium_name(code: int) -> str:
    """Name of a device type (medium) byte; reserved codes give ``"reserved_0xNN"``."""
    return MEDIUM_NAMES.get(code) or f"reserved_0x{code:02x}"


def status_flags(status: int) -> tuple[str, ...]:
    """Names of the set bits of a status byte (the application state first, unless ok)."""
    names = [] if status & 3 == 0 else [_APPLICATION_STATE[status & 3]]
    names.extend(name for bit, name in _STATUS_BITS if status & bit)
    return tuple(names)


_MANUFACTURERS: dict[int, str] = {}


def decode_manufacturer(code: int) -> str:
    """Three-letter FLAG code of a 2-byte manufacturer field (EN 62056-21 letters).

    Each letter is five bits, ``A`` = 1; codes outside A-Z come out as the
    characters ``@[\\]^_`` so that the mapping stays reversible.
    """
    name = _MANUFACTURERS.get(code)
    if name is None:
        name = "".join(chr(64 + ((code >> shift) & 0x1F)) for shift in (10, 5, 0))
        if len(_MANUFACTURERS) < 4096:
            _MANUFACTURERS[code] = name
    return name


def encode_manufacturer(name: str) -> int:
    """Inverse of :func:`decode_manufacturer`."""
    if len(name) != 3 or any(not 0x40 <= ord(ch) <= 0x5F for ch in name):
        raise EncodeError(f"manufacturer must be three letters A-Z, got {name!r}")
    return ((ord(name[0]) - 64) << 10) | ((ord(name[1]) - 64) << 5) | (ord(name[2]) - 64)


def decode_bcd_id(raw: bytes) -> str:
    """Identification number as printed on the meter: BCD digits, most significant first.

    Non-decimal nibbles (wildcards 0xF, or broken data) are kept as hex digits.
    """
    return raw[::-1].hex().upper()


def encode_bcd_id(ident: str, size: int = 4) -> bytes:
    """Encode an identification number (up to ``2 * size`` digits, 0-9 or hex) as BCD."""
    text = ident.rjust(2 * size, "0")
    if len(text) != 2 * size:
        raise EncodeError(f"identification number {ident!r} has more than {2 * size} digits")
    try:
        return bytes.fromhex(text)[::-1]
    except ValueError:
        raise EncodeError(f"identification number {ident!r} is not made of digits") from None


class Header(NamedTuple):
    """The fixed header of a variable-data response (long or short form).

    An immutable named tuple (built once per telegram on the hot decode path,
    where a tuple is cheaper to make than a frozen dataclass).

    In a short header (CI 0x7A) or no header (CI 0x78) the identification,
    manufacturer, version and medium are ``None``: they belong to the link layer
    (wireless M-Bus) and are filled in by the caller that knows them.
    """

    id: str | None = None
    manufacturer: str | None = None
    version: int | None = None
    medium: int | None = None
    access_number: int | None = None
    status: int | None = None
    signature: int | None = None

    @property
    def medium_name(self) -> str | None:
        """The medium as a name (``"heat"``, ``"water"``, ...)."""
        return None if self.medium is None else medium_name(self.medium)

    @property
    def status_flags(self) -> tuple[str, ...]:
        """Names of the set status bits."""
        return () if self.status is None else status_flags(self.status)

    @property
    def secondary_address(self) -> str | None:
        """ID, manufacturer, version and medium as 16 hex digits (as libmbus prints it).

        A selection's wildcard manufacturer ``***`` is FFFF, as it was sent.
        """
        if self.id is None or self.manufacturer is None or self.version is None:
            return None
        code = 0xFFFF if self.manufacturer == "***" else encode_manufacturer(self.manufacturer)
        return f"{self.id}{code & 0xFF:02X}{code >> 8:02X}{self.version:02X}{self.medium or 0:02X}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form; keys are left out where the header form has no such field."""
        ident, manufacturer, version, medium, access_number, status, signature = self
        out: dict[str, Any]
        if ident is not None:
            out = {"id": ident, "manufacturer": manufacturer, "version": version,
                   "medium": None if medium is None else (
                       MEDIUM_NAMES.get(medium) or medium_name(medium))}
        else:
            out = {}
        if access_number is not None:
            out["access_number"] = access_number
            out["status"] = status
            if status:
                out["status_flags"] = list(status_flags(status))
            if signature is not None:
                out["signature"] = signature
        return out

    @classmethod
    def decode_long(cls, data: bytes, offset: int, msb_first: bool = False) -> Header:
        """Decode the 12-byte long header at ``offset``."""
        if len(data) - offset < 12:
            raise RecordError(
                f"long header needs 12 bytes, {len(data) - offset} left",
                offset=offset, field="header", data=data[offset:],
            )
        if not msb_first:
            # ID as a little-endian int: its hex digits are the BCD digits, most significant first.
            raw, code, version, medium, access, status, signature = _LONG_LSB.unpack_from(
                data, offset)
            return cls(f"{raw:08X}", _MANUFACTURERS.get(code) or decode_manufacturer(code),
                       version, medium, access, status, signature)
        raw_id = data[offset:offset + 4][::-1]
        man = data[offset + 4:offset + 6][::-1]
        sig = data[offset + 10:offset + 12][::-1]
        return cls(decode_bcd_id(raw_id), decode_manufacturer(man[0] | man[1] << 8),
                   data[offset + 6], data[offset + 7], data[offset + 8], data[offset + 9],
                   sig[0] | sig[1] << 8)

    @classmethod
    def decode_short(cls, data: bytes, offset: int) -> Header:
        """Decode the 4-byte short header at ``offset``."""
        if len(data) - offset < 4:
            raise RecordError(
                f"short header needs 4 bytes, {len(data) - offset} left",
                offset=offset, field="header", data=data[offset:],
            )
        return cls(
            access_number=data[offset],
            status=data[offset + 1],
            signature=data[offset + 2] | data[offset + 3] << 8,
        )

    def encode_long(self) -> bytes:
        """The 12 bytes of a long header."""
        if self.id is None or self.manufacturer is None:
            raise EncodeError("a long header needs id and manufacturer")
        man = encode_manufacturer(self.manufacturer)
        sig = self.signature or 0
        return (
            encode_bcd_id(self.id)
            + bytes((man & 0xFF, man >> 8, _byte(self.version, "version"),
                     _byte(self.medium, "medium"), _byte(self.access_number, "access_number"),
                     _byte(self.status, "status"), sig & 0xFF, (sig >> 8) & 0xFF))
        )

    def encode_short(self) -> bytes:
        """The 4 bytes of a short header."""
        sig = self.signature or 0
        return bytes((_byte(self.access_number, "access_number"), _byte(self.status, "status"),
                      sig & 0xFF, (sig >> 8) & 0xFF))


# ID (4), manufacturer (2), version, medium, access number, status, signature (2).
_LONG_LSB = struct.Struct("<IHBBBBH")


def _byte(value: int | None, name: str) -> int:
    value = value or 0
    if not 0 <= value <= 255:
        raise EncodeError(f"{name} must be 0-255, got {value}")
    return value
