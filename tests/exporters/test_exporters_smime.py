"""S/MIME signed and/or encrypted e-mail, sent through a real aiosmtpd server and checked on
arrival: the signature is verified with ``openssl smime -verify`` against the test CA (an
implementation independent of ours), the encryption is undone with the recipient's key."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from exporters import (
    SmimeError,
    SmimeOptions,
    SmtpTransport,
    Spool,
    load_certificate,
    load_private_key,
    smime_sign,
)

from .delivery_support import Pki, smtp_server, verify_detached_signature

DATA = b"meter_id;quantity;value\r\n12345678;energy;1234,5\r\n"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(
    OPENSSL is None, reason="the openssl command (Debian package 'openssl') verifies signatures"
)


def send(tmp_path: Path, pki: Pki, smime: SmimeOptions) -> bytes:
    with smtp_server(pki) as (port, sink):
        transport = SmtpTransport(
            "127.0.0.1", port, sender="sender@example.org",
            recipients=["recipient@example.org"], ssl_context=pki.client_context(),
            smime=smime, timeout=10,
        )
        spool = Spool(tmp_path / "spool")
        spool.put("export.csv", DATA)
        assert spool.deliver(transport).ok
    assert len(sink.messages) == 1
    return sink.messages[0][2]


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def attachment(message: EmailMessage) -> tuple[str | None, bytes]:
    for part in message.walk():
        if part.get_content_disposition() == "attachment" and part.get_filename() != "smime.p7s":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return part.get_filename(), payload
    raise AssertionError("no attachment")


def assert_crlf_only(raw: bytes) -> None:
    assert re.search(rb"(?<!\r)\n", raw) is None, "bare LF in the message"


def openssl_verify(raw: bytes, pki: Pki, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    message_file = tmp_path / "received.eml"
    message_file.write_bytes(raw)
    return subprocess.run(
        [OPENSSL, "smime", "-verify", "-in", str(message_file), "-CAfile", str(pki.ca_file)],
        capture_output=True, timeout=30,
    )


def options(pki: Pki, *, sign: bool, encrypt: bool) -> SmimeOptions:
    return SmimeOptions.from_files(
        sign=(pki.cert_file("sender"), pki.key_file("sender")) if sign else None,
        encrypt_to=[pki.cert_file("recipient")] if encrypt else [],
    )


def decrypt(raw: bytes, pki: Pki, who: str = "recipient") -> bytes:
    cert, key = pki.people[who]
    return pkcs7.pkcs7_decrypt_smime(raw, cert, key, [])


@needs_openssl
def test_signed_mail_verifies_against_the_ca_and_carries_the_file(
    tmp_path: Path, pki: Pki
) -> None:
    raw = send(tmp_path, pki, options(pki, sign=True, encrypt=False))
    assert_crlf_only(raw)
    message = parse(raw)
    assert message.get_content_type() == "multipart/signed"
    assert message.get_param("micalg") == "sha-256"
    assert "pkcs7-signature" in str(message.get_param("protocol"))
    assert message["From"] == "sender@example.org"
    assert attachment(message) == ("export.csv", DATA)
    result = openssl_verify(raw, pki, tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert b"Verification successful" in result.stderr
    # openssl hands back the signed content: our attachment, base64 inside
    assert attachment(parse(result.stdout)) == ("export.csv", DATA)


@needs_openssl
def test_a_changed_byte_breaks_the_signature(tmp_path: Path, pki: Pki) -> None:
    raw = send(tmp_path, pki, options(pki, sign=True, encrypt=False))
    head, sep, body = raw.partition(b"export.csv is attached.")
    assert sep
    tampered = head + b"export.csv is attacked." + body
    result = openssl_verify(tampered, pki, tmp_path)
    assert result.returncode != 0


def test_signature_checked_without_openssl(tmp_path: Path, pki: Pki) -> None:
    raw = send(tmp_path, pki, options(pki, sign=True, encrypt=False))
    content = verify_detached_signature(raw, pki.ca_cert)
    assert attachment(parse(content)) == ("export.csv", DATA)
    tampered = raw.replace(b"export.csv is attached.", b"export.csv is attacked.")
    with pytest.raises(AssertionError, match="messageDigest"):
        verify_detached_signature(tampered, pki.ca_cert)
    inner = decrypt(send(tmp_path / "both", pki, options(pki, sign=True, encrypt=True)), pki)
    assert attachment(parse(verify_detached_signature(inner, pki.ca_cert))) == (
        "export.csv", DATA)


def test_encrypted_mail_opens_with_the_recipient_key_only(tmp_path: Path, pki: Pki) -> None:
    raw = send(tmp_path, pki, options(pki, sign=False, encrypt=True))
    assert_crlf_only(raw)
    message = parse(raw)
    assert message.get_content_type() == "application/pkcs7-mime"
    assert message.get_param("smime-type") == "enveloped-data"
    assert DATA not in raw and b"12345678" not in raw
    inner = decrypt(raw, pki)
    assert attachment(parse(inner)) == ("export.csv", DATA)
    with pytest.raises(ValueError):
        decrypt(raw, pki, who="sender")


@needs_openssl
def test_signed_then_encrypted_mail(tmp_path: Path, pki: Pki) -> None:
    raw = send(tmp_path, pki, options(pki, sign=True, encrypt=True))
    assert_crlf_only(raw)
    assert parse(raw).get_content_type() == "application/pkcs7-mime"
    inner = decrypt(raw, pki)
    assert_crlf_only(inner)
    assert parse(inner).get_content_type() == "multipart/signed"
    result = openssl_verify(inner, pki, tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert attachment(parse(inner)) == ("export.csv", DATA)


def test_signing_canonicalises_line_ends_to_crlf(pki: Pki) -> None:
    cert, key = pki.people["sender"]
    signed = smime_sign(b"Content-Type: text/plain\n\nline one\nline two\n", cert, key)
    assert_crlf_only(signed)
    assert b"line one\r\nline two\r\n" in signed


def test_key_of_another_certificate_is_refused(pki: Pki) -> None:
    cert, _ = pki.people["sender"]
    _, other_key = pki.people["recipient"]
    with pytest.raises(SmimeError, match="does not belong"):
        smime_sign(b"Content-Type: text/plain\r\n\r\nx\r\n", cert, other_key)


def test_options_are_checked(pki: Pki, tmp_path: Path) -> None:
    cert, key = pki.people["sender"]
    with pytest.raises(SmimeError, match="both a certificate and its private key"):
        SmimeOptions(sign_certificate=cert)
    with pytest.raises(SmimeError, match="neither"):
        SmimeOptions()
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(SmimeError, match=r"not an X\.509 certificate"):
        load_certificate(garbage)
    with pytest.raises(SmimeError, match="cannot read"):
        load_certificate(tmp_path / "missing.pem")
    with pytest.raises(SmimeError, match="private key"):
        load_private_key(garbage)
    der = tmp_path / "cert.der"
    der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    assert load_certificate(der) == cert
    summary = SmimeOptions(sign_certificate=cert, sign_key=key).to_dict()
    assert summary == {"sign": "CN=sender@example.org", "encrypt_to": []}
