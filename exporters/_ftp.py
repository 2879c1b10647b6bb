"""FTP and FTPS (explicit TLS, RFC 4217) upload transport, a thin adapter around :mod:`ftplib`.

Each file is stored under its entry's own hidden temporary name
(:attr:`SpoolEntry.temporary_name`) and renamed to its final name only when the server has
the whole upload, so a consumer never picks up half a file and one version never replaces
another's partial upload.

- Resuming: when the temporary file of an earlier attempt is on the server, the upload
  continues at its size (``REST`` + ``STOR``, RFC 3659) instead of truncating it; a server
  that refuses ``REST`` gets the whole file again. Before the rename, ``SIZE`` of the
  temporary file must equal the entry's size.
- Proof after an interruption (:meth:`FtpTransport.already_delivered`): the server's
  ``HASH`` command (draft-bryan-ftpext-hash, SHA-256) where ``FEAT`` offers it, otherwise
  a download of files up to ``verify_limit`` bytes compared byte for byte (by SHA-256);
  larger files are uploaded again. Size and modification time are never taken as proof.
- Errors: ``550``/``553`` to ``STOR`` or ``RNTO`` refuse the file for good
  (:class:`EntryRefusedError`); a refused login or directory is permanent for the
  destination (every file stays queued); anything else is transient. A connection the
  server closed without a word is reported as such, never as an empty message.
"""

from __future__ import annotations

import contextlib
import ftplib
import hashlib
import logging
import posixpath
import ssl

from ._errors import DeliveryError, EntryRefusedError, describe_failure
from ._spool import SpoolEntry

__all__ = ["FtpTransport"]

log = logging.getLogger(__name__)

_VERIFY_LIMIT = 16 * 1024 * 1024
_REFUSING_CODES = ("550", "553")


def _code(exc: ftplib.Error) -> str:
    return str(exc)[:3]


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
        verify_limit: largest file checked by download after an interrupted attempt when
            the server offers no ``HASH`` (larger files are uploaded again).

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
        verify_limit: int = _VERIFY_LIMIT,
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
        self.verify_limit = verify_limit
        self._ftp: ftplib.FTP | None = None
        self._hash_offered: bool | None = None

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
            raise DeliveryError(f"{self._where}: {describe_failure(exc)}", permanent=True) from None
        except ssl.SSLCertVerificationError as exc:
            ftp.close()
            raise DeliveryError(
                f"{self._where}: TLS certificate not trusted: {exc.verify_message}",
                permanent=True,
            ) from None
        except (ftplib.Error, OSError, EOFError) as exc:
            ftp.close()
            raise DeliveryError(
                f"cannot connect to {self._where}: {describe_failure(exc)}"
            ) from None
        self._ftp = ftp
        self._hash_offered = None
        return ftp

    def deliver(self, entry: SpoolEntry) -> None:
        """Upload to the entry's temporary name (resuming an earlier partial upload), check
        its size, then rename it to ``entry.name``; return when the rename was confirmed.

        Raises:
            EntryRefusedError: the server refused the file or its name (550/553).
            DeliveryError: anything else; the file stays queued.
        """
        ftp = self._connect()
        temporary = entry.temporary_name
        step = "upload"
        try:
            self._store(ftp, entry, temporary)
            step = "check"
            stored = self._size(ftp, temporary)
            if stored is not None and stored != entry.size:
                raise DeliveryError(
                    f"{self._where}: {temporary} holds {stored} bytes after the upload, "
                    f"expected {entry.size}"
                )
            step = "rename"
            self._rename(ftp, temporary, entry.name)
        except DeliveryError:
            self.close()
            raise
        except ftplib.error_perm as exc:
            self.close()
            message = f"{self._where}: {step} of {entry.name} refused: {describe_failure(exc)}"
            if _code(exc) in _REFUSING_CODES and step in ("upload", "rename"):
                raise EntryRefusedError(message) from None
            raise DeliveryError(message, permanent=True) from None
        except (ftplib.Error, OSError, EOFError) as exc:
            self.close()
            raise DeliveryError(
                f"{self._where}: {step} of {entry.name} failed: {describe_failure(exc)}"
            ) from None
        log.info("uploaded %s to %s", entry.name, self._where)

    def _rename(self, ftp: ftplib.FTP, temporary: str, final: str) -> None:
        for attempt in (1, 2):
            try:
                ftp.sendcmd(f"RNFR {temporary}")
            except ftplib.error_perm as exc:
                # Our own complete upload is gone (removed on the server): send it again.
                raise DeliveryError(
                    f"{self._where}: {temporary} vanished before its rename: "
                    f"{describe_failure(exc)}"
                ) from None
            try:
                ftp.voidcmd(f"RNTO {final}")
                return
            except ftplib.error_perm:
                if attempt == 2:
                    raise
                # Some servers refuse to rename onto an existing file: replace it.
                with contextlib.suppress(ftplib.error_perm):
                    ftp.delete(final)

    def _size(self, ftp: ftplib.FTP, name: str) -> int | None:
        """``SIZE`` of a remote file, ``None`` when it does not exist or SIZE is refused."""
        try:
            return ftp.size(name)
        except ftplib.error_perm:
            return None

    def _store(self, ftp: ftplib.FTP, entry: SpoolEntry, temporary: str) -> None:
        # Every write to the entry's own temporary name puts the entry's bytes at their own
        # offsets; an existing temporary file is continued (REST), never truncated, so even a
        # rename a server carries out late for a killed connection moves complete bytes.
        offset = self._size(ftp, temporary)
        with entry.open() as stream:
            if offset is not None and 0 < offset <= entry.size:
                stream.seek(offset)
                try:
                    ftp.storbinary(f"STOR {temporary}", stream, rest=offset)
                    log.info("resumed %s at byte %d", entry.name, offset)
                    return
                except (ftplib.error_perm, ftplib.error_reply) as exc:
                    if _code(exc) in _REFUSING_CODES:
                        raise
                    log.info("%s refuses to resume (%s); uploading all of %s", self._where,
                             describe_failure(exc), entry.name)
                stream.seek(0)
            ftp.storbinary(f"STOR {temporary}", stream)

    def already_delivered(self, entry: SpoolEntry) -> bool:
        """``True`` only when the final name holds exactly the entry's bytes: the server's
        SHA-256 (``HASH``) or, for files up to ``verify_limit`` bytes, a download must
        match. Otherwise ``False`` (the file is uploaded again, replacing the remote one).

        Raises:
            DeliveryError: the connection failed (transient).
        """
        ftp = self._connect()
        try:
            remote = self._remote_sha256(ftp, entry)
        except ftplib.error_perm:
            return False  # no such file (550), or no permission to read it back
        except (ftplib.Error, OSError, EOFError) as exc:
            self.close()
            raise DeliveryError(
                f"{self._where}: cannot check {entry.name}: {describe_failure(exc)}"
            ) from None
        return remote is not None and remote == entry.sha256()

    def _remote_sha256(self, ftp: ftplib.FTP, entry: SpoolEntry) -> str | None:
        if self._offers_hash(ftp):
            reply = ftp.sendcmd(f"HASH {entry.name}")
            # 213 SHA-256 0-1234 0123abcd... name
            parts = reply.split()
            if len(parts) >= 4 and parts[0] == "213" and parts[1].upper() == "SHA-256":
                return parts[3].lower()
        if entry.size > self.verify_limit:
            return None
        digest = hashlib.sha256()
        received = 0

        def take(block: bytes) -> None:
            nonlocal received
            received += len(block)
            if received > entry.size:
                raise ftplib.error_perm("550 the remote file is longer than the entry")
            digest.update(block)

        ftp.retrbinary(f"RETR {entry.name}", take)
        return digest.hexdigest()

    def _offers_hash(self, ftp: ftplib.FTP) -> bool:
        if self._hash_offered is None:
            try:
                features = ftp.sendcmd("FEAT")
            except ftplib.error_perm:
                features = ""
            offered = any(line.strip().upper().startswith("HASH")
                          and "SHA-256" in line.upper()
                          for line in features.splitlines()[1:])
            if offered:
                try:
                    ftp.sendcmd("OPTS HASH SHA-256")
                except ftplib.error_perm:
                    offered = False
            self._hash_offered = offered
        return self._hash_offered

    def discard(self, entry: SpoolEntry) -> None:
        """Remove the entry's temporary file from the server, if it is there."""
        ftp = self._connect()
        try:
            ftp.delete(entry.temporary_name)
        except ftplib.error_perm:
            return
        except (ftplib.Error, OSError, EOFError) as exc:
            self.close()
            raise DeliveryError(
                f"{self._where}: cannot remove {entry.temporary_name}: {describe_failure(exc)}"
            ) from None

    @property
    def destination(self) -> str:
        """``ftp://host:port/directory`` (``ftps://`` with TLS), for delivery records."""
        return self._where

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
