"""FTP and FTPS (explicit TLS, RFC 4217) upload transport, a thin adapter around :mod:`ftplib`.

Each file is stored under a hidden temporary name (:attr:`SpoolEntry.temporary_name`) and
renamed to its final name only when the server confirmed the whole upload, so a consumer
never picks up half a file, and a re-upload after a crash replaces the file instead of adding
a second one.
"""

from __future__ import annotations

import contextlib
import ftplib
import logging
import posixpath
import ssl
from datetime import datetime, timezone

from ._spool import DeliveryError, SpoolEntry

__all__ = ["FtpTransport"]

log = logging.getLogger(__name__)


# MDTM has whole seconds; allow that much (and a little clock skew) before "queued".
_CLOCK_SLACK = 2.0


def _parse_mdtm(reply: str) -> float | None:
    """Epoch seconds from a ``213 YYYYMMDDHHMMSS[.sss]`` reply (UTC), else ``None``."""
    parts = reply.split()
    if len(parts) != 2 or parts[0] != "213":
        return None
    text = parts[1]
    try:
        stamp = datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        fraction = float("0" + text[14:]) if text[14:] else 0.0
    except ValueError:
        return None
    return stamp.timestamp() + fraction


class FtpTransport:
    """Upload spooled files to an FTP or FTPS server.

    Args:
        host: server name or address.
        port: default 21.
        user: login name (``anonymous`` by default).
        password: login password.
        directory: remote directory to upload into (must exist); default the login directory.
        tls: explicit FTPS: ``AUTH TLS`` before login and a protected data channel
            (``PROT P``). Plain FTP sends the password in clear.
        ssl_context: certificate checks for FTPS; default the system's trust store.
        passive: passive mode (the default; active mode rarely passes NAT).
        timeout: seconds per network operation.

    Not supported yet: implicit FTPS (port 990), and servers that demand TLS session reuse
    on the data connection (vsftpd's ``require_ssl_reuse``), which :mod:`ftplib` cannot do.
    """

    def __init__(
        self,
        host: str,
        port: int = 21,
        *,
        user: str = "anonymous",
        password: str = "",
        directory: str = "",
        tls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        passive: bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.directory = directory
        self.tls = tls
        self.ssl_context = ssl_context
        self.passive = passive
        self.timeout = timeout
        self._ftp: ftplib.FTP | None = None

    @property
    def _where(self) -> str:
        scheme = "ftps" if self.tls else "ftp"
        return f"{scheme}://{self.host}:{self.port}/{self.directory.lstrip('/')}"

    def _connect(self) -> ftplib.FTP:
        if self._ftp is not None:
            try:
                self._ftp.voidcmd("NOOP")
                return self._ftp
            except (ftplib.Error, OSError, EOFError):
                self.close()
        ftp: ftplib.FTP
        if self.tls:
            ftp = ftplib.FTP_TLS(
                context=self.ssl_context or ssl.create_default_context(), timeout=self.timeout
            )
        else:
            ftp = ftplib.FTP(timeout=self.timeout)
        try:
            ftp.connect(self.host, self.port)
            ftp.login(self.user, self.password)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(self.passive)
            ftp.voidcmd("TYPE I")
            if self.directory:
                ftp.cwd(self.directory)
        except ftplib.error_perm as exc:
            ftp.close()
            raise DeliveryError(f"{self._where}: {exc}", permanent=True) from None
        except ssl.SSLCertVerificationError as exc:
            ftp.close()
            raise DeliveryError(
                f"{self._where}: TLS certificate not trusted: {exc.verify_message}",
                permanent=True,
            ) from None
        except (ftplib.Error, OSError, EOFError) as exc:
            ftp.close()
            raise DeliveryError(f"cannot connect to {self._where}: {exc}") from None
        self._ftp = ftp
        return ftp

    def deliver(self, entry: SpoolEntry) -> None:
        """Upload to the temporary name, then rename to ``entry.name``."""
        ftp = self._connect()
        temporary = entry.temporary_name
        try:
            with entry.open() as stream:
                ftp.storbinary(f"STOR {temporary}", stream)
            try:
                ftp.rename(temporary, entry.name)
            except ftplib.error_perm:
                # Some servers refuse to rename onto an existing file: replace it explicitly.
                with contextlib.suppress(ftplib.error_perm):
                    ftp.delete(entry.name)
                ftp.rename(temporary, entry.name)
        except ftplib.error_perm as exc:
            self.close()
            raise DeliveryError(
                f"{self._where}: upload of {entry.name} refused: {exc}", permanent=True
            ) from None
        except (ftplib.Error, OSError, EOFError) as exc:
            self.close()
            raise DeliveryError(f"{self._where}: upload of {entry.name} failed: {exc}") from None
        log.info("uploaded %s to %s", entry.name, self._where)

    def already_delivered(self, entry: SpoolEntry) -> bool:
        """``True`` when the final name exists remotely with the entry's size and was last
        modified after the entry was queued (``SIZE`` and ``MDTM``, RFC 3659).

        The time check keeps an older file of the same name and size (yesterday's export)
        from being taken for this one. A server without ``SIZE``/``MDTM`` gets ``False``:
        the file is uploaded again, which replaces it.
        """
        ftp = self._connect()
        try:
            size = ftp.size(entry.name)
            reply = ftp.sendcmd(f"MDTM {entry.name}")
        except ftplib.error_perm:
            return False
        except (ftplib.Error, OSError, EOFError) as exc:
            self.close()
            raise DeliveryError(f"{self._where}: cannot check {entry.name}: {exc}") from None
        modified = _parse_mdtm(reply)
        if size != entry.size or modified is None:
            return False
        return modified >= entry.created - _CLOCK_SLACK

    def remote_path(self, entry: SpoolEntry) -> str:
        """Where the file ends up on the server (for reports)."""
        return posixpath.join(self.directory or ".", entry.name)

    def close(self) -> None:
        """Say QUIT and drop the connection."""
        ftp, self._ftp = self._ftp, None
        if ftp is None:
            return
        try:
            ftp.quit()
        except (ftplib.Error, OSError, EOFError):
            ftp.close()
