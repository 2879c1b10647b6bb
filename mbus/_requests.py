"""Requests of an M-Bus master and secondary addresses with wildcards.

A :class:`Request` says what to send and what answer to expect; the frame
count bit (FCB) is filled in by the master, which keeps it per slave
(EN 13757-2:2018 5.5: the FCB toggles after every successful FCV exchange and
stays the same when a request is repeated, so the slave repeats its answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ._frames import Frame, LongFrame, ShortFrame
from ._header import Header, decode_manufacturer, encode_manufacturer
from ._master_errors import AddressError
from ._records import Record, encode_records

__all__ = [
    "BAUD_RATES",
    "BROADCAST_ADDRESS",
    "NETWORK_ADDRESS",
    "Request",
    "SecondaryAddress",
    "application_reset",
    "deselect",
    "req_ud1",
    "req_ud2",
    "select",
    "set_baud_rate",
    "set_primary_address",
    "snd_nke",
    "snd_ud",
]

NETWORK_ADDRESS = 253  # the selected slave (secondary addressing), EN 13757-2:2018 5.6
BROADCAST_ADDRESS = 254  # every slave answers (collisions guaranteed with more than one)

# Baud rate change CI 0xB8-0xBF, EN 13757-3:2018 Table 2.
BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400)

# C field function codes with PRM set, EN 13757-2:2018 Table 4; FCV = 0x10, FCB = 0x20.
_FUNCTION_CODES = {"SND_NKE": 0x40, "SND_UD": 0x43, "REQ_UD1": 0x4A, "REQ_UD2": 0x4B}
_FCV, _FCB = 0x10, 0x20

Function = Literal["SND_NKE", "SND_UD", "REQ_UD1", "REQ_UD2"]
Expect = Literal["ack", "data", "any"]


def _check_primary(address: int, *, allow_network: bool = True) -> int:
    if not isinstance(address, int) or not 0 <= address <= 255:
        raise AddressError(f"{address!r} is not an address 0-255", field="primary")
    if address > 250 and not (allow_network and address in (NETWORK_ADDRESS, BROADCAST_ADDRESS,
                                                             255)):
        raise AddressError(f"{address} is not a primary address 0-250", field="primary")
    return address


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One request of the master and the answer it expects.

    Attributes:
        function: SND_NKE, SND_UD, REQ_UD1 or REQ_UD2.
        address: the A field.
        ci, data: CI field and user data of a SND_UD (None and empty for short frames).
        fcv: set the frame count valid bit (not for SND_NKE); then the master fills in
            the FCB it keeps for ``address`` unless ``fcb`` fixes it.
        expect: ``"ack"`` (E5), ``"data"`` (RSP_UD) or ``"any"`` (REQ_UD1: E5 or RSP_UD).
        retry: the master may repeat the request when the answer was garbled.
        retry_silence: the master may also repeat it after a timeout.
    """

    function: Function
    address: int
    ci: int | None = None
    data: bytes = b""
    fcv: bool = True
    fcb: bool | None = None
    expect: Expect = "ack"
    retry: bool = True
    retry_silence: bool = False

    def __post_init__(self) -> None:
        if self.function not in _FUNCTION_CODES:
            raise AddressError(f"unknown function {self.function!r}", field="function")
        _check_primary(self.address)

    @property
    def uses_fcb(self) -> bool:
        """True when the frame carries a frame count bit that the master must toggle."""
        return self.function != "SND_NKE" and self.fcv and self.fcb is None

    def frame(self, fcb: bool = False) -> Frame:
        """The frame with the given FCB (ignored where ``fcb`` is fixed or FCV is off)."""
        c = _FUNCTION_CODES[self.function]
        if self.function != "SND_NKE" and self.fcv:
            c |= _FCV
            bit = fcb if self.fcb is None else self.fcb
            c |= _FCB if bit else 0
        if self.ci is None:
            return ShortFrame(c=c, a=self.address)
        return LongFrame(c=c, a=self.address, ci=self.ci, data=self.data)

    def encode(self, fcb: bool = False) -> bytes:
        """Wire bytes with the given FCB."""
        return self.frame(fcb).encode()

    def describe(self) -> str:
        """Short text for logs and progress: ``REQ_UD2 to 5``."""
        ci = "" if self.ci is None else f" CI 0x{self.ci:02x}"
        return f"{self.function}{ci} to {self.address}"


_ID_PATTERN = re.compile(r"[0-9A-Fa-f]{8}")
_TEXT_PATTERN = re.compile(r"[0-9A-Fa-f]{16}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SecondaryAddress:
    """A secondary address (EN 13757-3:2018 11.5), possibly with wildcards.

    ``id`` is 8 hex digits as printed on the meter; an ``F`` nibble is a wildcard.
    ``manufacturer`` is the 2-byte code (0xFFFF = any), ``version`` and ``medium``
    one byte each (0xFF = any). The text form is 16 hex digits as libmbus prints it:
    ID, manufacturer low byte, manufacturer high byte, version, medium.

    >>> from mbus import SecondaryAddress
    >>> address = SecondaryAddress.parse("1234567824232504")
    >>> address.manufacturer_name, address.version, address.medium
    ('HYD', 37, 4)
    >>> str(SecondaryAddress.parse("12FFFFFFFFFFFFFF"))
    '12FFFFFFFFFFFFFF'
    """

    id: str
    manufacturer: int = 0xFFFF
    version: int = 0xFF
    medium: int = 0xFF

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_PATTERN.fullmatch(self.id):
            raise AddressError(f"{self.id!r} is not 8 hex digits", field="id")
        object.__setattr__(self, "id", self.id.upper())
        for name, value, top in (("manufacturer", self.manufacturer, 0xFFFF),
                                 ("version", self.version, 0xFF), ("medium", self.medium, 0xFF)):
            if not isinstance(value, int) or not 0 <= value <= top:
                raise AddressError(f"{value!r} is not 0-{top:#x}", field=name)

    @classmethod
    def parse(cls, text: str) -> SecondaryAddress:
        """From 16 hex digits (``1234567824232504``); fewer digits are padded with F."""
        cleaned = text.strip().replace(" ", "").replace(".", "")
        if len(cleaned) < 16 and re.fullmatch(r"[0-9A-Fa-f]*", cleaned):
            cleaned = cleaned.ljust(16, "F")
        if not _TEXT_PATTERN.fullmatch(cleaned):
            raise AddressError(f"{text!r} is not a secondary address of 16 hex digits",
                               field="secondary")
        return cls(id=cleaned[:8], manufacturer=int(cleaned[10:12] + cleaned[8:10], 16),
                   version=int(cleaned[12:14], 16), medium=int(cleaned[14:16], 16))

    @classmethod
    def from_header(cls, header: Header) -> SecondaryAddress:
        """The full address of a meter from its long header."""
        if header.id is None or header.manufacturer is None:
            raise AddressError("the header has no identification (short or no header)",
                               field="header")
        return cls(id=header.id, manufacturer=encode_manufacturer(header.manufacturer),
                   version=header.version or 0, medium=header.medium or 0)

    @classmethod
    def decode(cls, data: bytes) -> SecondaryAddress:
        """From the 8 bytes of a selection (ID LSB first, manufacturer, version, medium)."""
        if len(data) < 8:
            raise AddressError(f"a secondary address has 8 bytes, got {len(data)}",
                               field="secondary")
        return cls(id=data[3::-1].hex(), manufacturer=data[4] | data[5] << 8,
                   version=data[6], medium=data[7])

    def encode(self) -> bytes:
        """The 8 bytes of a selection."""
        return bytes.fromhex(self.id)[::-1] + bytes(
            (self.manufacturer & 0xFF, self.manufacturer >> 8, self.version, self.medium))

    def __str__(self) -> str:
        m = self.manufacturer
        return f"{self.id}{m & 0xFF:02X}{m >> 8:02X}{self.version:02X}{self.medium:02X}"

    @property
    def manufacturer_name(self) -> str | None:
        """Three letters, or None for the wildcard."""
        return None if self.manufacturer == 0xFFFF else decode_manufacturer(self.manufacturer)

    @property
    def has_wildcards(self) -> bool:
        """True when any part is a wildcard."""
        return "F" in self.id or self.manufacturer == 0xFFFF or 0xFF in (self.version,
                                                                          self.medium)

    def matches(self, other: SecondaryAddress) -> bool:
        """True when ``other`` (a meter's full address) is selected by this mask."""
        if any(mine != "F" and mine != theirs for mine, theirs in zip(self.id, other.id,
                                                                        strict=True)):
            return False
        return (self.manufacturer in (0xFFFF, other.manufacturer)
                and self.version in (0xFF, other.version)
                and self.medium in (0xFF, other.medium))

    def with_digit(self, position: int, digit: str) -> SecondaryAddress:
        """The mask with ID digit ``position`` (0 = most significant) set to ``digit``."""
        ident = self.id[:position] + digit + self.id[position + 1:]
        return SecondaryAddress(id=ident, manufacturer=self.manufacturer, version=self.version,
                                medium=self.medium)

    def to_dict(self) -> dict[str, Any]:
        """``{"secondary": "<16 hex digits>", "id", "manufacturer", "version", "medium"}``."""
        return {"secondary": str(self), "id": self.id, "manufacturer": self.manufacturer_name,
                "version": self.version, "medium": self.medium}


def snd_nke(address: int) -> Request:
    """SND_NKE: link reset; the slave acknowledges and resets its FCB state."""
    return Request(function="SND_NKE", address=address, expect="ack")


def req_ud2(address: int, *, retry: bool = True, retry_silence: bool = False) -> Request:
    """REQ_UD2: class 2 data (the meter's readout), FCV set, FCB from the master."""
    return Request(function="REQ_UD2", address=address, expect="data", retry=retry,
                   retry_silence=retry_silence)


def req_ud1(address: int) -> Request:
    """REQ_UD1: class 1 data (alarms); a slave without any answers E5."""
    return Request(function="REQ_UD1", address=address, expect="any")


def snd_ud(address: int, records: tuple[Record, ...] | list[Record] = (), *, ci: int = 0x51,
           data: bytes | None = None) -> Request:
    """SND_UD: send data records (CI 0x51) or raw ``data`` under another CI."""
    payload = encode_records(records) if data is None else data
    return Request(function="SND_UD", address=address, ci=ci, data=payload, expect="ack")


def application_reset(address: int, subcode: int | None = None) -> Request:
    """Application reset (CI 0x50), with an optional subcode byte (EN 13757-3:2018 Table 31)."""
    if subcode is not None and not 0 <= subcode <= 255:
        raise AddressError(f"subcode {subcode} is not a byte", field="subcode")
    data = b"" if subcode is None else bytes((subcode,))
    return Request(function="SND_UD", address=address, ci=0x50, data=data, expect="ack")


def set_primary_address(address: int, new_address: int) -> Request:
    """Write a new primary address: record DIF 0x01 VIF 0x7A (EN 13757-3:2018 Table 14)."""
    _check_primary(new_address, allow_network=False)
    return Request(function="SND_UD", address=address, ci=0x51,
                   data=bytes((0x01, 0x7A, new_address)), expect="ack")


def set_baud_rate(address: int, baud: int) -> Request:
    """Switch the slave's baud rate (CI 0xB8-0xBF); it acknowledges at the old rate."""
    if baud not in BAUD_RATES:
        raise AddressError(f"{baud} Bd is not one of {BAUD_RATES}", field="baud")
    return Request(function="SND_UD", address=address, ci=0xB8 + BAUD_RATES.index(baud),
                   expect="ack")


def select(mask: SecondaryAddress, *, retry: bool = False) -> Request:
    """Secondary selection (CI 0x52 to address 253); only matching slaves acknowledge.

    The FCB is fixed at 0: the selection resets the selected slave's frame count.
    Selections are not repeated on garbled answers: several E5 at once are
    normal and arrive as one E5.
    """
    return Request(function="SND_UD", address=NETWORK_ADDRESS, ci=0x52, data=mask.encode(),
                   fcb=False, expect="ack", retry=retry)


def deselect() -> Request:
    """SND_NKE to 253: the selected slave is deselected (and resets its FCB)."""
    return Request(function="SND_NKE", address=NETWORK_ADDRESS, expect="ack")
