"""S/MIME (RFC 8551) signing and encryption of MIME entities, with cryptography's PKCS#7 builders.

Pure functions: MIME bytes in, MIME bytes out, CRLF line endings throughout (the signature
covers the canonical CRLF form, and mail transport expects it). Signing comes before
encryption when both are asked for, so the recipient decrypts first and then sees a signed
message, which is the order RFC 8551 section 3.7 recommends.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from ._errors import ExportError

__all__ = [
    "SmimeError",
    "SmimeOptions",
    "load_certificate",
    "load_private_key",
    "smime_encrypt",
    "smime_protect",
    "smime_sign",
    "to_crlf",
]

_LINE_END = re.compile(rb"\r\n|\r|\n")

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class SmimeError(ExportError):
    """A certificate or key cannot be loaded or used for S/MIME."""


def to_crlf(data: bytes) -> bytes:
    """Every line end (LF, CR or CRLF) as CRLF.

    >>> to_crlf(b"a\\nb\\r\\nc\\rd")
    b'a\\r\\nb\\r\\nc\\r\\nd'
    """
    return _LINE_END.sub(b"\r\n", data)


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SmimeError(f"cannot read {what} {path}: {exc.strerror or exc}", field=what) from None


def load_certificate(source: str | os.PathLike[str] | bytes) -> x509.Certificate:
    """Load an X.509 certificate from a PEM or DER file path, or from PEM/DER bytes.

    Raises:
        SmimeError: unreadable, or not a certificate.
    """
    data = source if isinstance(source, bytes) else _read(source, "certificate")
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise SmimeError(f"not an X.509 certificate: {exc}", field="certificate") from None


def load_private_key(
    source: str | os.PathLike[str] | bytes, *, password: bytes | None = None
) -> SigningKey:
    """Load an RSA or EC private key from a PEM or DER file path, or from bytes.

    Raises:
        SmimeError: unreadable, wrong password, or a key type S/MIME signing cannot use.
    """
    data = source if isinstance(source, bytes) else _read(source, "key")
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=password)
        else:
            key = serialization.load_der_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        raise SmimeError(f"cannot load the private key: {exc}", field="key") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise SmimeError(
            f"S/MIME signing needs an RSA or EC key, got {type(key).__name__}", field="key"
        )
    return key


@dataclass(frozen=True, slots=True, kw_only=True)
class SmimeOptions:
    """What to do to an outgoing message.

    Attributes:
        sign_certificate: the signer's certificate (with ``sign_key``), or ``None``.
        sign_key: the signer's private key.
        encrypt_to: the recipients' certificates; empty means no encryption.
        extra_certificates: intermediate certificates to include in the signature.
    """

    sign_certificate: x509.Certificate | None = None
    sign_key: SigningKey | None = None
    encrypt_to: tuple[x509.Certificate, ...] = ()
    extra_certificates: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if (self.sign_certificate is None) != (self.sign_key is None):
            raise SmimeError("signing needs both a certificate and its private key",
                             field="sign_key")
        if self.sign_certificate is None and not self.encrypt_to:
            raise SmimeError("neither signing nor encryption asked for", field="sign_certificate")
        if not isinstance(self.encrypt_to, tuple):
            object.__setattr__(self, "encrypt_to", tuple(self.encrypt_to))

    @classmethod
    def from_files(
        cls,
        *,
        sign: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
        key_password: bytes | None = None,
        encrypt_to: Sequence[str | os.PathLike[str]] = (),
    ) -> SmimeOptions:
        """Load ``sign=(certificate file, key file)`` and recipient certificate files."""
        cert = key = None
        if sign is not None:
            cert = load_certificate(sign[0])
            key = load_private_key(sign[1], password=key_password)
        recipients = tuple(load_certificate(p) for p in encrypt_to)
        return cls(sign_certificate=cert, sign_key=key, encrypt_to=recipients)

    @property
    def signs(self) -> bool:
        """Whether a signature is made."""
        return self.sign_certificate is not None

    @property
    def encrypts(self) -> bool:
        """Whether the message is encrypted."""
        return bool(self.encrypt_to)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able summary (subjects, never keys)."""
        return {
            "sign": self.sign_certificate.subject.rfc4514_string()
            if self.sign_certificate is not None
            else None,
            "encrypt_to": [c.subject.rfc4514_string() for c in self.encrypt_to],
        }


def smime_sign(
    entity: bytes,
    certificate: x509.Certificate,
    key: SigningKey,
    *,
    extra_certificates: Sequence[x509.Certificate] = (),
) -> bytes:
    """Wrap a MIME entity (its ``Content-*`` headers, a blank line, its body) in a detached
    ``multipart/signed`` signature with SHA-256.

    The entity is canonicalised to CRLF first and signed as those exact bytes.
    The result starts with ``MIME-Version`` and ``Content-Type`` headers.

    Raises:
        SmimeError: the key does not match the certificate or cannot sign.
    """
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if certificate.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise SmimeError("the private key does not belong to the signing certificate",
                         field="key")
    builder = pkcs7.PKCS7SignatureBuilder().set_data(to_crlf(entity))
    builder = builder.add_signer(certificate, key, hashes.SHA256())
    for extra in extra_certificates:
        builder = builder.add_certificate(extra)
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    try:
        signed = builder.sign(serialization.Encoding.SMIME, options)
    except (ValueError, TypeError) as exc:
        raise SmimeError(f"cannot sign: {exc}", field="key") from None
    return to_crlf(signed)


def smime_encrypt(entity: bytes, recipients: Sequence[x509.Certificate]) -> bytes:
    """Encrypt a MIME entity to the recipients (``application/pkcs7-mime``, enveloped-data).

    AES-256-CBC where the installed cryptography offers the choice (>= 45), else its
    default AES-128-CBC; the content key is wrapped with each recipient's RSA key.

    Raises:
        SmimeError: no recipient, or a certificate without an RSA key.
    """
    if not recipients:
        raise SmimeError("encryption needs at least one recipient certificate",
                         field="encrypt_to")
    envelope = getattr(pkcs7, "PKCS7EnvelopeBuilder", None)
    if envelope is None:  # pragma: no cover - depends on the installed cryptography
        raise SmimeError(
            "S/MIME encryption needs cryptography >= 43 (PKCS7EnvelopeBuilder)",
            field="encrypt_to",
        )
    builder = envelope().set_data(to_crlf(entity))
    choose = getattr(builder, "set_content_encryption_algorithm", None)
    if choose is not None:
        from cryptography.hazmat.primitives.ciphers import algorithms

        builder = choose(algorithms.AES256)
    for cert in recipients:
        if not isinstance(cert.public_key(), rsa.RSAPublicKey):
            raise SmimeError(
                f"S/MIME encryption needs an RSA certificate: {cert.subject.rfc4514_string()}",
                field="encrypt_to",
            )
        builder = builder.add_recipient(cert)
    try:
        encrypted = builder.encrypt(serialization.Encoding.SMIME, [])
    except (ValueError, TypeError) as exc:
        raise SmimeError(f"cannot encrypt: {exc}", field="encrypt_to") from None
    return to_crlf(encrypted)


def smime_protect(entity: bytes, options: SmimeOptions) -> bytes:
    """Sign and/or encrypt ``entity`` as ``options`` say (sign first, then encrypt)."""
    result = to_crlf(entity)
    if options.sign_certificate is not None and options.sign_key is not None:
        result = smime_sign(
            result,
            options.sign_certificate,
            options.sign_key,
            extra_certificates=options.extra_certificates,
        )
    if options.encrypt_to:
        result = smime_encrypt(result, options.encrypt_to)
    return result
