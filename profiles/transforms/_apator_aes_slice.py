"""Apator NA-1 water meters: the AES-128 slice of the manufacturer payload, decrypted.

Source: the public behaviour of wmbusmeters' apatorna1 driver (its test telegrams, the
values it prints for them and its note that the slice is decrypted as a TPL AES-CBC
payload with the mode 5 IV). The telegram (CI 0xA0, manufacturer-specific, no TPL
security) carries an access number, a frame status byte in clear, then 16 bytes
encrypted with AES-128-CBC under the meter's key, with the IV of security mode 5 (EN
13757-7:2018 9.4.5, OMS Vol. 2 9.2.4): the link layer's M and A fields, then the access
number eight times. The plaintext starts with the filler byte 0x2F, as an OMS plaintext
does: that byte is the check of the key.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ._context import NO_CONTEXT, TransformContext
from ._errors import TransformError

__all__ = ["CHECK_BYTE", "SLICE", "apator_aes_slice"]

SLICE = slice(2, 18)
"""Where the encrypted block lies in the payload after the CI field."""
CHECK_BYTE = 0x2F
"""The first plaintext byte: a key that does not give it is the wrong key."""
_KEY_LENGTH = 16
_LINK_ADDRESS_LENGTH = 8


def apator_aes_slice(data: bytes, context: TransformContext = NO_CONTEXT) -> bytes:
    """The payload with its 16 encrypted bytes (offsets 2-17) replaced by their plaintext.

    Needs the meter's AES-128 key and the 8-byte link address in ``context``. Raises
    :class:`TransformError` when either is missing, when the payload is shorter than
    the encrypted block, or when the plaintext does not start with 0x2F (a wrong key:
    no values come out of it; one wrong key in 256 passes this one-byte check).
    """
    if len(data) < SLICE.stop:
        raise TransformError(f"an Apator NA-1 payload has at least {SLICE.stop} bytes (access "
                             f"number, frame status, 16 encrypted), this one {len(data)}",
                             offset=len(data))
    key = context.key
    if key is None:
        raise TransformError("the Apator NA-1 values are encrypted: decrypting them needs "
                             "the meter's AES-128 key (none is known for this meter)",
                             offset=SLICE.start)
    if len(key) != _KEY_LENGTH:
        raise TransformError(f"the Apator NA-1 slice needs a 16-byte AES-128 key, the key "
                             f"known for this meter has {len(key)} bytes", offset=SLICE.start)
    if len(context.link_address) != _LINK_ADDRESS_LENGTH:
        raise TransformError("the Apator NA-1 slice's IV needs the link layer's M and A "
                             "fields (8 bytes), which this telegram does not give",
                             offset=SLICE.start)
    iv = context.link_address + bytes((data[0],)) * 8
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(data[SLICE]) + decryptor.finalize()
    if plain[0] != CHECK_BYTE:
        raise TransformError(f"the decrypted Apator NA-1 slice starts with 0x{plain[0]:02x}, "
                             f"not 0x{CHECK_BYTE:02x}: wrong key for this meter",
                             offset=SLICE.start)
    return data[:SLICE.start] + plain + data[SLICE.stop:]
