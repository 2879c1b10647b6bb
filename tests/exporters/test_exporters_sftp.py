"""SFTP upload against a real asyncssh server on 127.0.0.1, with the host key pinned."""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporters import DeliveryError, HostKeyError, HostKeyPin, SftpTransport, Spool

from .delivery_support import SftpPeer, sftp_server

pytest.importorskip("paramiko")

FILES = {"a.csv": b"meter_id,value\r\n1,2\r\n", "b.xml": b"<export/>" * 5000}


def transport_for(peer: SftpPeer, **options: object) -> SftpTransport:
    settings: dict[str, object] = {
        "username": peer.user, "password": peer.password, "host_key": peer.host_key_line,
        "timeout": 10,
    }
    settings.update(options)
    return SftpTransport("127.0.0.1", peer.port, **settings)  # type: ignore[arg-type]


def queue(directory: Path, files: dict[str, bytes] = FILES) -> Spool:
    spool = Spool(directory)
    for name, data in files.items():
        spool.put(name, data)
    return spool


def fingerprint(line: str) -> str:
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def test_upload_with_password_and_pinned_key_line(tmp_path: Path) -> None:
    with sftp_server(tmp_path / "sftp") as peer:
        (peer.root / "in").mkdir()
        spool = queue(tmp_path / "spool")
        report = spool.deliver(transport_for(peer, directory="in"))
    assert report.ok and spool.entries() == []
    assert sorted(p.name for p in (peer.root / "in").iterdir()) == ["a.csv", "b.xml"]
    for name, data in FILES.items():
        assert (peer.root / "in" / name).read_bytes() == data
    assert [r.rsplit("/", 1)[-1] for r in peer.renames] == ["a.csv", "b.xml"]


def test_pin_by_fingerprint_and_login_by_key(tmp_path: Path) -> None:
    with sftp_server(tmp_path / "sftp", client_key_dir=tmp_path / "keys") as peer:
        assert peer.client_key_file is not None
        transport = transport_for(
            peer, password=None, private_key=peer.client_key_file,
            host_key=fingerprint(peer.host_key_line),
        )
        assert queue(tmp_path / "spool").deliver(transport).ok
    assert peer.logins == []  # no password was used
    assert (peer.root / "a.csv").read_bytes() == FILES["a.csv"]


def test_wrong_host_key_is_refused_before_any_password_is_sent(tmp_path: Path) -> None:
    import asyncssh

    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    with sftp_server(tmp_path / "sftp") as peer:
        spool = queue(tmp_path / "spool")
        with pytest.raises(HostKeyError, match="refusing to log in") as info:
            transport_for(peer, host_key=other).deliver(spool.entries()[0])
        assert info.value.permanent
        report = spool.deliver(transport_for(peer, host_key=other))
    assert peer.logins == []
    assert len(report.failed) == 1 and len(spool.entries()) == 2
    assert list(peer.root.iterdir()) == []


def test_a_reupload_replaces_and_already_delivered_compares_the_bytes(tmp_path: Path) -> None:
    with sftp_server(tmp_path / "sftp") as peer:
        spool = queue(tmp_path / "spool")
        a, _ = spool.entries()
        transport = transport_for(peer)
        assert not transport.already_delivered(a)
        transport.deliver(a)
        transport.deliver(a)
        assert transport.already_delivered(a)
        # same size and a fresh modification time, other bytes: not this delivery
        (peer.root / "a.csv").write_bytes(FILES["a.csv"].upper())
        assert not transport.already_delivered(a)
        (peer.root / "a.csv").write_bytes(FILES["a.csv"])
        assert transport.already_delivered(a)
        # too large to read back (and no check-file on this server): sent again instead
        assert not transport_for(peer, verify_limit=4).already_delivered(a)
        transport.close()
    assert [p.name for p in peer.root.iterdir()] == ["a.csv"]
    assert len(peer.renames) == 2


def test_an_interrupted_upload_resumes_at_the_size_of_its_temporary_file(
    tmp_path: Path,
) -> None:
    data = bytes(range(256)) * 400
    with sftp_server(tmp_path / "sftp") as peer:
        spool = queue(tmp_path / "spool", {"big.bin": data})
        (entry,) = spool.entries()
        partial = data[:40_000]
        (peer.root / entry.temporary_name).write_bytes(partial)
        transport = transport_for(peer)
        transport.deliver(entry)
        transport.close()
        assert (peer.root / "big.bin").read_bytes() == data
        assert peer.writes_at[entry.temporary_name][0] == 40_000  # the first write resumed
        assert not (peer.root / entry.temporary_name).exists()


def test_a_refused_file_goes_to_failed_and_the_rest_is_delivered(tmp_path: Path) -> None:
    with sftp_server(tmp_path / "sftp", refuse={"secret.csv"}) as peer:
        spool = Spool(tmp_path / "spool")
        for name in ("a.csv", "secret.csv", "b.csv"):
            spool.put(name, name.encode())
        report = spool.deliver(transport_for(peer))
    assert [e.name for e in report.delivered] == ["a.csv", "b.csv"]
    assert [e.name for e, _ in report.refused] == ["secret.csv"]
    (failed,) = spool.failed_entries()
    assert "denied" in failed.reason.lower() and failed.entry.name == "secret.csv"
    assert sorted(p.name for p in peer.root.iterdir()) == ["a.csv", "b.csv"]


def test_wrong_password_and_missing_directory_are_permanent(tmp_path: Path) -> None:
    with sftp_server(tmp_path / "sftp") as peer:
        entry = queue(tmp_path / "spool").entries()[0]
        with pytest.raises(DeliveryError, match="refused the login") as info:
            transport_for(peer, password="wrong").deliver(entry)
        assert info.value.permanent
        with pytest.raises(DeliveryError, match="does not exist") as info:
            transport_for(peer, directory="nowhere").deliver(entry)
        assert info.value.permanent


def test_host_key_pin_forms() -> None:
    line = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
            " user@host")
    pin = HostKeyPin.parse(line)
    assert pin.key_type == "ssh-ed25519"
    assert pin.fingerprint == fingerprint(line)
    assert HostKeyPin.parse("[host]:2222 " + line) == pin  # a known_hosts line
    by_print = HostKeyPin.parse(pin.fingerprint)
    assert by_print.key_type is None and by_print.fingerprint == pin.fingerprint
    blob = base64.b64decode(line.split()[1])
    assert pin.matches("ssh-ed25519", blob) and by_print.matches("ssh-ed25519", blob)
    assert not pin.matches("ssh-rsa", blob)
    assert not pin.matches("ssh-ed25519", blob[:-1] + b"\x00")
    for bad in ("", "SHA256:short", "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsa"
                "bgH5C9okWi0dh2l9GKJl", "not a key"):
        with pytest.raises(HostKeyError):
            HostKeyPin.parse(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_any_text_gives_a_pin_or_a_host_key_error(text: str) -> None:
    try:
        pin = HostKeyPin.parse(text)
    except HostKeyError:
        return
    assert pin.fingerprint.startswith("SHA256:")


def test_without_paramiko_the_error_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exporters import MissingDependencyError

    monkeypatch.setitem(sys.modules, "paramiko", None)
    entry = queue(tmp_path / "spool").entries()[0]
    transport = SftpTransport("127.0.0.1", 1, username="u", password="p",
                              host_key="SHA256:" + "A" * 43)
    with pytest.raises(MissingDependencyError, match=r"meterkit\[sftp\]"):
        transport.deliver(entry)
