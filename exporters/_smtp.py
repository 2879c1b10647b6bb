"""E-mail transport: each spooled file as an attachment, optionally signed/encrypted (S/MIME).

:func:`build_email` is pure (the date is passed in); :class:`SmtpTransport` is the thin
adapter around :mod:`smtplib` that the spool calls. The ``Message-ID`` is derived from the
spool entry id, so an e-mail sent again after a crash carries the same id and mail clients
and archives can drop the duplicate (SMTP itself cannot be asked what it already accepted).
"""

from __future__ import annotations

import logging
import mimetypes
import smtplib
import ssl
from collections.abc import Callable, Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from ._errors import DeliveryError, EntryRefusedError, describe_failure
from ._smime import SmimeOptions, smime_protect, to_crlf
from ._spool import SpoolEntry

__all__ = ["SmtpSecurity", "SmtpTransport", "build_email"]

log = logging.getLogger(__name__)

SmtpSecurity = Literal["starttls", "tls", "none"]
"""``starttls``: plain connection upgraded by STARTTLS (refused if the server does not offer
it); ``tls``: implicit TLS from the first byte (port 465); ``none``: no encryption."""

_SECURITIES = ("starttls", "tls", "none")


def _content_type(name: str) -> tuple[str, str]:
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "text", "csv"
    if lowered.endswith(".xml"):
        return "application", "xml"
    guessed, _ = mimetypes.guess_type(name)
    if guessed and "/" in guessed:
        main, sub = guessed.split("/", 1)
        return main, sub
    return "application", "octet-stream"


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _header_block(msg: EmailMessage) -> bytes:
    raw = msg.as_bytes(policy=policy.SMTP)
    head, _, _ = raw.partition(b"\r\n\r\n")
    return head + b"\r\n"


def build_email(
    *,
    attachment_name: str,
    attachment: bytes,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    date: datetime,
    message_id: str,
    body: str = "",
    smime: SmimeOptions | None = None,
) -> bytes:
    """The complete RFC 5322 message, CRLF line ends, ready for ``DATA``.

    The attachment is base64-encoded (so a signature survives any relay); ``.csv`` files are
    ``text/csv``, ``.xml`` ``application/xml``, others guessed from the name.

    Raises:
        SmimeError: S/MIME was asked for and failed.
        DeliveryError: a header value cannot be used (line breaks, bad address).
    """
    content = EmailMessage(policy=policy.SMTP)
    content.set_content(body or f"{attachment_name} is attached.\n")
    maintype, subtype = _content_type(attachment_name)
    content.add_attachment(
        attachment, maintype=maintype, subtype=subtype, filename=attachment_name, cte="base64"
    )
    for part in content.iter_parts():
        del part["MIME-Version"]
    headers = EmailMessage(policy=policy.SMTP)
    for name, value in (
        ("From", sender),
        ("To", ", ".join(recipients)),
        ("Subject", subject),
        ("Date", format_datetime(date)),
        ("Message-ID", message_id),
    ):
        try:
            headers[name] = value
        except (ValueError, TypeError) as exc:
            raise DeliveryError(
                f"cannot put {value!r} in the {name} header: {exc}", permanent=True, field=name
            ) from None
    if smime is None:
        for name, value in headers.items():
            content[name] = value
        if "MIME-Version" not in content:
            content["MIME-Version"] = "1.0"
        return to_crlf(content.as_bytes(policy=policy.SMTP))
    del content["MIME-Version"]
    entity = content.as_bytes(policy=policy.SMTP)
    protected = smime_protect(entity, smime)
    return _header_block(headers) + protected


class SmtpTransport:
    """Send each spooled file as an e-mail attachment.

    Args:
        host: SMTP server.
        port: default 587 for ``starttls``, 465 for ``tls``, 25 for ``none``.
        sender: envelope and ``From`` address.
        recipients: envelope and ``To`` addresses.
        security: see :data:`SmtpSecurity`.
        username: log in with ``AUTH`` when given (only over TLS unless ``security="none"``).
        password: the password for ``username``.
        ssl_context: certificate checks; default the system's trust store.
        subject: template with ``{name}`` (the file name).
        body: text part; default says which file is attached.
        smime: sign and/or encrypt (see :class:`SmimeOptions`).
        timeout: seconds per network operation.
        local_hostname: name sent in ``EHLO``.
        clock: gives the ``Date`` header; default now.

    Raises (from :meth:`deliver`):
        EntryRefusedError: a 5xx reply to this message's data (too big, content refused):
            the spool moves the file to ``failed/`` and goes on.
        DeliveryError: ``permanent`` for refused login, refused recipients, a server without
            STARTTLS when it was required, certificate failures, and other 5xx replies
            (these concern every message: all files stay queued).
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        sender: str,
        recipients: Sequence[str],
        security: SmtpSecurity = "starttls",
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        subject: str = "meterkit export {name}",
        body: str = "",
        smime: SmimeOptions | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if security not in _SECURITIES:
            raise DeliveryError(
                f"unknown security {security!r}; expected one of {', '.join(_SECURITIES)}",
                permanent=True,
                field="security",
            )
        if not recipients:
            raise DeliveryError("at least one recipient is needed", permanent=True,
                                field="recipients")
        try:
            subject.format(name="export.csv")
        except (KeyError, IndexError, ValueError) as exc:
            raise DeliveryError(
                f"bad subject template {subject!r} ({exc}); only {{name}} may be used",
                permanent=True,
                field="subject",
            ) from None
        self.host = host
        self.port = port or {"starttls": 587, "tls": 465, "none": 25}[security]
        self.sender = sender
        self.recipients = tuple(recipients)
        self.security = security
        self.username = username
        self.password = password
        self.ssl_context = ssl_context
        self.subject = subject
        self.body = body
        self.smime = smime
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._now = clock or (lambda: datetime.now().astimezone())
        self._client: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self._client is not None:
            try:
                self._client.noop()
                return self._client
            except (smtplib.SMTPException, OSError):
                self.close()
        where = f"{self.host}:{self.port}"
        client: smtplib.SMTP
        try:
            if self.security == "tls":
                client = smtplib.SMTP_SSL(
                    self.host, self.port, local_hostname=self.local_hostname,
                    timeout=self.timeout, context=self._context(),
                )
            else:
                client = smtplib.SMTP(
                    self.host, self.port, local_hostname=self.local_hostname,
                    timeout=self.timeout,
                )
            client.ehlo()
            if self.security == "starttls":
                if not client.has_extn("starttls"):
                    client.close()
                    raise DeliveryError(
                        f"{where} does not offer STARTTLS; refusing to send in clear "
                        "(use --tls for implicit TLS, or security 'none' on a trusted link)",
                        permanent=True,
                    )
                client.starttls(context=self._context())
                client.ehlo()
            if self.username is not None:
                client.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{where} refused the login of {self.username!r}: {exc.smtp_code} "
                f"{_text(exc.smtp_error)}",
                permanent=True,
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"{where}: TLS certificate not trusted: {exc.verify_message}", permanent=True
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"{where}: {exc}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"cannot connect to {where}: {exc}") from None
        self._client = client
        return client

    def message_id(self, entry: SpoolEntry) -> str:
        """The stable ``Message-ID`` of the e-mail for ``entry``."""
        domain = self.sender.rpartition("@")[2] or "localhost"
        return f"<{entry.entry_id}.meterkit@{domain}>"

    def build(self, entry: SpoolEntry) -> bytes:
        """The message for one spooled file."""
        return build_email(
            attachment_name=entry.name,
            attachment=entry.read_bytes(),
            sender=self.sender,
            recipients=self.recipients,
            subject=self.subject.format(name=entry.name),
            date=self._now(),
            message_id=self.message_id(entry),
            body=self.body,
            smime=self.smime,
        )

    def deliver(self, entry: SpoolEntry) -> None:
        """Send one file; return when the server accepted it for at least one recipient."""
        message = self.build(entry)
        client = self._connect()
        where = f"{self.host}:{self.port}"
        try:
            refused = client.sendmail(self.sender, list(self.recipients), message)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            detail = "; ".join(
                f"{rcpt}: {code} {text.decode(errors='replace')}"
                for rcpt, (code, text) in exc.recipients.items()
            )
            raise DeliveryError(f"{where} refused every recipient ({detail})",
                                permanent=True) from None
        except smtplib.SMTPDataError as exc:
            self.close()
            why = f"{where} refused the message: {exc.smtp_code} {_text(exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                raise EntryRefusedError(why) from None  # this message, for good
            raise DeliveryError(why) from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise DeliveryError(
                f"{where} refused the message: {exc.smtp_code} "
                f"{_text(exc.smtp_error)}",
                permanent=500 <= exc.smtp_code < 600,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(f"sending to {where} failed: {describe_failure(exc)}") from None
        for rcpt, (code, text) in refused.items():
            log.warning("%s refused recipient %s: %s %r", where, rcpt, code, text)
        log.info("%s accepted %s (%s)", where, entry.name, self.message_id(entry))

    @property
    def destination(self) -> str:
        """``smtp://host:port/recipients``, for delivery records."""
        return f"smtp://{self.host}:{self.port}/{','.join(self.recipients)}"

    def already_delivered(self, entry: SpoolEntry) -> bool:
        """SMTP cannot be asked; always ``False`` (the e-mail goes again, same Message-ID)."""
        return False

    def close(self) -> None:
        """Say QUIT and drop the connection."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
