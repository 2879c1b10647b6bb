"""Apator NA-1 telegrams made here (never corpus data): the decrypted block laid out as the
public description of the format says, encrypted with the mode 5 IV, framed by meterkit's
own link-layer encoder (``wmbus.build_frame``)."""

from __future__ import annotations

import wmbus
from wmbus._security import aes_cbc_encrypt, mode5_iv

ID = "20251234"
KEY = bytes.fromhex("5c1e8d3a97b4f0216ae9c47d03b8152f")
LINK_ADDRESS = bytes.fromhex("0106") + bytes.fromhex(ID)[::-1] + bytes((0x14, 0x07))


def plaintext(*, litres: int, exponent: int = 0, seconds: int = 0, age_h: int = 0,
              delta: int = 0, current: int = 0, historic: int = 0) -> bytes:
    """The 16-byte block: 2F, the packed total (``litres`` digits: bits 0-3 and 8-31,
    ``exponent`` in bits 4-5), the meter time (seconds since 2000), the age of the historic
    reading (low byte, then bits 2-7 of the next), the volume since then (bits 0-1 of that
    byte, then 3 bytes: ``delta`` >> 2), the current and the historic status byte."""
    packed = (litres >> 4) << 8 | exponent << 4 | (litres & 0x0F)
    age_meta = (age_h >> 8) << 2 | (delta & 0x03)
    return (b"\x2f" + packed.to_bytes(4, "little") + seconds.to_bytes(4, "little")
            + bytes((age_h & 0xFF, age_meta)) + (delta >> 2).to_bytes(3, "little")
            + bytes((current, historic)))


def na1_frame(plain: bytes, *, key: bytes = KEY, access: int = 0x42, frame_status: int = 0,
              ci: int = 0xA0) -> bytes:
    """A whole NA-1 frame sending ``plain`` (16 bytes) encrypted under ``key``."""
    iv = mode5_iv(LINK_ADDRESS[:2], LINK_ADDRESS[2:], access)
    apl = bytes((ci, access, frame_status)) + aes_cbc_encrypt(key, iv, plain)
    return wmbus.build_frame(manufacturer="APA", id=ID, version=0x14, device_type=0x07,
                             apl=apl)
