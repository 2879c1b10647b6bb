"""Loopback peers and certificates for the delivery tests (spool, SMTP, FTP, SFTP, MQTT).

Every server listens on 127.0.0.1 on a port chosen free at runtime and is started and stopped
by the fixtures in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import getpass
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not become idle")
        time.sleep(0.02)


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((LOCALHOST, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --- certificates -------------------------------------------------------------------------


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Pki:
    """A test CA, a server certificate for 127.0.0.1/localhost and two e-mail identities."""

    directory: Path
    ca_cert: x509.Certificate
    ca_key: rsa.RSAPrivateKey
    server_cert: x509.Certificate
    server_key: rsa.RSAPrivateKey
    people: dict[str, tuple[x509.Certificate, rsa.RSAPrivateKey]] = field(default_factory=dict)

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server_cert_file(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key_file(self) -> Path:
        return self.directory / "server.key"

    @property
    def server_chain_file(self) -> Path:
        return self.directory / "server-chain.pem"

    def cert_file(self, who: str) -> Path:
        return self.directory / f"{who}.pem"

    def key_file(self, who: str) -> Path:
        return self.directory / f"{who}.key"

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.server_chain_file), str(self.server_key_file))
        return ctx


def make_pki(directory: Path) -> Pki:
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    later = now + datetime.timedelta(days=2)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meterkit test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)

    def leaf(
        key: rsa.RSAPrivateKey, name: str, san: list[x509.GeneralName], usage: list[Any]
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(later)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=True,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False,
                    crl_sign=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(aki, critical=False)
            .sign(ca_key, hashes.SHA256())
        )

    server_key = _key()
    server_cert = leaf(
        server_key,
        "localhost",
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOCALHOST))],
        [ExtendedKeyUsageOID.SERVER_AUTH],
    )
    pki = Pki(directory, ca_cert, ca_key, server_cert, server_key)
    directory.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    pki.ca_file.write_bytes(ca_cert.public_bytes(pem))
    pki.server_cert_file.write_bytes(server_cert.public_bytes(pem))
    pki.server_chain_file.write_bytes(server_cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    pki.server_key_file.write_bytes(_pem_key(server_key))
    for who in ("sender", "recipient"):
        key = _key()
        cert = leaf(
            key,
            f"{who}@example.org",
            [x509.RFC822Name(f"{who}@example.org")],
            [ExtendedKeyUsageOID.EMAIL_PROTECTION],
        )
        pki.people[who] = (cert, key)
        pki.cert_file(who).write_bytes(cert.public_bytes(pem))
        pki.key_file(who).write_bytes(_pem_key(key))
    return pki


# --- SMTP (aiosmtpd) ------------------------------------------------------------------------


class MailSink:
    """aiosmtpd handler that keeps every accepted message."""

    def __init__(self, refuse: frozenset[str] | set[str] = frozenset()) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []
        self.lock = threading.Lock()
        self.refuse = refuse

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = bytes(envelope.original_content)
        if any(f'filename="{name}"'.encode() in content for name in self.refuse):
            return "554 5.7.1 Message content refused"
        with self.lock:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
            )
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server(
    pki: Pki,
    *,
    implicit_tls: bool = False,
    starttls: bool = True,
    users: dict[str, str] | None = None,
    refuse: frozenset[str] | set[str] = frozenset(),
) -> Iterator[tuple[int, MailSink]]:
    """An aiosmtpd server on 127.0.0.1; a message whose attachment is named in ``refuse``
    is answered ``554`` (refused for good)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    sink = MailSink(refuse)

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> Any:
        login = getattr(data, "login", b"")
        password = getattr(data, "password", b"")
        user = login.decode() if isinstance(login, bytes) else str(login)
        secret = password.decode() if isinstance(password, bytes) else str(password)
        ok = users is not None and users.get(user) == secret
        if ok:
            sink.logins.append(user)
        return AuthResult(success=ok, handled=False)

    port = free_port()
    kwargs: dict[str, Any] = {}
    if users is not None:
        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    if implicit_tls:
        controller = Controller(
            sink, hostname=LOCALHOST, port=port, ssl_context=pki.server_context(),
            server_hostname="localhost", **kwargs,
        )
    elif starttls:
        controller = Controller(
            sink, hostname=LOCALHOST, port=port, tls_context=pki.server_context(),
            require_starttls=True, **kwargs,
        )
    else:
        controller = Controller(sink, hostname=LOCALHOST, port=port, **kwargs)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()


# --- FTP / FTPS (pyftpdlib) -----------------------------------------------------------------


@dataclass
class FtpPeer:
    port: int
    root: Path
    renames: list[str]
    stored: list[str]
    sessions: list[int]  # [open control connections]
    rest_offsets: list[int] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    user: str = "meter"
    password: str = "s3cret"

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until every client connection is closed and its commands handled (after a
        client was killed, its last commands may still be in the server's socket)."""
        _wait_until(lambda: self.sessions[0] == 0, timeout)


@contextlib.contextmanager
def ftp_server(
    root: Path, *, tls_pki: Pki | None = None, refuse: frozenset[str] | set[str] = frozenset(),
    port: int = 0, hash_command: bool = False, hang_up_on_store: bool = False,
    refuse_rename: frozenset[str] | set[str] = frozenset(),
) -> Iterator[FtpPeer]:
    """A pyftpdlib server on 127.0.0.1 (``port`` 0: any free port). Storing or renaming to a
    name in ``refuse`` is answered ``553`` (a file the server refuses for good).
    ``hash_command`` offers ``HASH`` (SHA-256, draft-bryan-ftpext-hash) in ``FEAT``;
    ``hang_up_on_store`` closes the connection without a reply when an upload starts;
    renaming onto a name in ``refuse_rename`` is answered ``553`` (after the upload)."""
    import hashlib

    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    root.mkdir(parents=True, exist_ok=True)
    renames: list[str] = []
    stored: list[str] = []
    rest_offsets: list[int] = []
    downloads: list[str] = []
    sessions = [0]
    authorizer = DummyAuthorizer()
    authorizer.add_user("meter", "s3cret", str(root), perm="elradfmwMT")
    base: Any = FTPHandler
    if tls_pki is not None:
        from pyftpdlib.handlers import TLS_FTPHandler

        base = TLS_FTPHandler

    class Handler(base):  # type: ignore[misc]
        def ftp_RNTO(self, path: str) -> Any:
            if os.path.basename(path) in refuse | refuse_rename:
                self.respond("553 File name not allowed.")
                return None
            result = super().ftp_RNTO(path)
            renames.append(path)
            return result

        proto_cmds: ClassVar[dict[str, Any]] = {
            **base.proto_cmds,
            "HASH": {"perm": "r", "auth": True, "arg": True, "help": "Syntax: HASH <SP> file"},
        }

        def ftp_FEAT(self, line: str) -> Any:
            if not hash_command:
                return super().ftp_FEAT(line)
            self.push("211-Features supported:\r\n HASH SHA-256*\r\n REST STREAM\r\n SIZE\r\n")
            self.respond("211 End FEAT.")
            return None

        def ftp_OPTS(self, line: str) -> Any:
            if hash_command and line.upper() == "HASH SHA-256":
                self.respond("200 SHA-256")
                return None
            return super().ftp_OPTS(line)

        def ftp_HASH(self, path: str) -> Any:
            if not hash_command:
                self.respond("500 Command not understood.")
                return None
            try:
                data = Path(path).read_bytes()
            except OSError:
                self.respond("550 No such file.")
                return None
            name = os.path.basename(path)
            self.respond(f"213 SHA-256 0-{len(data)} {hashlib.sha256(data).hexdigest()} {name}")
            return None

        def ftp_RETR(self, file: str) -> Any:
            downloads.append(os.path.basename(file))
            return super().ftp_RETR(file)

        def ftp_STOR(self, file: str, mode: str = "w") -> Any:
            if hang_up_on_store:
                self.close()
                return None
            base = os.path.basename(file)
            if any(base == name or base.startswith(f".{name}.") for name in refuse):
                self.respond("553 File name not allowed.")
                return None
            if self._restart_position:
                rest_offsets.append(self._restart_position)
            return super().ftp_STOR(file, mode)

        def on_file_received(self, file: str) -> None:
            stored.append(file)

        def on_connect(self) -> None:
            sessions[0] += 1

        def on_disconnect(self) -> None:
            sessions[0] -= 1

    Handler.authorizer = authorizer
    Handler.passive_ports = None
    if tls_pki is not None:
        Handler.certfile = str(tls_pki.server_chain_file)
        Handler.keyfile = str(tls_pki.server_key_file)
        Handler.tls_control_required = True
        Handler.tls_data_required = True
    server = FTPServer((LOCALHOST, port), Handler)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2},
                              daemon=True)
    thread.start()
    try:
        yield FtpPeer(port=port, root=root, renames=renames, stored=stored, sessions=sessions,
                      rest_offsets=rest_offsets, downloads=downloads)
    finally:
        server.close_all()
        thread.join(timeout=5)


# --- SFTP (asyncssh in a thread with its own loop) -----------------------------------------


@dataclass
class SftpPeer:
    port: int
    root: Path
    host_key_line: str
    renames: list[str]
    logins: list[str]
    sessions: list[int]  # [open SSH connections]
    user: str = "meter"
    password: str = "s3cret"
    client_key_file: Path | None = None
    host_key: Any = None
    writes_at: dict[str, list[int]] = field(default_factory=dict)  # file name -> offsets

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until every client connection is closed and its requests handled."""
        _wait_until(lambda: self.sessions[0] == 0, timeout)


@contextlib.contextmanager
def sftp_server(
    root: Path, *, client_key_dir: Path | None = None,
    refuse: frozenset[str] | set[str] = frozenset(), port: int = 0, host_key: Any = None,
) -> Iterator[SftpPeer]:
    """An asyncssh SFTP server on 127.0.0.1 (``port`` 0: any free port; ``host_key``: keep
    one across restarts). Opening a file for a name in ``refuse`` is denied."""
    import asyncssh

    root.mkdir(parents=True, exist_ok=True)
    renames: list[str] = []
    logins: list[str] = []
    sessions = [0]
    host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
    writes_at: dict[str, list[int]] = {}
    client_key = None
    client_key_file = None
    if client_key_dir is not None:
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key_dir.mkdir(parents=True, exist_ok=True)
        client_key_file = client_key_dir / "id_ed25519"
        client_key.write_private_key(str(client_key_file))

    class Server(asyncssh.SSHServer):
        def connection_made(self, conn: Any) -> None:
            sessions[0] += 1

        def connection_lost(self, exc: Exception | None) -> None:
            sessions[0] -= 1

        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            logins.append(username)
            return username == "meter" and password == "s3cret"

        def public_key_auth_supported(self) -> bool:
            return client_key is not None

        def validate_public_key(self, username: str, key: Any) -> bool:
            return (
                client_key is not None
                and username == "meter"
                and key.public_data == client_key.public_data
            )

    class Files(asyncssh.SFTPServer):
        def __init__(self, chan: Any) -> None:
            super().__init__(chan, chroot=os.fsencode(root))

        def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
            base = os.path.basename(os.fsdecode(path))
            if any(base == name or base.startswith(f".{name}.") for name in refuse):
                raise asyncssh.SFTPPermissionDenied("permission denied by the test server")
            return super().open(path, pflags, attrs)

        def write(self, file_obj: Any, offset: int, data: bytes) -> Any:
            name = os.path.basename(getattr(file_obj, "name", b"") or b"")
            writes_at.setdefault(os.fsdecode(name), []).append(offset)
            return super().write(file_obj, offset, data)

        def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
            base = os.path.basename(os.fsdecode(newpath))
            if base in refuse:
                raise asyncssh.SFTPPermissionDenied("permission denied by the test server")
            result = super().posix_rename(oldpath, newpath)
            renames.append(os.fsdecode(newpath))
            return result

        def rename(self, oldpath: bytes, newpath: bytes) -> Any:
            result = super().rename(oldpath, newpath)
            renames.append(os.fsdecode(newpath))
            return result

    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def start() -> None:
            holder["server"] = await asyncssh.create_server(
                Server, LOCALHOST, port, server_host_keys=[host_key], sftp_factory=Files,
                allow_scp=False,
            )
            started.set()

        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("asyncssh server did not start")
    server = holder["server"]
    port = server.sockets[0].getsockname()[1]
    line = host_key.export_public_key().decode().strip()
    try:
        yield SftpPeer(port=port, root=root, host_key_line=line, renames=renames,
                       logins=logins, sessions=sessions, client_key_file=client_key_file,
                       host_key=host_key, writes_at=writes_at)
    finally:

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


# --- MQTT (mosquitto) -----------------------------------------------------------------------

MOSQUITTO = "/usr/sbin/mosquitto"


def mosquitto_binary() -> str | None:
    if os.access(MOSQUITTO, os.X_OK):
        return MOSQUITTO
    return shutil.which("mosquitto")


class Mosquitto:
    """A mosquitto broker on 127.0.0.1 with a generated configuration; restartable."""

    def __init__(self, directory: Path, *, users: dict[str, str] | None = None,
                 pki: Pki | None = None) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        lines = [
            # Started as root, mosquitto would switch to user 'mosquitto', which cannot read
            # the private temporary directory; as any other user this line has no effect.
            f"user {getpass.getuser()}",
            f"listener {self.port} {LOCALHOST}",
            "persistence false",
            f"log_dest file {directory / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if users:
            password_file = directory / "passwords"
            password_file.write_text("")
            passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
            for user, secret in users.items():
                subprocess.run([passwd, "-b", str(password_file), user, secret], check=True,
                               capture_output=True)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if pki is not None:
            lines += [
                f"cafile {pki.ca_file}",
                f"certfile {pki.server_cert_file}",
                f"keyfile {pki.server_key_file}",
            ]
        self.config = directory / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port)
        except OSError:
            self.stop()
            log = self.directory / "mosquitto.log"
            raise RuntimeError(
                "mosquitto did not start: " + (log.read_text() if log.exists() else "")
            ) from None

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Subscriber:
    """A paho subscriber that collects what arrives on some topics."""

    def __init__(self, port: int, topics: list[str], *, username: str | None = None,
                 password: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[str, bytes, bool]] = []
        self.cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls is not None:
            self.client.tls_set_context(tls)
        subscribed = threading.Event()

        def on_connect(client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            client.subscribe([(t, 1) for t in topics])

        def on_subscribe(client: Any, userdata: Any, mid: Any, rcs: Any, props: Any) -> None:
            subscribed.set()

        def on_message(client: Any, userdata: Any, msg: Any) -> None:
            with self.cond:
                self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
                self.cond.notify_all()

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect(LOCALHOST, port)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("subscriber did not subscribe")

    def wait_for(self, count: int, timeout: float = 15.0) -> list[tuple[str, bytes, bool]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(remaining)
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# --- an S/MIME signature check independent of the code under test --------------------------


def _der(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at ``pos``."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, value start, value end) of each element in a constructed value."""
    out = []
    pos = start
    while pos < end:
        tag, value_start, value_end = _der(data, pos)
        out.append((tag, pos, value_start, value_end))
        pos = value_end
    return out


_MESSAGE_DIGEST_OID = bytes.fromhex("06092a864886f70d010904")


def verify_detached_signature(raw: bytes, ca: x509.Certificate) -> bytes:
    """Check a ``multipart/signed`` message by RFC 8551/5652 rules and return the signed
    entity: the messageDigest attribute must equal SHA-256 of the first part's exact bytes,
    the signer's RSA signature must cover the DER of the signed attributes, and the signer's
    certificate must be issued by ``ca``. Raises AssertionError (or InvalidSignature)."""
    import base64
    import email
    import email.policy
    import hashlib
    import re

    from cryptography.hazmat.primitives.asymmetric import padding

    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.get_content_type() == "multipart/signed"
    boundary = message.get_param("boundary")
    assert isinstance(boundary, str)
    delimiter = b"\r\n--" + boundary.encode()
    first = raw.index(b"--" + boundary.encode() + b"\r\n")
    content_start = first + len(boundary) + 4
    content_end = raw.index(delimiter, content_start)
    content = raw[content_start:content_end]
    signature_part = raw[content_end + len(delimiter) :]
    body = signature_part.split(b"\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0]
    der = base64.b64decode(re.sub(rb"\s+", b"", body))

    _, start, end = _der(der, 0)  # ContentInfo
    explicit_start = _children(der, start, end)[1][2]
    _, signed_start, signed_end = _der(der, explicit_start)  # SignedData
    fields = _children(der, signed_start, signed_end)
    certificates = [f for f in fields if f[0] == 0xA0]
    assert certificates, "the signer's certificate is not included"
    cert_elements = _children(der, certificates[0][2], certificates[0][3])
    signer_cert = x509.load_der_x509_certificate(der[cert_elements[0][1] : cert_elements[0][3]])
    signer_cert.verify_directly_issued_by(ca)
    signer_infos = fields[-1]
    assert signer_infos[0] == 0x31
    info = _children(der, signer_infos[2], signer_infos[3])[0]
    parts = _children(der, info[2], info[3])
    attributes = next(p for p in parts if p[0] == 0xA0)
    signature = next(p for p in parts if p[0] == 0x04)
    digest = None
    for attribute in _children(der, attributes[2], attributes[3]):
        oid, values = _children(der, attribute[2], attribute[3])
        if der[oid[1] : oid[3]] == _MESSAGE_DIGEST_OID:
            value = _children(der, values[2], values[3])[0]
            digest = der[value[2] : value[3]]
    assert digest == hashlib.sha256(content).digest(), "messageDigest does not match content"
    signed_attributes = b"\x31" + der[attributes[1] + 1 : attributes[3]]
    public_key = signer_cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(
        der[signature[2] : signature[3]], signed_attributes, padding.PKCS1v15(), hashes.SHA256()
    )
    return content


# --- observed, restartable servers for the kill test ----------------------------------------


@dataclass
class Observer:
    """What an observed server saw, kept across restarts, and a trap that SIGKILLs the client.

    ``finals`` holds ``(name, sha256)`` each time a final (not ``.part``) name received
    content: every rename onto it, and any direct write (which must never happen).
    ``trap`` is ``(event, countdown)``: the ``countdown``-th next ``event`` (``"stor"``,
    ``"rename"``, ``"between"``) SIGKILLs ``victim`` at that very moment (for ``"rename"``:
    after the rename, before the client hears of it).
    """

    finals: list[tuple[str, str]] = field(default_factory=list)
    direct_writes: list[str] = field(default_factory=list)
    stores: int = 0
    trap: tuple[str, int] | None = None
    victim: int | None = None
    sprung: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note_final(self, path: Path) -> None:
        import hashlib

        with self.lock:
            self.finals.append((path.name, hashlib.sha256(path.read_bytes()).hexdigest()))

    def event(self, kind: str) -> None:
        import signal

        with self.lock:
            if kind == "stor":
                self.stores += 1
            if self.trap is None or self.trap[0] != kind or self.victim is None:
                return
            remaining = self.trap[1] - 1
            if remaining > 0:
                self.trap = (kind, remaining)
                return
            self.trap = None
            victim, self.victim = self.victim, None
            self.sprung.append(kind)
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


def _is_temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(".part")


class ObservedFtpServer:
    """pyftpdlib on a fixed port and root, restartable, reporting to an :class:`Observer`."""

    def __init__(self, root: Path, observer: Observer) -> None:
        self.root = root
        self.observer = observer
        self.port = 0
        self.sessions = [0]
        self._server: Any = None
        self._thread: threading.Thread | None = None
        root.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer

        observer, sessions = self.observer, self.sessions
        authorizer = DummyAuthorizer()
        authorizer.add_user("meter", "s3cret", str(self.root), perm="elradfmwMT")

        class Handler(FTPHandler):  # type: ignore[misc]
            renamed = 0

            def ftp_STOR(self, file: str, mode: str = "w") -> Any:
                if not _is_temporary(os.path.basename(file)):
                    observer.direct_writes.append(file)
                observer.event("stor")
                return super().ftp_STOR(file, mode)

            def ftp_SIZE(self, path: str) -> Any:
                if self.renamed and _is_temporary(os.path.basename(path)):
                    observer.event("between")  # a file done, the next one about to start
                return super().ftp_SIZE(path)

            def ftp_RNTO(self, path: str) -> Any:
                rename_from: str | None = getattr(self, "_rnfr", None)
                if rename_from is None or not os.path.exists(rename_from):
                    return super().ftp_RNTO(path)
                # rename as the server would, then record and maybe kill before replying
                self._rnfr = None
                os.replace(rename_from, path)
                observer.note_final(Path(path))
                self.renamed += 1
                observer.event("rename")
                self.respond("250 Renaming ok.")
                return path

            def on_connect(self) -> None:
                sessions[0] += 1

            def on_disconnect(self) -> None:
                sessions[0] -= 1

        Handler.authorizer = authorizer
        Handler.passive_ports = None
        self._server = FTPServer((LOCALHOST, self.port), Handler)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"timeout": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.close_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
        self.sessions[0] = 0

    def wait_idle(self, timeout: float = 60.0) -> None:
        _wait_until(lambda: self.sessions[0] <= 0, timeout)


class ObservedSftpServer:
    """asyncssh SFTP on a fixed port, root and host key, restartable, reporting to an
    :class:`Observer`."""

    def __init__(self, root: Path, observer: Observer) -> None:
        import asyncssh

        self.root = root
        self.observer = observer
        self.port = 0
        self.sessions = [0]
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key_line = self.host_key.export_public_key().decode().strip()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._connections: set[Any] = set()
        root.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        import asyncssh

        observer, sessions, root = self.observer, self.sessions, self.root
        connections = self._connections

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: Any) -> None:
                sessions[0] += 1
                connections.add(conn)
                self.conn = conn

            def connection_lost(self, exc: Exception | None) -> None:
                sessions[0] -= 1
                connections.discard(self.conn)

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                return username == "meter" and password == "s3cret"

        class Files(asyncssh.SFTPServer):
            def __init__(self, chan: Any) -> None:
                super().__init__(chan, chroot=os.fsencode(root))
                self.renamed = 0

            def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
                name = os.path.basename(os.fsdecode(path))
                writing = pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND)
                if writing and not _is_temporary(name):
                    observer.direct_writes.append(name)
                if writing:
                    if self.renamed:
                        observer.event("between")
                    observer.event("stor")
                return super().open(path, pflags, attrs)

            def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
                result = super().posix_rename(oldpath, newpath)
                observer.note_final(Path(os.fsdecode(self.map_path(newpath))))
                self.renamed += 1
                observer.event("rename")
                return result

            def rename(self, oldpath: bytes, newpath: bytes) -> Any:
                result = super().rename(oldpath, newpath)
                observer.note_final(Path(os.fsdecode(self.map_path(newpath))))
                self.renamed += 1
                observer.event("rename")
                return result

        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)

            async def serve() -> None:
                self._server = await asyncssh.create_server(
                    Server, LOCALHOST, self.port, server_host_keys=[self.host_key],
                    sftp_factory=Files, allow_scp=False,
                )
                started.set()

            loop.run_until_complete(serve())
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("asyncssh server did not start")
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None:
            return

        async def close() -> None:
            server.close()
            for connection in list(self._connections):
                connection.close()
            await server.wait_closed()
            await asyncio.sleep(0.1)  # let the closed connections finish

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._server = None
        self.sessions[0] = 0

    def wait_idle(self, timeout: float = 60.0) -> None:
        _wait_until(lambda: self.sessions[0] <= 0, timeout)
