"""Command-line subcommands for delivery: ``send`` (SMTP), ``upload`` (FTP/FTPS/SFTP), ``mqtt``,
``spool`` (look into and repair a spool).

``send`` and ``upload`` put the named files into a spool directory first (``--spool DIR``;
default one directory per destination under the user's cache directory), before any
network activity, and then deliver everything queued there for that destination, including
files left by earlier failed runs; with ``--retry`` and no file they only deliver what is
queued. Exit status 0 only when every file was delivered; otherwise 1 with one line that
says why: files that failed stay queued for the next run, files the server refused for good
are in ``failed/``. A file whose bytes were already delivered under its name (the newest
version, within the spool's duplicate window) is reported and not sent again.

``spool list`` prints, as one JSON object per spool directory, the queue, ``failed/`` with
reasons and the recent deliveries (a caller that was killed finds there what was accepted);
``spool requeue ID`` puts a failed file back into the queue.

``mqtt`` publishes readings (telegram documents or readings as JSON lines on stdin) and exits
0 when the broker acknowledged every message, 1 when it did not within ``--timeout``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import ssl
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ._cli_input import add_reading_options, stdin_readings
from ._errors import ExportError
from ._spool import Spool, Transport

__all__ = ["default_spool_directory", "default_spool_root", "parse_host_port", "register"]

log = logging.getLogger(__name__)

PROG = "exporters"


def default_spool_root() -> Path:
    """``$XDG_CACHE_HOME/meterkit/spool`` (``~/.cache`` without it): where the default spool
    directories of ``send`` and ``upload`` are."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "meterkit" / "spool"


def default_spool_directory(destination: str) -> Path:
    """``$XDG_CACHE_HOME/meterkit/spool/<destination slug>`` (``~/.cache`` without it)."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", destination).strip("_")[:60]
    digest = hashlib.sha256(destination.encode()).hexdigest()[:8]
    return default_spool_root() / f"{slug}-{digest}"


def parse_host_port(text: str, default_port: int | None = None) -> tuple[str, int]:
    """``HOST:PORT`` (or ``[v6]:PORT``, or ``HOST`` with a default port) as a pair.

    >>> parse_host_port("127.0.0.1:1883")
    ('127.0.0.1', 1883)
    >>> parse_host_port("[::1]:25")
    ('::1', 25)

    Raises:
        argparse.ArgumentTypeError: not of that form.
    """
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?|([^:\[\]\s]+)(?::(\d+))?", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    host = match.group(1) or match.group(3)
    port_text = match.group(2) or match.group(4)
    if port_text is None:
        if default_port is None:
            raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
        return host, default_port
    port = int(port_text)
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port out of range in {text!r}")
    return host, port


def _secret(variable: str | None, what: str) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise ExportError(f"environment variable {variable} (the {what}) is not set")
    return value


def _ssl_context(cafile: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ExportError(f"cannot load CA file {cafile}: {exc}", field="cafile") from None


def _quiet_library_logs() -> None:
    # Without -v the user gets one summary line, not the library's warnings via lastResort.
    if not logging.getLogger().handlers:
        package = logging.getLogger(__name__.rpartition(".")[0])
        if not package.handlers:
            package.addHandler(logging.NullHandler())


def _add_spool_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spool",
        metavar="DIR",
        help="spool directory (default: one per destination under ~/.cache/meterkit/spool)",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS",
        help="network timeout per operation (default 30)",
    )
    parser.add_argument(
        "--cafile", metavar="PEM",
        help="trust these CA certificates for TLS instead of the system's",
    )


def _add_file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE")
    parser.add_argument(
        "--retry", action="store_true",
        help="deliver what is queued for this destination (no FILE needed)",
    )


def _deliver_files(
    args: argparse.Namespace, transport: Transport, destination: str, command: str
) -> int:
    _quiet_library_logs()
    if not args.files and not args.retry:
        raise ExportError("name the files to deliver, or --retry to deliver what is queued",
                          field="files")
    directory = Path(args.spool) if args.spool else default_spool_directory(destination)
    for path in args.files:
        if not Path(path).is_file():
            raise ExportError(f"no such file: {path}", field="files")
    spool = Spool(directory)
    for path in args.files:
        entry = spool.put_file(path)
        if entry.status == "already-delivered":
            print(
                f"{PROG} {command}: {entry.name}: these bytes were already delivered to "
                f"{destination}; not sent again",
                file=sys.stderr,
            )
    report = spool.deliver(transport, force=True)
    for entry in report.delivered:
        log.info("delivered %s", entry.name)
    left = len(spool.entries())
    problems = []
    if report.busy:
        problems.append(f"another process is delivering from {directory}")
    if report.failed:
        problems.append(report.failed[0][1])
    if report.refused:
        names = ", ".join(f"{e.name} ({reason})" for e, reason in report.refused)
        problems.append(
            f"refused for good and moved to {directory / 'failed'}: {names}"
        )
    if report.expired:
        problems.append(
            f"{len(report.expired)} file(s) queued longer than the age limit were moved to "
            f"{directory / 'expired'} without delivery"
        )
    if left and not problems:
        problems.append("some files are not delivered yet")
    if problems:
        delivered = f"delivered {len(report.delivered)} file(s); " if report.delivered else ""
        stay = f"; {left} file(s) stay queued in {directory}" if left else ""
        print(f"{PROG} {command}: error: {delivered}{'; '.join(problems)}{stay}",
              file=sys.stderr)
        return 1
    count = len(report.delivered)
    print(f"{PROG} {command}: delivered {count} file(s) to {destination}", file=sys.stderr)
    return 0


# --- send -----------------------------------------------------------------------------------


def _run_send(args: argparse.Namespace) -> int:
    from ._smime import SmimeOptions
    from ._smtp import SmtpTransport

    host, port = args.smtp
    recipients = [a.strip() for item in args.to for a in item.split(",") if a.strip()]
    if not recipients:
        raise ExportError("at least one --to address is needed", field="to")
    smime = None
    if args.smime_sign or args.smime_encrypt:
        sign = None
        if args.smime_sign:
            cert, sep, key = args.smime_sign.partition(",")
            if not sep or not cert or not key:
                raise ExportError("--smime-sign takes CERT,KEY (two files, comma-separated)",
                                  field="smime-sign")
            sign = (cert, key)
        key_password = _secret(args.smime_key_password_env, "S/MIME key password")
        smime = SmimeOptions.from_files(
            sign=sign,
            key_password=key_password.encode() if key_password is not None else None,
            encrypt_to=args.smime_encrypt or (),
        )
    password = _secret(args.password_env, "SMTP password")
    if password is not None and args.user is None:
        raise ExportError("--password-env needs --user", field="user")
    transport = SmtpTransport(
        host,
        port,
        sender=args.sender,
        recipients=recipients,
        security=args.security,
        username=args.user,
        password=password,
        ssl_context=_ssl_context(args.cafile) if args.security != "none" else None,
        subject=args.subject,
        smime=smime,
        timeout=args.timeout,
    )
    destination = f"smtp://{host}:{port}/{','.join(sorted(recipients))}"
    return _deliver_files(args, transport, destination, "send")


def _add_send(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "send",
        help="e-mail files as attachments (SMTP, optional S/MIME) through the spool",
        description="E-mail each file as an attachment, one message per file, through the "
        "spool: exit 0 only when the server accepted every file; otherwise the files stay "
        "queued and the next run sends them.",
    )
    _add_file_arguments(parser)
    parser.add_argument("--smtp", required=True, type=lambda t: parse_host_port(t, 587),
                        metavar="HOST:PORT", help="SMTP server (port default 587)")
    parser.add_argument("--from", dest="sender", required=True, metavar="ADDRESS")
    parser.add_argument("--to", action="append", required=True, metavar="ADDRESS",
                        help="recipient (repeat, or separate with commas)")
    security = parser.add_mutually_exclusive_group()
    security.add_argument("--starttls", dest="security", action="store_const",
                          const="starttls", help="upgrade with STARTTLS (the default; "
                          "refuses to send if the server does not offer it)")
    security.add_argument("--tls", dest="security", action="store_const", const="tls",
                          help="implicit TLS from the first byte (usually port 465)")
    security.add_argument("--no-tls", dest="security", action="store_const", const="none",
                          help="no encryption at all (trusted local relays only)")
    parser.set_defaults(security="starttls")
    parser.add_argument("--user", metavar="NAME", help="log in (AUTH) as NAME")
    parser.add_argument("--password-env", metavar="VAR",
                        help="read the login password from environment variable VAR")
    parser.add_argument("--subject", default="meterkit export {name}", metavar="TEMPLATE",
                        help="subject, {name} is the file name (default: %(default)s)")
    parser.add_argument("--smime-sign", metavar="CERT,KEY",
                        help="sign with this certificate and private key (PEM or DER files)")
    parser.add_argument("--smime-key-password-env", metavar="VAR",
                        help="passphrase of the signing key from environment variable VAR")
    parser.add_argument("--smime-encrypt", action="append", metavar="CERT",
                        help="encrypt to this recipient certificate (repeatable)")
    _add_spool_options(parser)
    parser.set_defaults(func=_run_send)


# --- upload ---------------------------------------------------------------------------------


def _read_host_key(text: str) -> str:
    path = Path(text)
    if not text.startswith("SHA256:") and path.is_file():
        try:
            return path.read_text(encoding="ascii", errors="replace").strip().splitlines()[0]
        except (OSError, IndexError):
            raise ExportError(f"cannot read a host key from {text}", field="host-key") from None
    return text


def _run_upload(args: argparse.Namespace) -> int:
    url = urlsplit(args.url)
    scheme = url.scheme.lower()
    if scheme not in ("ftp", "ftps", "sftp"):
        raise ExportError(
            f"unsupported URL scheme {url.scheme!r}; use ftp://, ftps:// or sftp://", field="url"
        )
    if not url.hostname:
        raise ExportError(f"no host in {args.url!r}", field="url")
    try:
        port = url.port
    except ValueError:
        raise ExportError(f"bad port in {args.url!r}", field="url") from None
    user = unquote(url.username) if url.username else None
    password = unquote(url.password) if url.password else None
    from_env = _secret(args.password_env, "password")
    if from_env is not None:
        password = from_env
    directory = unquote(url.path).lstrip("/")
    transport: Transport
    if scheme == "sftp":
        from ._sftp import SftpTransport

        if args.host_key is None:
            raise ExportError(
                "sftp:// needs --host-key (the server's public key line, a file holding it, "
                "or its SHA256:... fingerprint from ssh-keygen -lf)",
                field="host-key",
            )
        if user is None:
            raise ExportError("sftp:// needs a user name: sftp://USER@HOST/DIR", field="url")
        transport = SftpTransport(
            url.hostname,
            port or 22,
            username=user,
            host_key=_read_host_key(args.host_key),
            password=password,
            private_key=args.identity,
            key_password=_secret(args.identity_password_env, "key passphrase"),
            directory=directory,
            timeout=args.timeout,
        )
        port = port or 22
    else:
        from ._ftp import FtpTransport

        port = port or 21
        transport = FtpTransport(
            url.hostname,
            port,
            user=user or "anonymous",
            password=password or "",
            directory=directory,
            tls=scheme == "ftps",
            ssl_context=_ssl_context(args.cafile) if scheme == "ftps" else None,
            timeout=args.timeout,
        )
    destination = f"{scheme}://{user + '@' if user else ''}{url.hostname}:{port}/{directory}"
    return _deliver_files(args, transport, destination, "upload")


def _add_upload(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "upload",
        help="upload files by FTP, FTPS or SFTP through the spool",
        description="Upload files to ftp://[USER@]HOST[:PORT]/DIR, ftps://... (explicit TLS) "
        "or sftp://USER@HOST[:PORT]/DIR through the spool. Each file goes to a hidden "
        "temporary name and is renamed when complete. Exit 0 only when every file was "
        "delivered; otherwise they stay queued for the next run.",
    )
    parser.add_argument("url", metavar="URL")
    _add_file_arguments(parser)
    parser.add_argument("--password-env", metavar="VAR",
                        help="read the password from environment variable VAR "
                        "(better than a password in the URL)")
    parser.add_argument("--host-key", metavar="KEY",
                        help="sftp: the pinned server key: 'ssh-ed25519 AAAA...', a file "
                        "holding that line, or SHA256:<fingerprint>")
    parser.add_argument("--identity", metavar="FILE",
                        help="sftp: private key file for public-key login")
    parser.add_argument("--identity-password-env", metavar="VAR",
                        help="sftp: passphrase of --identity from environment variable VAR")
    _add_spool_options(parser)
    parser.set_defaults(func=_run_upload)


# --- mqtt -----------------------------------------------------------------------------------


def _run_mqtt(args: argparse.Namespace) -> int:
    from ._mqtt import MqttPublisher

    _quiet_library_logs()
    host, port = args.broker
    password = _secret(args.password_env, "MQTT password")
    tls = _ssl_context(args.cafile) if args.tls or args.certfile else None
    if tls is not None and args.certfile:
        try:
            tls.load_cert_chain(args.certfile, args.keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise ExportError(
                f"cannot load client certificate {args.certfile}: {exc}", field="certfile"
            ) from None
    publisher = MqttPublisher(
        host,
        port,
        client_id=args.client_id or "",
        username=args.user,
        password=password,
        tls=tls,
        topic=_mqtt_topic(args),
        per=args.per,
        qos=args.qos,
        retain=args.retain,
        ha_discovery=args.ha_discovery,
        discovery_prefix=args.discovery_prefix,
        fleet_gateway=args.fleet,
    )
    readings = stdin_readings(args, "mqtt")
    total = 0
    batch = []
    with publisher:
        for reading in readings:
            batch.append(reading)
            if len(batch) >= 500:
                total += publisher.publish_readings(batch)
                batch = []
                if publisher.pending > 20_000 and not publisher.wait_until_acknowledged(
                    args.timeout
                ):
                    break
        if batch:
            total += publisher.publish_readings(batch)
        acknowledged = publisher.wait_until_acknowledged(args.timeout)
        pending = publisher.pending
        error = publisher.last_error
    if not acknowledged:
        why = f" ({error})" if error else ""
        print(
            f"{PROG} mqtt: error: broker {host}:{port} did not acknowledge {pending} of "
            f"{total} message(s) within {args.timeout:g} s{why}",
            file=sys.stderr,
        )
        return 1
    print(f"{PROG} mqtt: {total} message(s) acknowledged by {host}:{port}", file=sys.stderr)
    return 0


def _mqtt_topic(args: argparse.Namespace) -> str | None:
    """The topic template: given, else the default; none for --fleet alone."""
    if args.topic:
        return str(args.topic)
    if args.fleet:
        return None
    return "meters/{id}" if args.per == "meter" else "meters/{id}/{quantity}"


def _add_mqtt(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "mqtt",
        help="publish JSON documents/readings from stdin to an MQTT broker",
        description="Publish telegram documents or readings (JSON lines on stdin) to an MQTT "
        "broker, QoS 1 and retained by default; exit when the broker acknowledged all.",
    )
    parser.add_argument("--broker", required=True, type=lambda t: parse_host_port(t, 1883),
                        metavar="HOST:PORT", help="broker (port default 1883)")
    parser.add_argument("--topic", metavar="TEMPLATE",
                        help="topic template; {id} {name} {quantity} {unit} {storage} "
                        "{tariff} {subunit} {function} (default: meters/{id}/{quantity}, "
                        "with --per meter: meters/{id})")
    parser.add_argument("--per", choices=("reading", "meter"), default="reading",
                        help="one message per reading (default) or per meter")
    parser.add_argument("--fleet", metavar="GATEWAY",
                        help="publish in the fleet format v1 as gateway GATEWAY "
                        "(meterkit/v1/GATEWAY/readings, for 'meterkit collect'); with "
                        "--topic the topic template's messages are published too")
    parser.add_argument("--ha-discovery", action="store_true",
                        help="also publish Home Assistant discovery configs")
    parser.add_argument("--discovery-prefix", default="homeassistant", metavar="PREFIX")
    parser.add_argument("--qos", type=int, choices=(0, 1, 2), default=1)
    parser.add_argument("--no-retain", dest="retain", action="store_false",
                        help="do not ask the broker to retain the last values")
    parser.add_argument("--client-id", metavar="ID")
    parser.add_argument("--user", metavar="NAME")
    parser.add_argument("--password-env", metavar="VAR",
                        help="read the password from environment variable VAR")
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument("--cafile", metavar="PEM", help="CA certificates for --tls")
    parser.add_argument("--certfile", metavar="PEM",
                        help="client certificate for TLS login (implies --tls)")
    parser.add_argument("--keyfile", metavar="PEM",
                        help="private key of --certfile, if not in the same file")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="how long to wait for acknowledgements (default 30)")
    add_reading_options(parser)
    parser.set_defaults(func=_run_mqtt)


# --- spool ----------------------------------------------------------------------------------


def _spool_directories(args: argparse.Namespace) -> list[Path]:
    if args.spool:
        if not Path(args.spool).is_dir():
            raise ExportError(f"no spool directory {args.spool}", field="spool")
        return [Path(args.spool)]
    root = default_spool_root()
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _run_spool_list(args: argparse.Namespace) -> int:
    _quiet_library_logs()
    for directory in _spool_directories(args):
        listing = Spool(directory).listing(recent=args.recent)
        print(json.dumps(listing, ensure_ascii=False))
    return 0


def _run_spool_requeue(args: argparse.Namespace) -> int:
    _quiet_library_logs()
    for directory in _spool_directories(args):
        spool = Spool(directory)
        if any(f.entry.entry_id == args.entry_id for f in spool.failed_entries()):
            entry = spool.requeue(args.entry_id)
            print(json.dumps(entry.to_dict(), ensure_ascii=False))
            print(f"{PROG} spool: requeued {entry.name} in {directory}; the next "
                  "upload or send delivers it", file=sys.stderr)
            return 0
    raise ExportError(f"no failed entry {args.entry_id!r} (see: {PROG} spool list)",
                      field="entry_id")


def _add_spool(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "spool",
        help="show what a spool holds, re-queue files the server refused",
        description="Look into the spool directories of send and upload.",
    )
    commands = parser.add_subparsers(dest="spool_command", required=True, metavar="COMMAND")
    listing = commands.add_parser(
        "list",
        help="queue, failed/ and recent deliveries as JSON (one object per spool)",
        description="Print one JSON object per spool directory: the queued files with their "
        "retry state, failed/ with reasons, expired/, the recent deliveries (name, SHA-256, "
        "time, destination) and outbox files the spool did not make.",
    )
    listing.add_argument("--spool", metavar="DIR",
                         help="this spool only (default: every spool under "
                         "~/.cache/meterkit/spool)")
    listing.add_argument("--recent", type=int, default=20, metavar="N",
                         help="how many recent deliveries to show (default 20)")
    listing.set_defaults(func=_run_spool_list)
    requeue = commands.add_parser(
        "requeue",
        help="put a file from failed/ back into the queue",
        description="Put a file the server refused (in failed/) back into the queue as the "
        "newest version of its name; the next send or upload (or --retry) delivers it.",
    )
    requeue.add_argument("entry_id", metavar="ID", help="the entry id, as spool list shows it")
    requeue.add_argument("--spool", metavar="DIR",
                         help="the spool directory (default: search every default spool)")
    requeue.set_defaults(func=_run_spool_requeue)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the delivery subcommands (``send``, ``upload``, ``mqtt``, ``spool``) to the
    command line."""
    _add_send(subparsers)
    _add_upload(subparsers)
    _add_mqtt(subparsers)
    _add_spool(subparsers)

