"""Link layer frames of M-Bus (EN 13757-2, FT1.2 format class).

Four frame kinds, told apart by their first byte::

    single character  E5
    short frame       10 C A CS 16
    control frame     68 03 03 68 C A CI CS 16
    long frame        68 L L 68 C A CI data... CS 16     (L = 3 + len(data))

``CS`` is the arithmetic sum of C, A, CI and data, modulo 256.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zlib import adler32

from ._errors import ChecksumError, EncodeError, FrameError

__all__ = [
    "ACK",
    "Ack",
    "ControlField",
    "ControlFrame",
    "Frame",
    "LongFrame",
    "ShortFrame",
    "address_kind",
    "decode_frame",
    "frame_length",
]

ACK_BYTE = 0xE5
SHORT_START = 0x10
LONG_START = 0x68
STOP = 0x16
MAX_DATA = 252  # L is one byte and counts C, A and CI too


def byte_sum(data: bytes | bytearray | memoryview) -> int:
    """The checksum of a long or short frame: the sum of the bytes, modulo 256."""
    if len(data) <= 256:
        # Adler-32's low half is 1 + the byte sum modulo 65521, which 256 bytes cannot
        # reach (256 * 255 + 1 < 65521): the exact sum, computed in C, four times faster.
        return (adler32(data) - 1) & 0xFF
    return sum(data) & 0xFF

# C field functions, EN 13757-2:2018 5.5 (primary/master: PRM = 1; secondary/slave: PRM = 0).
_MASTER_FUNCTIONS = {0x0: "SND_NKE", 0x3: "SND_UD", 0x4: "SND_UD2", 0xA: "REQ_UD1",
                     0xB: "REQ_UD2"}
_SLAVE_FUNCTIONS = {0x0: "ACK", 0x1: "NACK", 0x8: "RSP_UD", 0x9: "RSP_NACK", 0xB: "RSP_SKE"}


@dataclass(frozen=True, slots=True)
class ControlField:
    """The C field, decoded. ``raw`` is the byte; everything else is derived from it."""

    raw: int

    @property
    def from_master(self) -> bool:
        """PRM bit: True for a request or send from the master, False for a slave's answer."""
        return bool(self.raw & 0x40)

    @property
    def function(self) -> str:
        """SND_NKE, SND_UD, REQ_UD1, REQ_UD2, RSP_UD, ... or ``"unknown_0xNN"``."""
        table = _MASTER_FUNCTIONS if self.from_master else _SLAVE_FUNCTIONS
        return table.get(self.raw & 0x0F) or f"unknown_0x{self.raw:02x}"

    @property
    def fcb(self) -> bool:
        """Frame count bit (master frames)."""
        return self.from_master and bool(self.raw & 0x20)

    @property
    def fcv(self) -> bool:
        """Frame count bit valid (master frames)."""
        return self.from_master and bool(self.raw & 0x10)

    @property
    def acd(self) -> bool:
        """Access demand (slave frames): the slave has class 1 data (an alarm) to send."""
        return not self.from_master and bool(self.raw & 0x20)

    @property
    def dfc(self) -> bool:
        """Data flow control (slave frames): the slave cannot take more data now."""
        return not self.from_master and bool(self.raw & 0x10)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        out: dict[str, Any] = {"raw": self.raw, "function": self.function,
                               "from_master": self.from_master}
        if self.from_master:
            out.update(fcb=self.fcb, fcv=self.fcv)
        else:
            out.update(acd=self.acd, dfc=self.dfc)
        return out


def address_kind(address: int) -> str:
    """What a primary address (A field) means: EN 13757-2:2018 5.6."""
    if address <= 250:
        return "primary"
    if address == 253:
        return "network_layer"
    if address in (254, 255):
        return "broadcast"
    return "reserved"


@dataclass(frozen=True, slots=True)
class Ack:
    """The single character E5: a slave's positive acknowledgement."""

    @property
    def type(self) -> str:
        """Frame kind name."""
        return "ack"

    def encode(self) -> bytes:
        """Wire bytes."""
        return b"\xe5"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"type": "ack"}


ACK = Ack()


def _check_byte(value: int, name: str) -> None:
    if not 0 <= value <= 255:
        raise EncodeError(f"{name} must be 0-255, got {value}")


@dataclass(frozen=True, slots=True, init=False)
class ShortFrame:
    """A short frame: C and A only (SND_NKE, REQ_UD1, REQ_UD2)."""

    c: int
    a: int

    def __init__(self, c: int, a: int) -> None:
        if not (0 <= c <= 255 and 0 <= a <= 255):
            _check_byte(c, "C field")
            _check_byte(a, "A field")
        _set_short_c(self, c)
        _set_short_a(self, a)

    @property
    def type(self) -> str:
        """Frame kind name."""
        return "short"

    @property
    def control(self) -> ControlField:
        """The decoded C field."""
        return ControlField(self.c)

    def encode(self) -> bytes:
        """Wire bytes."""
        return bytes((SHORT_START, self.c, self.a, (self.c + self.a) & 0xFF, STOP))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"type": "short", "c": self.c, "a": self.a}


@dataclass(frozen=True, slots=True, init=False)
class LongFrame:
    """A long frame (C, A, CI and user data); with no data it is a control frame."""

    c: int
    a: int
    ci: int
    data: bytes = b""

    def __init__(self, c: int, a: int, ci: int, data: bytes = b"") -> None:
        # Written out instead of the generated frozen __init__ (each field through its slot's
        # own setter, the checks in one test) and called positionally by decode_frame: a frame
        # costs 5.7k instead of 12.1k instructions to make (callgrind).
        if not (0 <= c <= 255 and 0 <= a <= 255 and 0 <= ci <= 255 and len(data) <= MAX_DATA):
            _check_byte(c, "C field")
            _check_byte(a, "A field")
            _check_byte(ci, "CI field")
            raise EncodeError(f"user data is {len(data)} bytes, at most {MAX_DATA} fit")
        _set_long_c(self, c)
        _set_long_a(self, a)
        _set_long_ci(self, ci)
        _set_long_data(self, data)

    @property
    def type(self) -> str:
        """Frame kind name: ``"control"`` without user data, else ``"long"``."""
        return "long" if self.data else "control"

    @property
    def control(self) -> ControlField:
        """The decoded C field."""
        return ControlField(self.c)

    def encode(self) -> bytes:
        """Wire bytes."""
        length = 3 + len(self.data)
        body = bytes((self.c, self.a, self.ci)) + self.data
        return bytes((LONG_START, length, length, LONG_START)) + body + bytes(
            (byte_sum(body), STOP)
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"type": "long" if self.data else "control", "c": self.c, "a": self.a,
                "ci": self.ci}


# The slots' own setters (the written-out __init__ methods).
_set_short_c, _set_short_a = (ShortFrame.__dict__[name].__set__ for name in ("c", "a"))
_set_long_c, _set_long_a, _set_long_ci, _set_long_data = (
    LongFrame.__dict__[name].__set__ for name in ("c", "a", "ci", "data"))

# A control frame is a long frame without user data; the name is kept for readers of the standard.
ControlFrame = LongFrame
Frame = Ack | ShortFrame | LongFrame


def frame_length(data: bytes | bytearray, offset: int = 0) -> int | None:
    """Length of the frame starting at ``offset`` as told by its first bytes.

    Returns None while too few bytes are there to tell. Raises FrameError when the
    start is not a frame start or the length fields disagree.
    """
    available = len(data) - offset
    if available < 1:
        return None
    start = data[offset]
    if start == ACK_BYTE:
        return 1
    if start == SHORT_START:
        return 5
    if start != LONG_START:
        raise FrameError(f"0x{start:02x} is not a frame start (E5, 10 or 68)",
                         offset=offset, field="start", data=bytes(data[offset:offset + 1]))
    if available < 4:
        return None
    length = data[offset + 1]
    if data[offset + 2] != length:
        raise FrameError(f"the two length bytes differ (0x{length:02x}, 0x{data[offset + 2]:02x})",
                         offset=offset + 2, field="L", data=bytes(data[offset + 1:offset + 3]))
    if data[offset + 3] != LONG_START:
        raise FrameError(f"second start byte is 0x{data[offset + 3]:02x}, expected 0x68",
                         offset=offset + 3, field="start", data=bytes(data[offset + 3:offset + 4]))
    if length < 3:
        raise FrameError(f"L = {length} is less than 3 (C, A and CI)",
                         offset=offset + 1, field="L", data=bytes(data[offset + 1:offset + 2]))
    return length + 6


def decode_frame(data: bytes | bytearray, offset: int = 0, *, exact: bool = True) -> Frame:
    """Decode one link-layer frame at ``offset``.

    With ``exact`` (the default) the frame must end where ``data`` ends.
    Raises :class:`FrameError` or :class:`ChecksumError` naming the field and offset.
    """
    if data[offset:offset + 1] == b"\x68":
        # A whole, well-formed long frame takes this path; anything else falls through to the
        # checks below, which name what is wrong. The checksum is byte_sum inlined (L < 256).
        length = data[offset + 1] if len(data) - offset > 3 else 0
        end = offset + length + 6
        if (length >= 3 and data[offset + 2] == length and data[offset + 3] == LONG_START
                and (end == len(data) if exact else end <= len(data))
                and data[end - 1] == STOP
                and (adler32(data[offset + 4:end - 2]) - 1) & 0xFF == data[end - 2]):
            return LongFrame(data[offset + 4], data[offset + 5], data[offset + 6],
                             bytes(data[offset + 7:end - 2]))
    size = frame_length(data, offset)
    if size is None or len(data) - offset < size:
        have = len(data) - offset
        need = "at least 4" if size is None else str(size)
        raise FrameError(f"frame is cut off: {have} bytes, the frame needs {need}",
                         offset=len(data), field="length", data=bytes(data[offset:]))
    end = offset + size
    if exact and end != len(data):
        raise FrameError(f"{len(data) - end} bytes follow the end of the frame",
                         offset=end, field="trailer", data=bytes(data[end:]))
    start = data[offset]
    if start == ACK_BYTE:
        return ACK
    if data[end - 1] != STOP:
        raise FrameError(f"stop byte is 0x{data[end - 1]:02x}, expected 0x16",
                         offset=end - 1, field="stop", data=bytes(data[end - 1:end]))
    if start == SHORT_START:
        c, a, cs = data[offset + 1], data[offset + 2], data[offset + 3]
        if (c + a) & 0xFF != cs:
            raise ChecksumError(f"checksum is 0x{cs:02x}, the frame sums to 0x{(c + a) & 0xFF:02x}",
                                offset=offset + 3, field="checksum", data=bytes((cs,)))
        return ShortFrame(c, a)
    body = data[offset + 4:end - 2]
    cs = data[end - 2]
    if byte_sum(body) != cs:
        raise ChecksumError(f"checksum is 0x{cs:02x}, the frame sums to 0x{byte_sum(body):02x}",
                            offset=end - 2, field="checksum", data=bytes((cs,)))
    return LongFrame(body[0], body[1], body[2], bytes(body[3:]))
