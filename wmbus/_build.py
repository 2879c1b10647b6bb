"""Building telegrams: the encoder side of the decoder, for tests, simulators and gateways.

:func:`build_telegram` writes a complete frame (optionally with format A or B
CRCs) with an ELL, AFL and TPL as asked, encrypted with security mode 5 or 7
or ELL AES-CTR, exactly as :class:`wmbus.Decoder` reads it back.
"""

from __future__ import annotations

from collections.abc import Iterable

import mbus
import mbus.records

from ._compact import format_signature
from ._crc import crc16_en13757
from ._errors import EncodeError
from ._link import add_crcs, build_frame
from ._security import (
    KDF_ENC_FROM_METER,
    KDF_MAC_FROM_METER,
    ZERO_IV,
    aes_cbc_encrypt,
    aes_cmac,
    aes_ctr,
    derive_key,
    mode5_iv,
)

__all__ = ["build_telegram"]

_TPL_CI = {"long": 0x72, "short": 0x7A, "none": 0x78}


def _address(manufacturer: str, ident: str, version: int, device_type: int) -> bytes:
    try:
        man = mbus.records.encode_manufacturer(manufacturer)
        return (bytes((man & 0xFF, man >> 8)) + mbus.records.encode_bcd_id(ident)
                + bytes((version, device_type)))
    except (mbus.EncodeError, ValueError, OverflowError) as exc:
        raise EncodeError(f"address: {exc}") from None


def build_telegram(
    *,
    manufacturer: str,
    id: str,
    version: int = 0,
    device_type: int = 0x07,
    c: int = 0x44,
    records: Iterable[mbus.Record] = (),
    clear_records: Iterable[mbus.Record] = (),
    tpl: str = "short",
    tpl_address: tuple[str, str, int, int] | None = None,
    access_number: int = 0,
    status: int = 0,
    mode: int = 0,
    key: bytes | None = None,
    message_counter: int = 0,
    ell: str | None = None,
    ell_cc: int = 0x20,
    session_number: int = 0,
    ell_encrypted: bool = False,
    compact: bool = False,
    frame_format: str = "none",
) -> bytes:
    """Build one wireless M-Bus frame.

    ``tpl`` is ``"long"`` (CI 0x72, with ``tpl_address`` = (manufacturer, id,
    version, device type), by default the link's), ``"short"`` (0x7A) or
    ``"none"`` (0x78; with ``compact=True`` a compact frame, CI 0x79).
    ``mode`` 5 or 7 encrypts ``records`` with ``key`` (mode 7 adds an AFL
    with ``message_counter`` and an 8-byte CMAC); ``clear_records`` follow the
    encrypted blocks unencrypted (partial encryption). ``ell`` is None,
    ``"short"`` (CI 0x8C) or ``"long"`` (0x8D with ``session_number`` and a
    payload CRC, AES-CTR encrypted with ``key`` when ``ell_encrypted``).
    ``frame_format`` ``"A"`` or ``"B"`` adds the link-layer CRCs.
    """
    if tpl not in _TPL_CI:
        raise EncodeError(f"tpl must be 'long', 'short' or 'none', not {tpl!r}")
    if mode not in (0, 5, 7):
        raise EncodeError(f"not supported yet: building mode {mode}")
    if (mode or ell_encrypted) and (key is None or len(key) != 16):
        raise EncodeError("encryption needs a 16-byte key")
    if mode and tpl == "none":
        raise EncodeError("security modes need a TPL header (short or long)")
    for name, value in (("access_number", access_number), ("status", status),
                        ("ell_cc", ell_cc)):
        if not 0 <= value <= 255:
            raise EncodeError(f"{name} must be 0-255, got {value}")
    link_address = _address(manufacturer, id, version, device_type)
    records = tuple(records)
    if compact:
        if tpl != "none" or mode:
            raise EncodeError("compact frames are built with tpl='none' and mode 0")
        block = mbus.records.encode_records(records)
        data = b"".join(r.data for r in records)
        signature = format_signature(r.shape.header for r in records)
        tpl_bytes = (bytes((0x79,)) + signature.to_bytes(2, "little")
                     + crc16_en13757(block).to_bytes(2, "little") + data)
    else:
        tpl_bytes = _tpl(tpl, tpl_address, link_address, access_number, status, mode, key,
                         message_counter, records, tuple(clear_records))
    apl = tpl_bytes
    if mode == 7:
        apl = _afl(key, message_counter, _kdf_id(tpl, tpl_address, link_address), tpl_bytes)
    if ell is not None:
        apl = _ell(ell, ell_cc, access_number, session_number, ell_encrypted, key,
                   link_address, apl)
    frame = build_frame(c=c, manufacturer=manufacturer, id=id, version=version,
                        device_type=device_type, apl=apl)
    return frame if frame_format == "none" else add_crcs(frame, frame_format)


def _kdf_id(tpl: str, tpl_address: tuple[str, str, int, int] | None, link: bytes) -> bytes:
    if tpl == "long" and tpl_address is not None:
        return _address(*tpl_address)[2:6]
    return link[2:6]


def _tpl(kind: str, tpl_address: tuple[str, str, int, int] | None, link: bytes,
         access_number: int, status: int, mode: int, key: bytes | None, counter: int,
         records: tuple[mbus.Record, ...], clear_records: tuple[mbus.Record, ...]) -> bytes:
    body = mbus.records.encode_records(records)
    clear = mbus.records.encode_records(clear_records)
    blocks = 0
    if mode:
        body = b"\x2f\x2f" + body
        body += b"\x2f" * ((-len(body)) % 16)
        blocks = len(body) // 16
        if blocks > 15:
            raise EncodeError(f"{blocks} encrypted blocks do not fit the configuration word")
    config = mode << 8 | blocks << 4
    head_fields = bytes((access_number, status)) + config.to_bytes(2, "little")
    address = _address(*tpl_address) if tpl_address is not None else link
    if kind == "long":
        head = address[2:6] + address[0:2] + address[6:8] + head_fields
    elif kind == "short":
        head = head_fields
    else:
        head = b""
    if mode == 7:
        head += b"\x10"  # configuration extension: KDF-A, key ID 0
    assert key is not None or not mode
    if mode == 5 and key is not None:
        iv_address = address if kind == "long" else link
        body = aes_cbc_encrypt(key, mode5_iv(iv_address[0:2], iv_address[2:8], access_number),
                               body)
    elif mode == 7 and key is not None:
        meter_id = address[2:6] if kind == "long" else link[2:6]
        kenc = derive_key(key, KDF_ENC_FROM_METER, counter.to_bytes(4, "little"), meter_id)
        body = aes_cbc_encrypt(kenc, ZERO_IV, body)
    return bytes((_TPL_CI[kind],)) + head + body + clear


def _afl(key: bytes | None, counter: int, meter_id: bytes, tpl_bytes: bytes) -> bytes:
    assert key is not None
    if not 0 <= counter <= 0xFFFFFFFF:
        raise EncodeError(f"message counter must fit 4 bytes, got {counter}")
    mcl = 0x25  # message counter present, AES-CMAC-128 truncated to 8 bytes
    mcr = counter.to_bytes(4, "little")
    kmac = derive_key(key, KDF_MAC_FROM_METER, mcr, meter_id)
    mac = aes_cmac(kmac, bytes((mcl,)) + mcr + tpl_bytes)[:8]
    body = (0x2C00).to_bytes(2, "little") + bytes((mcl,)) + mcr + mac
    return bytes((0x90, len(body))) + body + tpl_bytes


def _ell(kind: str, cc: int, access: int, session: int, encrypted: bool, key: bytes | None,
         link: bytes, payload: bytes) -> bytes:
    if kind == "short":
        if encrypted:
            raise EncodeError("ELL encryption needs the long ELL (session number)")
        return bytes((0x8C, cc, access)) + payload
    if kind != "long":
        raise EncodeError(f"ell must be 'short' or 'long', not {kind!r}")
    if not 0 <= session < 1 << 29:
        raise EncodeError("session number must fit 29 bits (the top 3 select encryption)")
    sn = (session | (1 << 29 if encrypted else 0)).to_bytes(4, "little")
    secret = crc16_en13757(payload).to_bytes(2, "little") + payload
    if encrypted:
        assert key is not None
        secret = aes_ctr(key, link + bytes((cc & 0xED,)) + sn + b"\x00\x00\x00", secret)
    return bytes((0x8D, cc, access)) + sn + secret
