"""SMTP delivery against a real aiosmtpd server on 127.0.0.1: STARTTLS, implicit TLS, AUTH."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from exporters import DeliveryError, SmtpTransport, Spool, build_email

from .delivery_support import Pki, smtp_server

DATA = b"meter_id;quantity;value\r\n12345678;energy;1234,5\r\n"


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def attachment_of(message: EmailMessage) -> tuple[str | None, bytes]:
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return part.get_filename(), payload
    raise AssertionError("no attachment")


def has_bare_lf(raw: bytes) -> bool:
    return re.search(rb"(?<!\r)\n", raw) is not None


def test_build_email_attaches_the_file_byte_exact_with_crlf_lines() -> None:
    raw = build_email(
        attachment_name="export.csv",
        attachment=DATA.replace(b"\r\n", b"\n"),
        sender="logger@example.org",
        recipients=["portal@example.org", "billing@example.org"],
        subject="Readings",
        date=datetime(2026, 11, 24, 8, 15, tzinfo=timezone.utc),
        message_id="<id-1@example.org>",
    )
    assert not has_bare_lf(raw)
    message = parse(raw)
    assert message["From"] == "logger@example.org"
    assert message["To"] == "portal@example.org, billing@example.org"
    assert message["Subject"] == "Readings"
    assert message["Message-ID"] == "<id-1@example.org>"
    assert message["Date"] == "Tue, 24 Nov 2026 08:15:00 +0000"
    assert message["MIME-Version"] == "1.0"
    name, payload = attachment_of(message)
    assert name == "export.csv"
    assert payload == DATA.replace(b"\r\n", b"\n")  # base64 keeps the file's own line ends
    attachment = next(iter(message.iter_attachments()))
    assert attachment.get_content_type() == "text/csv"
    assert attachment["Content-Transfer-Encoding"] == "base64"


def queue(tmp_path: Path, name: str = "export.csv", data: bytes = DATA) -> Spool:
    spool = Spool(tmp_path / "spool")
    spool.put(name, data)
    return spool


def test_starttls_with_login_delivers_and_empties_the_spool(tmp_path: Path, pki: Pki) -> None:
    with smtp_server(pki, users={"logger": "pa55"}) as (port, sink):
        transport = SmtpTransport(
            "127.0.0.1", port, sender="logger@example.org", recipients=["portal@example.org"],
            security="starttls", username="logger", password="pa55",
            ssl_context=pki.client_context(), timeout=10,
        )
        spool = queue(tmp_path)
        spool.put("second.xml", b"<export/>")
        report = spool.deliver(transport)
    assert report.ok and len(report.delivered) == 2
    assert spool.entries() == []
    assert sink.logins == ["logger", "logger"] or sink.logins == ["logger"]
    assert [m[0] for m in sink.messages] == ["logger@example.org"] * 2
    assert sink.messages[0][1] == ["portal@example.org"]
    first = parse(sink.messages[0][2])
    assert attachment_of(first) == ("export.csv", DATA)
    assert first["Subject"] == "meterkit export export.csv"
    assert attachment_of(parse(sink.messages[1][2])) == ("second.xml", b"<export/>")
    assert not has_bare_lf(sink.messages[0][2])


def test_implicit_tls(tmp_path: Path, pki: Pki) -> None:
    with smtp_server(pki, implicit_tls=True) as (port, sink):
        transport = SmtpTransport(
            "127.0.0.1", port, sender="a@example.org", recipients=["b@example.org"],
            security="tls", ssl_context=pki.client_context(), timeout=10,
        )
        report = queue(tmp_path).deliver(transport)
    assert report.ok
    assert attachment_of(parse(sink.messages[0][2])) == ("export.csv", DATA)


def test_message_id_is_stable_for_an_entry_so_a_resend_can_be_recognised(
    tmp_path: Path,
) -> None:
    spool = queue(tmp_path)
    entry = spool.entries()[0]
    transport = SmtpTransport("127.0.0.1", 1, sender="a@example.org",
                              recipients=["b@example.org"])
    first, second = parse(transport.build(entry)), parse(transport.build(entry))
    assert first["Message-ID"] == second["Message-ID"] == f"<{entry.entry_id}.meterkit@example.org>"


def test_wrong_password_is_permanent_and_the_file_stays(tmp_path: Path, pki: Pki) -> None:
    with smtp_server(pki, users={"logger": "pa55"}) as (port, sink):
        transport = SmtpTransport(
            "127.0.0.1", port, sender="a@example.org", recipients=["b@example.org"],
            username="logger", password="wrong", ssl_context=pki.client_context(), timeout=10,
        )
        spool = queue(tmp_path)
        with pytest.raises(DeliveryError) as info:
            transport.deliver(spool.entries()[0])
        assert info.value.permanent
        assert "refused the login" in str(info.value)
        report = spool.deliver(transport)
    assert len(report.failed) == 1 and len(spool.entries()) == 1
    assert sink.messages == []


def test_server_without_starttls_is_refused_rather_than_sent_in_clear(
    tmp_path: Path, pki: Pki
) -> None:
    with smtp_server(pki, starttls=False) as (port, sink):
        transport = SmtpTransport(
            "127.0.0.1", port, sender="a@example.org", recipients=["b@example.org"],
            ssl_context=pki.client_context(), timeout=10,
        )
        with pytest.raises(DeliveryError, match="does not offer STARTTLS") as info:
            transport.deliver(queue(tmp_path).entries()[0])
        assert info.value.permanent
        plain = SmtpTransport(
            "127.0.0.1", port, sender="a@example.org", recipients=["b@example.org"],
            security="none", timeout=10,
        )
        assert queue(tmp_path / "plain").deliver(plain).ok
    assert len(sink.messages) == 1


def test_untrusted_certificate_is_a_permanent_error(tmp_path: Path, pki: Pki) -> None:
    with smtp_server(pki) as (port, sink):
        transport = SmtpTransport(
            "127.0.0.1", port, sender="a@example.org", recipients=["b@example.org"], timeout=10
        )
        with pytest.raises(DeliveryError, match="certificate") as info:
            transport.deliver(queue(tmp_path).entries()[0])
        assert info.value.permanent
    assert sink.messages == []


def test_server_down_is_a_transient_error(tmp_path: Path) -> None:
    from .delivery_support import free_port

    transport = SmtpTransport("127.0.0.1", free_port(), sender="a@example.org",
                              recipients=["b@example.org"], timeout=5)
    with pytest.raises(DeliveryError, match="cannot connect") as info:
        transport.deliver(queue(tmp_path).entries()[0])
    assert not info.value.permanent


def test_bad_settings_are_refused() -> None:
    with pytest.raises(DeliveryError, match="unknown security"):
        SmtpTransport("h", sender="a@b", recipients=["c@d"], security="ssl")  # type: ignore[arg-type]
    with pytest.raises(DeliveryError, match="recipient"):
        SmtpTransport("h", sender="a@b", recipients=[])
    with pytest.raises(DeliveryError, match="subject template") as info:
        SmtpTransport("h", sender="a@b", recipients=["c@d"], subject="{date} {name}")
    assert info.value.field == "subject"
    with pytest.raises(DeliveryError, match="Subject header") as info:
        build_email(attachment_name="a.csv", attachment=b"", sender="a@b", recipients=["c@d"],
                    subject="two\nlines", date=datetime(2026, 11, 24, tzinfo=timezone.utc),
                    message_id="<1@b>")
    assert info.value.permanent


def test_a_message_refused_for_good_goes_to_failed_and_the_rest_is_sent(
    tmp_path: Path, pki: Pki
) -> None:
    with smtp_server(pki, starttls=False, refuse={"refused.csv"}) as (port, sink):
        spool = Spool(tmp_path / "spool")
        for name in ("a.csv", "refused.csv", "b.csv"):
            spool.put(name, name.encode())
        transport = SmtpTransport("127.0.0.1", port, sender="logger@example.org",
                                  recipients=["portal@example.org"], security="none",
                                  timeout=10)
        report = spool.deliver(transport)
    assert [e.name for e in report.delivered] == ["a.csv", "b.csv"]
    assert len(sink.messages) == 2
    (failed,) = spool.failed_entries()
    assert failed.entry.name == "refused.csv" and "554" in failed.reason
    assert spool.entries() == []
