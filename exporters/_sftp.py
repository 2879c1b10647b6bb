"""SFTP upload transport over SSH with a pinned host key (paramiko, the ``sftp`` extra).

The server's host key is compared with the pin before any credential is sent; there is no
"trust on first use". Files go to the entry's own hidden temporary name and are renamed
when complete (``posix-rename@openssh.com`` where offered, so the final name is replaced
atomically). paramiko is imported only when a connection is made, so this module imports
without it.

- Resuming: a temporary file left by an earlier attempt is continued at its size (written
  at that offset), never truncated; its size must equal the entry's before the rename.
- Proof after an interruption (:meth:`SftpTransport.already_delivered`): the server's
  SHA-256 of the final file (the ``check-file`` extension) where offered, otherwise the
  file is read back (up to ``verify_limit`` bytes) and compared; larger files are uploaded
  again. Size and modification time are never taken as proof.
- Errors: permission denied, or no such path, for the file refuse it for good
  (:class:`EntryRefusedError`); a refused login, host key or directory is permanent for
  the destination (every file stays queued); anything else is transient.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import posixpath
import socket
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._errors import (
    DeliveryError,
    EntryRefusedError,
    MissingDependencyError,
    describe_failure,
)
from ._spool import SpoolEntry

if TYPE_CHECKING:
    import paramiko

__all__ = ["HostKeyError", "HostKeyPin", "SftpTransport"]

log = logging.getLogger(__name__)

_CHUNK = 32768
_VERIFY_LIMIT = 16 * 1024 * 1024




class HostKeyError(DeliveryError):
    """The server's host key does not match the pinned one (or the pin is malformed)."""

    def __init__(self, message: str, *, field: str | None = "host_key") -> None:
        super().__init__(message, permanent=True, field=field)


def _fingerprint(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _blob_type(blob: bytes) -> str | None:
    if len(blob) < 4:
        return None
    (length,) = struct.unpack(">I", blob[:4])
    if length > len(blob) - 4 or length > 64:
        return None
    try:
        return blob[4 : 4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class HostKeyPin:
    """A pinned SSH host key: its OpenSSH SHA-256 fingerprint and, if known, its type.

    >>> pin = HostKeyPin.parse("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")
    >>> pin.fingerprint
    'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU'
    >>> pin.matches("ssh-ed25519", b"")
    True
    """

    fingerprint: str
    key_type: str | None = None

    @classmethod
    def parse(cls, text: str) -> HostKeyPin:
        """Read a pin from one of:

        - a fingerprint as ``ssh-keygen -lf`` prints it: ``SHA256:<base64>``;
        - a public key line: ``ssh-ed25519 AAAA... [comment]`` (as in ``*.pub`` files);
        - a ``known_hosts`` line: ``host ssh-ed25519 AAAA...``.

        Raises:
            HostKeyError: none of these forms.
        """
        stripped = text.strip() if isinstance(text, str) else ""
        if stripped.startswith("SHA256:"):
            digest = stripped[7:]
            try:
                raw = base64.b64decode(digest + "=" * (-len(digest) % 4), validate=True)
            except binascii.Error:
                raw = b""
            if len(raw) != 32:
                raise HostKeyError(f"not a SHA-256 fingerprint: {stripped!r}")
            return cls(fingerprint=_fingerprint_from_digest(raw))
        tokens = stripped.split()
        for index, token in enumerate(tokens[:-1]):
            if not (token.startswith(("ssh-", "ecdsa-", "sk-"))):
                continue
            try:
                blob = base64.b64decode(tokens[index + 1], validate=True)
            except binascii.Error:
                continue
            if _blob_type(blob) != token:
                raise HostKeyError(f"the key data does not hold a {token} key")
            return cls(fingerprint=_fingerprint(blob), key_type=token)
        raise HostKeyError(
            "expected 'SHA256:<fingerprint>', a public key line 'ssh-ed25519 AAAA...' or a "
            f"known_hosts line, got {stripped[:60]!r}"
        )

    def matches(self, key_type: str, blob: bytes) -> bool:
        """Whether a key offered by a server (its type name and wire blob) is the pinned one.

        A pin made from a fingerprint alone matches on the fingerprint only (an empty blob
        is never offered by a real server).
        """
        if self.key_type is not None and key_type != self.key_type:
            return False
        if not blob:
            return self.key_type is None
        return _fingerprint(blob) == self.fingerprint

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"fingerprint": self.fingerprint, "key_type": self.key_type}


def _fingerprint_from_digest(raw: bytes) -> str:
    return "SHA256:" + base64.b64encode(raw).decode().rstrip("=")


def _import_paramiko() -> Any:
    try:
        import paramiko
    except ImportError:
        raise MissingDependencyError(
            "SFTP needs paramiko: pip install 'meterkit[sftp]'", field="paramiko"
        ) from None
    return paramiko


class SftpTransport:
    """Upload spooled files over SFTP.

    Args:
        host: server name or address.
        port: default 22.
        username: login name.
        host_key: the pinned host key (see :meth:`HostKeyPin.parse`), required.
        password: password authentication.
        private_key: path of a private key file (OpenSSH or PEM) for public-key
            authentication (tried before the password when both are given).
        key_password: passphrase of ``private_key``.
        directory: remote directory (must exist); default the login directory.
        timeout: seconds for connecting, the handshake and each operation.
        verify_limit: largest file read back after an interrupted attempt when the server
            offers no ``check-file`` (larger files are uploaded again).

    Raises (from :meth:`deliver`):
        HostKeyError: the server's key does not match the pin (nothing was sent).
        DeliveryError: ``permanent`` when the login was refused.
        MissingDependencyError: paramiko is not installed.
    """

    def __init__(
        self,
        host: str,
        port: int = 22,
        *,
        username: str,
        host_key: str | HostKeyPin,
        password: str | None = None,
        private_key: str | os.PathLike[str] | None = None,
        key_password: str | None = None,
        directory: str = "",
        timeout: float = 30.0,
        verify_limit: int = _VERIFY_LIMIT,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.pin = host_key if isinstance(host_key, HostKeyPin) else HostKeyPin.parse(host_key)
        self.password = password
        self.private_key = private_key
        self.key_password = key_password
        self.directory = directory
        self.timeout = timeout
        self.verify_limit = verify_limit
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None

    @property
    def _where(self) -> str:
        return f"sftp://{self.host}:{self.port}/{self.directory.lstrip('/')}"

    def _connect(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._transport is not None and self._transport.is_active():
            return self._sftp
        self.close()
        pm = _import_paramiko()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise DeliveryError(
                f"cannot connect to {self._where}: {describe_failure(exc)}"
            ) from None
        transport = pm.Transport(sock)
        try:
            transport.banner_timeout = self.timeout
            transport.auth_timeout = self.timeout
            transport.start_client(timeout=self.timeout)
            key = transport.get_remote_server_key()
            offered = _fingerprint(key.asbytes())
            if not self.pin.matches(key.get_name(), key.asbytes()):
                raise HostKeyError(
                    f"{self._where} presented host key {key.get_name()} {offered}, "
                    f"but {self.pin.fingerprint} is pinned; refusing to log in "
                    "(if the server's key was changed on purpose, update --host-key)"
                )
            self._authenticate(pm, transport)
            sftp: paramiko.SFTPClient | None = pm.SFTPClient.from_transport(transport)
            if sftp is None:
                raise DeliveryError(f"{self._where}: the server refused the SFTP subsystem")
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(self.timeout)
            if self.directory:
                sftp.chdir(self.directory)
        except DeliveryError:
            transport.close()
            raise
        except pm.AuthenticationException as exc:
            transport.close()
            raise DeliveryError(
                f"{self._where} refused the login of {self.username!r}: {exc}", permanent=True
            ) from None
        except FileNotFoundError:
            transport.close()
            raise DeliveryError(
                f"{self._where}: remote directory {self.directory!r} does not exist",
                permanent=True,
            ) from None
        except (pm.SSHException, OSError, EOFError) as exc:
            transport.close()
            raise DeliveryError(f"{self._where}: SSH failed: {describe_failure(exc)}") from None
        self._transport = transport
        self._sftp = sftp
        return sftp

    def _authenticate(self, pm: Any, transport: paramiko.Transport) -> None:
        if self.private_key is not None:
            try:
                pkey = pm.PKey.from_path(self.private_key, password=self.key_password)
            except (OSError, pm.SSHException, ValueError) as exc:
                raise DeliveryError(
                    f"cannot load private key {self.private_key}: {exc}", permanent=True,
                    field="private_key",
                ) from None
            try:
                transport.auth_publickey(self.username, pkey)
                return
            except pm.AuthenticationException:
                if self.password is None:
                    raise
        if self.password is None:
            raise DeliveryError(
                "SFTP needs a password or a private key", permanent=True, field="password"
            )
        transport.auth_password(self.username, self.password)

    def deliver(self, entry: SpoolEntry) -> None:
        """Upload to the entry's temporary name (resuming an earlier partial upload), check
        its size, then rename it to ``entry.name``; return when the rename was confirmed.

        Raises:
            EntryRefusedError: permission denied or no such path for this file.
            DeliveryError: anything else; the file stays queued.
        """
        sftp = self._connect()
        temporary = entry.temporary_name
        step = "upload"
        try:
            self._store(sftp, entry, temporary)
            step = "check"
            stored = sftp.stat(temporary).st_size
            if stored != entry.size:
                raise DeliveryError(
                    f"{self._where}: {temporary} holds {stored} bytes after the upload, "
                    f"expected {entry.size}"
                )
            step = "rename"
            try:
                sftp.posix_rename(temporary, entry.name)
            except OSError:
                # Without the OpenSSH extension, plain RENAME refuses an existing target.
                with contextlib.suppress(OSError):
                    sftp.remove(entry.name)
                sftp.rename(temporary, entry.name)
        except DeliveryError:
            self.close()
            raise
        except (PermissionError, FileNotFoundError) as exc:
            self.close()
            message = f"{self._where}: {step} of {entry.name} refused: {describe_failure(exc)}"
            if step == "upload" or (step == "rename" and isinstance(exc, PermissionError)):
                raise EntryRefusedError(message) from None
            raise DeliveryError(message) from None  # our own temporary file vanished
        except Exception as exc:
            # OSError, EOFError, paramiko.SSHException when the session breaks.
            self.close()
            raise DeliveryError(
                f"{self._where}: {step} of {entry.name} failed: {describe_failure(exc)}"
            ) from None
        log.info("uploaded %s to %s", entry.name, self._where)

    def _store(self, sftp: paramiko.SFTPClient, entry: SpoolEntry, temporary: str) -> None:
        # An existing temporary file of this entry is continued at its size, never truncated
        # (see the FTP transport: a late rename then still moves complete bytes).
        try:
            offset = sftp.stat(temporary).st_size or 0
        except FileNotFoundError:
            offset = -1
        with entry.open() as stream:
            if 0 <= offset <= entry.size:
                stream.seek(offset)
                with sftp.open(temporary, "r+b") as remote:
                    remote.seek(offset)
                    remote.set_pipelined(True)
                    while block := stream.read(_CHUNK):
                        remote.write(block)
                if offset:
                    log.info("resumed %s at byte %d", entry.name, offset)
                return
            sftp.putfo(stream, temporary, file_size=entry.size, confirm=False)

    def already_delivered(self, entry: SpoolEntry) -> bool:
        """``True`` only when the final name holds exactly the entry's bytes: the server's
        SHA-256 (``check-file``) or, for files up to ``verify_limit`` bytes, a read-back must
        match. Otherwise ``False`` (the file is uploaded again, replacing the remote one).

        Raises:
            DeliveryError: the connection failed (transient).
        """
        sftp = self._connect()
        try:
            with sftp.open(entry.name, "rb") as remote:
                remote_hash = self._server_sha256(remote)
                if remote_hash is not None:
                    return remote_hash == entry.sha256()
                if entry.size > self.verify_limit:
                    return False
                remote.prefetch()
                data = remote.read(entry.size + 1)
        except (FileNotFoundError, PermissionError):
            return False
        except Exception as exc:
            self.close()
            raise DeliveryError(
                f"{self._where}: cannot check {entry.name}: {describe_failure(exc)}"
            ) from None
        return len(data) == entry.size and hashlib.sha256(data).hexdigest() == entry.sha256()

    @staticmethod
    def _server_sha256(remote: paramiko.SFTPFile) -> str | None:
        try:
            digest: bytes = remote.check("sha256")
        except OSError:
            return None  # the server does not offer check-file
        return digest.hex()

    def discard(self, entry: SpoolEntry) -> None:
        """Remove the entry's temporary file from the server, if it is there."""
        sftp = self._connect()
        try:
            sftp.remove(entry.temporary_name)
        except (FileNotFoundError, PermissionError):
            return
        except Exception as exc:
            self.close()
            raise DeliveryError(
                f"{self._where}: cannot remove {entry.temporary_name}: {describe_failure(exc)}"
            ) from None

    @property
    def destination(self) -> str:
        """``sftp://host:port/directory``, for delivery records."""
        return self._where

    def remote_path(self, entry: SpoolEntry) -> str:
        """Where the file ends up on the server (for reports)."""
        return posixpath.join(self.directory or ".", entry.name)

    def close(self) -> None:
        """Close the SFTP session and the SSH connection."""
        sftp, self._sftp = self._sftp, None
        transport, self._transport = self._transport, None
        if sftp is not None:
            with contextlib.suppress(Exception):
                sftp.close()
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()
