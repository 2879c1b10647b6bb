"""Extended link layer, ELL (EN 13757-4:2019 13.2, CI 0x8C-0x8F).

Layouts after the CI field::

    0x8C  CC ACC
    0x8D  CC ACC SN(4) PayloadCRC(2)
    0x8E  CC ACC M2(2) A2(6)
    0x8F  CC ACC M2(2) A2(6) SN(4) PayloadCRC(2)

SN bits 29-31 select the encryption (0 none, 1 AES-128-CTR); the encrypted
part starts at the payload CRC, which covers the payload after it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import mbus
import mbus.records

from ._errors import LinkError

__all__ = ["ELL_LENGTHS", "ExtendedLinkLayer", "parse_ell"]

ELL_LENGTHS = {0x8C: 2, 0x8D: 8, 0x8E: 10, 0x8F: 16}

# Communication control field bits, EN 13757-4:2019 Table 44 (bit 0 reserved).
_CC_BITS = ((0x80, "bidirectional"), (0x40, "response_delay"), (0x20, "synchronized"),
            (0x10, "hop_count"), (0x08, "priority"), (0x04, "accessibility"),
            (0x02, "repeated_access"))
_ENCRYPTION = {0: "none", 1: "aes_ctr"}
_CC_FLAGS = [tuple(name for bit, name in _CC_BITS if cc & bit) for cc in range(256)]


@dataclass(frozen=True, slots=True, init=False)
class ExtendedLinkLayer:
    """An ELL header. ``receiver_*`` are set for CI 0x8E/0x8F, ``session_number`` for 0x8D/0x8F."""

    ci: int
    cc: int
    access_number: int
    receiver_manufacturer: str | None = None
    receiver_id: str | None = None
    receiver_version: int | None = None
    receiver_device_type: int | None = None
    session_number: int | None = None
    payload_crc: int | None = None

    def __init__(self, ci: int, cc: int, access_number: int,
                 receiver_manufacturer: str | None = None, receiver_id: str | None = None,
                 receiver_version: int | None = None, receiver_device_type: int | None = None,
                 session_number: int | None = None, payload_crc: int | None = None) -> None:
        # Written out as wmbus.Telegram's (each slot's own setter, called positionally by
        # parse_ell): the generated frozen __init__ called with keywords cost ~2k
        # instructions per field.
        _set_ci(self, ci)
        _set_cc(self, cc)
        _set_access_number(self, access_number)
        _set_receiver_manufacturer(self, receiver_manufacturer)
        _set_receiver_id(self, receiver_id)
        _set_receiver_version(self, receiver_version)
        _set_receiver_device_type(self, receiver_device_type)
        _set_session_number(self, session_number)
        _set_payload_crc(self, payload_crc)

    @property
    def cc_flags(self) -> tuple[str, ...]:
        """Names of the set bits of the communication control field."""
        return _CC_FLAGS[self.cc & 0xFF]

    @property
    def encryption(self) -> int:
        """The ENC bits of the session number (0 none, 1 AES-128-CTR)."""
        return 0 if self.session_number is None else self.session_number >> 29

    @property
    def encryption_name(self) -> str:
        """``"none"``, ``"aes_ctr"`` or ``"reserved_N"``."""
        return _ENCRYPTION.get(self.encryption) or f"reserved_{self.encryption}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        out: dict[str, Any] = {"ci": self.ci, "cc": self.cc, "cc_flags": list(self.cc_flags),
                               "access_number": self.access_number}
        if self.receiver_manufacturer is not None:
            out["receiver"] = {"manufacturer": self.receiver_manufacturer,
                               "id": self.receiver_id, "version": self.receiver_version,
                               "device_type": self.receiver_device_type}
        if self.session_number is not None:
            out["session_number"] = self.session_number
            out["encryption"] = self.encryption_name
        if self.payload_crc is not None:
            out["payload_crc"] = self.payload_crc
        return out


(_set_ci, _set_cc, _set_access_number, _set_receiver_manufacturer, _set_receiver_id,
 _set_receiver_version, _set_receiver_device_type, _set_session_number,
 _set_payload_crc) = [ExtendedLinkLayer.__dict__[item.name].__set__
                      for item in fields(ExtendedLinkLayer)]


def parse_ell(apl: bytes, pos: int, base: int = 0) -> tuple[ExtendedLinkLayer, int]:
    """Read the ELL whose CI is at ``apl[pos]``; return it and the offset after it.

    The payload CRC is read as transmitted (it is still encrypted when SN says so).
    """
    ci = apl[pos]
    size = ELL_LENGTHS[ci]
    start = pos + 1
    if len(apl) - start < size:
        raise LinkError(f"ELL (CI 0x{ci:02x}) needs {size} bytes, {len(apl) - start} left",
                        field="ELL", offset=base + start, data=apl[start:])
    body = apl[start:start + size]
    receiver: tuple[str | None, str | None, int | None, int | None] = (None, None, None, None)
    rest = 2
    if ci in (0x8E, 0x8F):
        receiver = (mbus.records.decode_manufacturer(body[2] | body[3] << 8),
                    mbus.records.decode_bcd_id(body[4:8]), body[8], body[9])
        rest = 10
    session_number = payload_crc = None
    if ci in (0x8D, 0x8F):
        session_number = int.from_bytes(body[rest:rest + 4], "little")
        payload_crc = int.from_bytes(body[rest + 4:rest + 6], "little")
    return ExtendedLinkLayer(ci, body[0], body[1], *receiver, session_number,
                             payload_crc), start + size
