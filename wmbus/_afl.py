"""Authentication and fragmentation layer, AFL (EN 13757-7:2018 6, CI 0x90).

After CI 0x90 and AFL.L come: FCL(2); MCL(1) if FCL bit 13; KI(2) if FCL
bit 9; MCR(4) if FCL bit 11; MAC if FCL bit 10 (its size from the MCL's
authentication type); ML(2) if FCL bit 12. The MAC covers MCL | KI | MCR | ML
and the message from the TPL's CI on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._errors import LinkError, UnsupportedError

__all__ = ["MAC_LENGTHS", "AuthenticationLayer", "parse_afl"]

# Authentication type (MCL bits 0-3) -> MAC length, EN 13757-7:2018 Table 8.
MAC_LENGTHS = {3: 2, 4: 4, 5: 8, 6: 12, 7: 16}

_FCL_MORE = 0x4000
_FCL_MCL = 0x2000
_FCL_ML = 0x1000
_FCL_MCR = 0x0800
_FCL_MAC = 0x0400
_FCL_KI = 0x0200
_MCL_KI = 0x10


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticationLayer:
    """An AFL header. ``authenticated`` holds the header bytes the MAC covers."""

    fcl: int
    mcl: int | None = None
    key_info: int | None = None
    message_counter: int | None = None
    mac: bytes | None = None
    message_length: int | None = None
    authenticated: bytes = b""

    @property
    def fragment_id(self) -> int:
        """Fragment number (FCL bits 0-7)."""
        return self.fcl & 0xFF

    @property
    def more_fragments(self) -> bool:
        """More fragments follow (FCL bit 14)."""
        return bool(self.fcl & _FCL_MORE)

    @property
    def authentication_type(self) -> int | None:
        """MCL bits 0-3 (5 = AES-CMAC-128 truncated to 8 bytes)."""
        return None if self.mcl is None else self.mcl & 0x0F

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        out: dict[str, Any] = {"fcl": self.fcl, "fragment_id": self.fragment_id,
                               "more_fragments": self.more_fragments}
        if self.mcl is not None:
            out["mcl"] = self.mcl
            out["authentication_type"] = self.authentication_type
        if self.key_info is not None:
            out["key_info"] = self.key_info
        if self.message_counter is not None:
            out["message_counter"] = self.message_counter
        if self.mac is not None:
            out["mac"] = self.mac.hex()
        if self.message_length is not None:
            out["message_length"] = self.message_length
        return out


def parse_afl(apl: bytes, pos: int, base: int = 0) -> tuple[AuthenticationLayer, int]:
    """Read the AFL whose CI (0x90) is at ``apl[pos]``; return it and the offset after it."""
    if len(apl) - pos < 4:
        raise LinkError("AFL needs at least AFL.L and FCL", field="AFL", offset=base + pos)
    size = apl[pos + 1]
    start = pos + 2
    end = start + size
    if end > len(apl) or size < 2:
        raise LinkError(f"AFL.L {size} does not fit the {len(apl) - start} bytes left",
                        field="AFL.L", offset=base + pos + 1, data=apl[pos + 1:pos + 2])
    body = apl[start:end]
    fcl = int.from_bytes(body[0:2], "little")
    if fcl & _FCL_MORE or fcl & 0xFF > 1:
        raise UnsupportedError("not supported yet: AFL fragmentation (more fragments or a "
                               f"fragment ID of {fcl & 0xFF})", field="AFL.FCL",
                               offset=base + start, data=body[0:2])
    i = 2
    fields: dict[str, Any] = {"fcl": fcl}
    mcl = None
    try:
        if fcl & _FCL_MCL:
            mcl = body[i]
            fields["mcl"] = mcl
            i += 1
        if fcl & _FCL_KI or (mcl is not None and mcl & _MCL_KI):
            fields["key_info"] = int.from_bytes(_take(body, i, 2), "little")
            i += 2
        if fcl & _FCL_MCR:
            fields["message_counter"] = int.from_bytes(_take(body, i, 4), "little")
            i += 4
        mac_at = i
        if fcl & _FCL_MAC:
            length = MAC_LENGTHS.get(mcl & 0x0F if mcl is not None else -1, size - i)
            fields["mac"] = _take(body, i, length)
            i += length
        if fcl & _FCL_ML:
            fields["message_length"] = int.from_bytes(_take(body, i, 2), "little")
            i += 2
    except IndexError:
        raise LinkError(f"AFL fields announced by FCL 0x{fcl:04x} do not fit AFL.L {size}",
                        field="AFL", offset=base + start, data=body) from None
    length_field = body[i - 2:i] if fcl & _FCL_ML else b""
    fields["authenticated"] = body[2:mac_at] + length_field
    return AuthenticationLayer(**fields), end


def _take(body: bytes, start: int, length: int) -> bytes:
    if start + length > len(body):
        raise IndexError
    return body[start:start + length]
