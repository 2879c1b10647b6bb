"""Link layer of wireless M-Bus (EN 13757-4): frame formats A and B, C, M and A fields.

A received frame comes in one of three shapes, tried in this order:

* format A: block 1 is L C M A (10 bytes) + CRC; then blocks of 16 bytes, each
  followed by its CRC; L counts the bytes after L without the CRCs;
* format B: block 1 (10 bytes) has no CRC; block 2 (up to 126 bytes from L on)
  ends with a CRC over blocks 1 and 2; an optional block 3 has its own CRC; L
  counts the CRCs;
* none: the CRCs were removed by the receiver (most dongles and test data).

Bytes after the frame's end (a receiver's RSSI byte, ...) are kept as
``trailing`` and reported, never silently dropped. A frame whose L field was
removed (it starts with a C field and is shorter than L says) is recognised and
reported with ``l_field=False``. Wired M-Bus long frames (``68 L L 68``) are
accepted too, so that one decoder reads both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import mbus
import mbus.records

from ._crc import crc16_en13757, crc16_en13757_whole
from ._errors import CRCError, EncodeError, LinkError

__all__ = [
    "C_FUNCTIONS",
    "LinkLayer",
    "add_crcs",
    "build_frame",
    "parse_link",
]

# C field, EN 13757-4:2019 Table 6 (meter/other device functions).
C_FUNCTIONS: dict[int, str] = {
    0x40: "SND_NKE", 0x44: "SND_NR", 0x46: "SND_IR", 0x47: "ACC_NR", 0x48: "ACC_DMD",
    0x53: "SND_UD", 0x73: "SND_UD", 0x5A: "REQ_UD1", 0x7A: "REQ_UD1", 0x5B: "REQ_UD2",
    0x7B: "REQ_UD2", 0x00: "ACK", 0x10: "ACK", 0x20: "ACK", 0x30: "ACK", 0x01: "NACK",
    0x06: "CNF_IR", 0x08: "RSP_UD", 0x18: "RSP_UD", 0x28: "RSP_UD", 0x38: "RSP_UD",
    0x43: "SND_UD3",
}

_BLOCK1 = 10  # L C M(2) A(6)
_B_BLOCK2_END = 126  # format B: block 2 ends here (CRC at 126-127)


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkLayer:
    """The data-link layer of one frame, as received.

    ``format`` is ``"A"`` or ``"B"`` when link CRCs were found and checked
    (``crcs`` of them), ``"none"`` when the input carried no CRCs, ``"wired"``
    for an EN 13757-2 long frame (then ``address`` is its primary address and
    the meter's identity comes from the TPL header). ``trailing`` holds bytes
    received after the frame's end.
    """

    format: str
    c: int
    manufacturer: str | None = None
    id: str | None = None
    version: int | None = None
    device_type: int | None = None
    length: int | None = None
    l_field: bool = True
    crcs: int = 0
    trailing: bytes = b""
    address: int | None = None
    raw_address: bytes = field(default=b"", repr=False, compare=False)

    @property
    def function(self) -> str:
        """The C field's function (SND_NR, SND_IR, RSP_UD, ...)."""
        if self.format == "wired":
            return mbus.records.ControlField(self.c).function
        return C_FUNCTIONS.get(self.c) or f"unknown_0x{self.c:02x}"

    @property
    def medium_name(self) -> str | None:
        """The device type as a name (``"water"``, ``"heat"``, ...)."""
        return None if self.device_type is None else mbus.records.medium_name(self.device_type)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        # Link layers repeat (one per meter, shared by _link_layer): their dicts are built once.
        memo = _LINK_DICTS.get(id(self))
        if memo is not None and memo[0] is self:
            return memo[1].copy()
        out: dict[str, Any] = {"format": self.format, "crcs": self.crcs, "c": self.c,
                               "function": self.function}
        if self.address is not None:
            out["address"] = self.address
        if self.manufacturer is not None:
            out["manufacturer"] = self.manufacturer
            out["id"] = self.id
            out["version"] = self.version
            out["device_type"] = self.device_type
            out["medium"] = self.medium_name
        if self.length is not None:
            out["length"] = self.length
        if not self.l_field:
            out["l_field"] = False
        if self.trailing:
            out["trailing"] = self.trailing.hex()
        if len(_LINK_DICTS) >= _MAX_SHARED:
            _LINK_DICTS.clear()
        # The memo holds the object itself, so its id cannot be reused while the entry lives.
        _LINK_DICTS[id(self)] = (self, out)
        return out.copy()


_MAX_SHARED = 4096  # bound of the link layer and dict memos (more meters than that: start over)
_LINK_DICTS: dict[int, tuple[LinkLayer, dict[str, Any]]] = {}


def _format_a_length(length: int) -> int:
    rest = length - 9
    return _BLOCK1 + 2 + rest + 2 * ((rest + 15) // 16)


def _strip_a(data: bytes, length: int) -> tuple[bytes, int] | None:
    """The frame without format A CRCs, and their count; None when A does not fit."""
    total = _format_a_length(length)
    if len(data) < total:
        return None
    if crc16_en13757(data, 0, _BLOCK1) != int.from_bytes(data[10:12], "big"):
        return None
    out = bytearray(data[:_BLOCK1])
    pos, rest, count = 12, length - 9, 1
    while rest > 0:
        size = min(16, rest)
        block_end = pos + size
        if crc16_en13757(data, pos, block_end) != int.from_bytes(
                data[block_end:block_end + 2], "big"):
            return None
        out += data[pos:block_end]
        pos, rest, count = block_end + 2, rest - size, count + 1
    return bytes(out), count


def _strip_b(data: bytes, length: int) -> tuple[bytes, int] | None:
    total = length + 1
    if len(data) < total or length < 12:
        return None
    if total <= _B_BLOCK2_END + 2:
        if crc16_en13757_whole(data[:total - 2]) != int.from_bytes(data[total - 2:total], "big"):
            return None
        return bytes((length - 2,)) + data[1:total - 2], 1
    if crc16_en13757(data, 0, _B_BLOCK2_END) != int.from_bytes(data[126:128], "big"):
        return None
    if total < 131 or crc16_en13757(data, 128, total - 2) != int.from_bytes(
            data[total - 2:total], "big"):
        return None
    body = data[1:_B_BLOCK2_END] + data[128:total - 2]
    return bytes((length - 4,)) + body, 2


def _wired(data: bytes) -> tuple[LinkLayer, bytes] | None:
    if len(data) < 9 or data[0] != 0x68 or data[3] != 0x68 or data[1] != data[2]:
        return None
    end = data[1] + 6
    if len(data) < end or data[end - 1] != 0x16:
        return None
    try:
        frame = mbus.decode_frame(data[:end])
    except mbus.ChecksumError as exc:
        raise CRCError(f"wired long frame: {exc.message}", field=exc.field or "checksum",
                       offset=exc.offset, data=exc.data) from None
    except mbus.DecodeError as exc:
        raise LinkError(f"wired long frame: {exc.message}", field=exc.field or "L",
                        offset=exc.offset, data=exc.data) from None
    if not isinstance(frame, mbus.LongFrame):
        return None
    trailing = bytes(data[end:])
    key = (frame.c, frame.a, data[1], trailing)
    link = _WIRED_LINKS.get(key)
    if link is None:  # as for wireless meters: one (immutable) object per sender and form
        link = LinkLayer(format="wired", c=frame.c, address=frame.a, length=data[1],
                         trailing=trailing)
        if len(_WIRED_LINKS) >= _MAX_SHARED:
            _WIRED_LINKS.clear()
        _WIRED_LINKS[key] = link
    return link, bytes((frame.ci,)) + frame.data


_WIRED_LINKS: dict[tuple[int, int, int, bytes], LinkLayer] = {}


_MANUFACTURERS: dict[int, str] = {}  # manufacturer code -> letters, filled as codes are seen


_LinkKey = tuple[bytes, str, int | None, bytes, int, bool]
_LINKS: dict[_LinkKey, LinkLayer] = {}  # link layers seen, by C M A and how they arrived


def _link_layer(frame: bytes, fmt: str, length: int | None, trailing: bytes = b"",
                crcs: int = 0, l_field: bool = True) -> LinkLayer:
    """The link layer of a CRC-less frame image (L C M A ...)."""
    # A meter sends the same link layer again and again: reuse the (immutable) object.
    key = (frame[1:_BLOCK1], fmt, length, trailing, crcs, l_field)
    link = _LINKS.get(key)
    if link is not None:
        return link
    code = frame[2] | frame[3] << 8
    manufacturer = _MANUFACTURERS.get(code)
    if manufacturer is None:
        manufacturer = _MANUFACTURERS[code] = mbus.records.decode_manufacturer(code)
    link = LinkLayer(format=fmt, c=frame[1], manufacturer=manufacturer,
                     id=frame[7:3:-1].hex().upper(), version=frame[8], device_type=frame[9],
                     length=length, l_field=l_field, crcs=crcs, trailing=trailing,
                     raw_address=frame[2:10])
    if len(_LINKS) >= _MAX_SHARED:
        _LINKS.clear()
    _LINKS[key] = link
    return link


_MAX_TRAILING = 4  # receivers append at most a few bytes (RSSI, LQI, ...)
# CI fields that can follow the link layer directly (ELL, AFL, TPL, manufacturer).
_FIRST_CIS = frozenset((0x72, 0x73, 0x78, 0x79, 0x7A, 0x7B, 0x8A, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F,
                        0x90, *range(0xA0, 0xB8)))


def _lacks_l_field(data: bytes) -> bool:
    """The frame starts with a C field (the L field was removed upstream).

    Such a frame is at most 255 bytes: its L field, put back, must fit one byte.
    """
    return data[0] in C_FUNCTIONS and 10 < len(data) <= 255 and data[9] in _FIRST_CIS


def _without_l_field(data: bytes) -> tuple[LinkLayer, bytes]:
    frame = bytes((len(data),)) + data
    link = _link_layer(frame, "none", None, l_field=False)
    return link, frame[_BLOCK1:]


def parse_link(data: bytes) -> tuple[LinkLayer, bytes]:
    """Split one received frame into its link layer and the bytes from the first CI on.

    Tries a wired long frame, then format A CRCs, then format B CRCs, then no
    CRCs; raises :class:`LinkError` when the bytes fit none of them.
    """
    data = bytes(data)
    size = len(data)
    if size < 11:
        raise LinkError(f"a wireless M-Bus frame needs at least 11 bytes (L C M A CI), "
                        f"got {size}", field="L", offset=0, data=data)
    length = data[0]
    if length == 0x68:
        wired = _wired(data)
        if wired is not None:
            return wired
    elif length < 10:
        raise LinkError(f"L field {length} is too small for C, M, A and CI", field="L",
                        offset=0, data=data[:1])
    # Format A is only tried when the bytes are long enough for its CRCs.
    a_size = _format_a_length(length)
    stripped = _strip_a(data, length) if size >= a_size else None
    if stripped is not None:
        frame, count = stripped
        return _link_layer(frame, "A", length, data[a_size:], count), frame[_BLOCK1:]
    end = length + 1
    stripped = _strip_b(data, length)
    if stripped is not None:
        frame, count = stripped
        return _link_layer(frame, "B", length, data[end:], count), frame[_BLOCK1:]
    if size > end + _MAX_TRAILING and _lacks_l_field(data):
        return _without_l_field(data)
    if size >= end:
        return _link_layer(data, "none", length, data[end:]), data[_BLOCK1:end]
    if _lacks_l_field(data):
        return _without_l_field(data)
    if length + 1 > len(data):
        raise LinkError(f"L field says {length + 1} bytes but only {len(data)} arrived "
                        f"(frame cut off?)", field="L", offset=0, data=data[:1])
    raise LinkError("frame fits neither format A, format B nor a CRC-less frame", field="L",
                    offset=0)


def build_frame(*, c: int = 0x44, manufacturer: str, id: str, version: int = 0,
                device_type: int = 0x07, apl: bytes) -> bytes:
    """Build a CRC-less frame: L C M A followed by ``apl`` (which starts with a CI field).

    Use :func:`add_crcs` for the format A or B form sent on air.
    """
    man = mbus.records.encode_manufacturer(manufacturer)
    try:
        ident = mbus.records.encode_bcd_id(id)
    except mbus.EncodeError as exc:
        raise EncodeError(str(exc)) from None
    for name, value in (("c", c), ("version", version), ("device_type", device_type)):
        if not 0 <= value <= 255:
            raise EncodeError(f"{name} must be 0-255, got {value}")
    body = bytes((c, man & 0xFF, man >> 8)) + ident + bytes((version, device_type)) + apl
    if len(body) > 255 - 4:
        raise EncodeError(f"frame too long: {len(body)} bytes after L")
    return bytes((len(body),)) + body


def add_crcs(frame: bytes, fmt: str = "A") -> bytes:
    """Insert the link-layer CRCs of format ``"A"`` or ``"B"`` into a CRC-less frame."""
    length = frame[0]
    if len(frame) != length + 1:
        raise EncodeError(f"L field {length} does not match {len(frame)} bytes")
    if fmt == "A":
        out = bytearray(frame[:_BLOCK1]) + crc16_en13757(frame, 0, _BLOCK1).to_bytes(2, "big")
        for pos in range(_BLOCK1, len(frame), 16):
            block = frame[pos:pos + 16]
            out += block + crc16_en13757(block).to_bytes(2, "big")
        return bytes(out)
    if fmt == "B":
        body = frame[1:]
        if len(body) + 2 + 1 <= _B_BLOCK2_END + 2:
            head = bytes((length + 2,)) + body
            return head + crc16_en13757(head).to_bytes(2, "big")
        head = bytes((length + 4,)) + body[:_B_BLOCK2_END - 1]
        tail = body[_B_BLOCK2_END - 1:]
        return (head + crc16_en13757(head).to_bytes(2, "big") + tail
                + crc16_en13757(tail).to_bytes(2, "big"))
    raise EncodeError(f"frame format must be 'A' or 'B', not {fmt!r}")
