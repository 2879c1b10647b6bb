"""The typed errors of the ``wmbus`` package: one root, split by fault.

Decoding errors are also :class:`mbus.DecodeError` (same ``message``,
``offset``, ``field`` and ``data`` attributes), so code that already handles
the wired codec's errors handles these too.
"""

from __future__ import annotations

import mbus

__all__ = [
    "AuthenticationError",
    "CRCError",
    "DecodeError",
    "DecryptionError",
    "DongleError",
    "EncodeError",
    "KeyMissingError",
    "KeyStoreError",
    "LinkError",
    "ReplayError",
    "SecurityError",
    "UnexpectedPlaintextError",
    "UnknownSignatureError",
    "UnsupportedError",
    "WMBusError",
]


class WMBusError(Exception):
    """Root of every error raised by ``wmbus``."""


class DecodeError(WMBusError, mbus.DecodeError):
    """Bytes that cannot be decoded (carries ``message``, ``offset``, ``field``, ``data``)."""


class LinkError(DecodeError):
    """The link layer (EN 13757-4: L, C, M, A fields, blocks) is malformed or truncated."""


class CRCError(LinkError):
    """A link-layer or payload CRC-16 does not match."""


class SecurityError(DecodeError):
    """The telegram is protected and could not be decrypted or authenticated."""


class KeyMissingError(SecurityError):
    """The telegram is encrypted and no key was given or found for the meter."""


class DecryptionError(SecurityError):
    """Decryption with the given key did not give a valid plaintext: wrong key, most likely."""


class AuthenticationError(SecurityError):
    """A key is known for the meter but the telegram is not authentic.

    The AFL MAC (AES-CMAC, mode 7) does not match or is missing: wrong key,
    tampered or forged telegram. The message names what was expected and what
    arrived (never the MAC computed from the key: that would help a forger).
    """


class UnexpectedPlaintextError(AuthenticationError):
    """The payload is in clear although the configuration word (or ELL) says encrypted.

    Raised only when a key is known for the meter: it is how a forged telegram
    looks. Data sent with no security at all (mode 0) by a meter whose key is
    known is refused the same way (a downgrade). Captures decrypted earlier by
    another tool are read with ``Decoder(..., already_decrypted=True)``
    (``wmbus decode --already-decrypted``).
    """


class ReplayError(AuthenticationError):
    """A mode 7 message counter that does not increase: a replayed telegram (receiver only)."""


class UnsupportedError(DecodeError, mbus.UnsupportedError):
    """Well-formed, but uses a feature this version does not decode yet."""


class UnknownSignatureError(DecodeError):
    """A compact frame whose format signature was never learned from a full frame."""


class DongleError(DecodeError):
    """A receiver dongle's byte stream is malformed (bad checksum, framing)."""


class KeyStoreError(WMBusError):
    """A key file or key entry cannot be read (never shows the key itself)."""


class EncodeError(WMBusError):
    """Values given to a builder cannot be represented in a telegram."""
