"""Apator NA-1 water meters: the AES-128 slice of the manufacturer payload, decrypted.

Source: the public description of the NA-1 telegram in wmbusmeters' apatorna1 driver (its
grammar of the decrypted block, test telegrams and output, and its note that the slice is
decrypted as a TPL AES-CBC payload with the mode 5 IV). The telegram (CI 0xA0-0xB7,
manufacturer-specific, no TPL security) carries an access number, a frame status byte in
clear, then 16 bytes encrypted with AES-128-CBC under the meter's key, with the IV of
security mode 5 (EN 13757-7:2018 9.4.5, OMS Vol. 2 9.2.4): the link layer's M and A
fields, then the access number eight times.

The key check, and its limit: the decrypted block has no checksum and no MAC, and every
byte but the first carries a value (packed total, meter time, historic reading, two
status bytes). The first byte is a filler, 0x2F in every published telegram (as an OMS
plaintext starts), and it is the only check of the key the format allows. Under a wrong
key AES gives an unpredictable block whose first byte is 0x2F with probability 1/256: a
wrong key is refused (:class:`WrongKeyError`) for 255 telegrams in 256, and about 0.39 %
of the telegrams decrypted with a wrong key pass and give wrong values.

The decryption is done where the key is known (:func:`decrypt_apator_slice`, run by
:func:`profiles.transforms.keyed_context` at decode time); the layout transform
:func:`apator_aes_slice` takes its result from the :class:`TransformContext`, which holds
no key.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ._context import NO_CONTEXT, TransformContext
from ._errors import TransformError, WrongKeyError

__all__ = ["CHECK_BYTE", "SLICE", "apator_aes_slice", "decrypt_apator_slice"]

SLICE = slice(2, 18)
"""Where the encrypted block lies in the payload after the CI field."""
CHECK_BYTE = 0x2F
"""The first plaintext byte: a key that does not give it is the wrong key (the only
check the format allows: a wrong key passes it once in 256)."""
_NAME = "apator_aes_slice"
_KEY_LENGTH = 16
_LINK_ADDRESS_LENGTH = 8


def _check_length(data: bytes) -> None:
    if len(data) < SLICE.stop:
        raise TransformError(f"an Apator NA-1 payload has at least {SLICE.stop} bytes (access "
                             f"number, frame status, 16 encrypted), this one {len(data)}",
                             offset=len(data))


def decrypt_apator_slice(data: bytes, key: bytes, link_address: bytes) -> bytes:
    """The payload with its 16 encrypted bytes (offsets 2-17) replaced by their plaintext.

    ``key`` is the meter's AES-128 key, ``link_address`` the link layer's M and A fields
    (8 bytes). Raises :class:`TransformError` for a short payload, a key that is not 16
    bytes or a missing link address, and :class:`WrongKeyError` when the plaintext does
    not start with 0x2F (see the module text for what this check can tell).
    """
    _check_length(data)
    if len(key) != _KEY_LENGTH:
        raise TransformError(f"the Apator NA-1 slice needs a 16-byte AES-128 key, the key "
                             f"known for this meter has {len(key)} bytes", offset=SLICE.start)
    if len(link_address) != _LINK_ADDRESS_LENGTH:
        raise TransformError("the Apator NA-1 slice's IV needs the link layer's M and A "
                             "fields (8 bytes), which this telegram does not give",
                             offset=SLICE.start)
    iv = link_address + bytes((data[0],)) * 8
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(data[SLICE]) + decryptor.finalize()
    if plain[0] != CHECK_BYTE:
        raise WrongKeyError(f"the decrypted Apator NA-1 slice starts with 0x{plain[0]:02x}, "
                            f"not 0x{CHECK_BYTE:02x}: wrong key for this meter",
                            offset=SLICE.start)
    return data[:SLICE.start] + plain + data[SLICE.stop:]


def apator_aes_slice(data: bytes, context: TransformContext = NO_CONTEXT) -> bytes:
    """The payload with its encrypted slice decrypted, as :func:`decrypt_apator_slice`
    made it where the key was known (``context.keyed``).

    Raises :class:`TransformError` when no key was known for the meter (or a short
    payload), and the error the decryption met (:class:`WrongKeyError` ...).
    """
    made = context.keyed_output(_NAME, data)
    if made is not None:
        return made
    _check_length(data)
    raise TransformError("the Apator NA-1 values are encrypted: decrypting them needs "
                         "the meter's AES-128 key (none is known for this meter)",
                         offset=SLICE.start)
