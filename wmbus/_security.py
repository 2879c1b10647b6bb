"""OMS / EN 13757-7 security primitives on top of ``cryptography``.

* mode 5: AES-128-CBC, IV = M(2) | A(6) | access number x 8;
* mode 7: AES-128-CBC with a zero IV, keys derived from the master key with
  the OMS KDF (AES-CMAC over derivation constant | message counter | meter ID |
  0x07 padding), MAC = AES-CMAC truncated (checked in constant time);
* ELL: AES-128-CTR, IV = M(2) | A(6) | CC | SN(4) | FN(2) | BC;
* modes 2 and 3 (deprecated): single DES-CBC with a zero IV, or with the IV
  ID(4) | M(2) | date (type G), see :func:`des_cbc_decrypt` and :func:`mode3_iv`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import threading

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from mbus.records import encode_type_g

__all__ = [
    "KDF_ENC_FROM_METER",
    "KDF_MAC_FROM_METER",
    "ZERO_DES_IV",
    "ZERO_IV",
    "aes_cbc_decrypt",
    "aes_cbc_encrypt",
    "aes_cmac",
    "aes_ctr",
    "derive_key",
    "des_cbc_decrypt",
    "macs_equal",
    "mode3_iv",
    "mode5_iv",
]

# Derivation constants, OMS Vol. 2 9.5.3 (meter to other device).
KDF_ENC_FROM_METER = 0x00
KDF_MAC_FROM_METER = 0x01

ZERO_IV = bytes(16)  # mode 7 encrypts with a zero IV (the derived key changes per message)
ZERO_DES_IV = bytes(8)  # mode 2


_MAX_CONTEXTS = 256  # per thread; more keys than this and the oldest contexts are dropped
_contexts = threading.local()


def _ecb_decryptor(key: bytes) -> CipherContext:
    """An AES-ECB decryption context for ``key``, kept per thread for the next telegram.

    Setting up a cipher costs more than decrypting a telegram; an ECB context has no
    state between whole blocks, so one per key serves every telegram of that meter.
    A context must not be shared between threads, hence one cache per thread.
    """
    cache: dict[bytes, CipherContext] | None = getattr(_contexts, "ecb", None)
    if cache is None:
        cache = _contexts.ecb = {}
    context = cache.get(key)
    if context is None:
        if len(cache) >= _MAX_CONTEXTS:
            cache.pop(next(iter(cache)))
        context = cache[key] = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    return context


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-128-CBC decryption of whole 16-byte blocks, no padding removed.

    CBC decryption is ECB decryption of each block XORed with the ciphertext block
    before it (the IV for the first), done here as one ECB call with a kept context
    and one XOR of big integers: 0.7 us instead of 4 us for a 64-byte payload.
    Tested against ``cryptography``'s CBC mode.
    """
    if len(data) % 16:
        raise ValueError(f"CBC data must be whole 16-byte blocks, got {len(data)} bytes")
    if len(iv) != 16:
        raise ValueError(f"a CBC IV has 16 bytes, got {len(iv)}")
    if not data:
        return b""
    plain = _ecb_decryptor(bytes(key)).update(data)
    chained = int.from_bytes(plain, "big") ^ int.from_bytes(iv + data[:-16], "big")
    return chained.to_bytes(len(data), "big")


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-128-CBC encryption of whole 16-byte blocks."""
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-128-CTR (encryption and decryption are the same operation)."""
    cipher = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return cipher.update(data) + cipher.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (RFC 4493), 16 bytes."""
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def derive_key(master: bytes, constant: int, counter: bytes, meter_id: bytes) -> bytes:
    """OMS KDF-A: CMAC(master, constant | counter(4) | ID(4) | 0x07 x 7)."""
    return aes_cmac(master, bytes((constant,)) + counter + meter_id + b"\x07" * 7)


def mode5_iv(manufacturer: bytes, address: bytes, access_number: int) -> bytes:
    """The mode 5 IV from the M field (2 bytes), A field (6 bytes) and access number."""
    return manufacturer + address + bytes((access_number,)) * 8


def macs_equal(expected: bytes, received: bytes) -> bool:
    """Constant-time comparison of a computed and a received MAC."""
    return hmac.compare_digest(expected, received)



def des_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Single-DES-CBC decryption (security modes 2 and 3) of whole 8-byte blocks.

    ``key`` is the 8-byte DES key. ``cryptography`` offers single DES only as
    TripleDES with three equal keys (encrypt-decrypt-encrypt with one key is one
    DES), which it takes without a deprecation warning as the 24-byte key K|K|K.
    """
    if len(key) != 8:
        raise ValueError(f"a DES key has 8 bytes, got {len(key)}")
    if len(iv) != 8:
        raise ValueError(f"a DES-CBC IV has 8 bytes, got {len(iv)}")
    if len(data) % 8:
        raise ValueError(f"DES-CBC data must be whole 8-byte blocks, got {len(data)} bytes")
    decryptor = Cipher(TripleDES(key * 3), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def mode3_iv(meter_id: bytes, manufacturer: bytes, day: dt.date) -> bytes:
    """The mode 3 IV: ID (4 bytes, as sent), M field (2 bytes) and the day as type G."""
    return meter_id + manufacturer + encode_type_g(day)
