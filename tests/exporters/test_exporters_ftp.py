"""FTP and FTPS upload against a real pyftpdlib server on 127.0.0.1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exporters import DeliveryError, FtpTransport, Spool

from .delivery_support import FtpPeer, Pki, free_port, ftp_server

FILES = {"a.csv": b"meter_id,value\r\n1,2\r\n", "b.xml": b"<export/>" * 1000}


def transport_for(peer: FtpPeer, **options: object) -> FtpTransport:
    settings: dict[str, object] = {"user": peer.user, "password": peer.password, "timeout": 10}
    settings.update(options)
    return FtpTransport("127.0.0.1", peer.port, **settings)  # type: ignore[arg-type]


def queue(directory: Path, files: dict[str, bytes] = FILES) -> Spool:
    spool = Spool(directory)
    for name, data in files.items():
        spool.put(name, data)
    return spool


def test_upload_goes_to_a_temporary_name_then_is_renamed(tmp_path: Path) -> None:
    with ftp_server(tmp_path / "ftp") as peer:
        (peer.root / "in").mkdir()
        spool = queue(tmp_path / "spool")
        entries = spool.entries()
        report = spool.deliver(transport_for(peer, directory="in"))
    assert report.ok and len(report.delivered) == 2
    assert spool.entries() == []
    assert sorted(os.listdir(peer.root / "in")) == ["a.csv", "b.xml"]
    for name, data in FILES.items():
        assert (peer.root / "in" / name).read_bytes() == data
    # the server only ever stored the hidden temporary names, and renamed them when complete
    assert [os.path.basename(p) for p in peer.stored] == [e.temporary_name for e in entries]
    assert all(os.path.basename(p).startswith(".") for p in peer.stored)
    assert [os.path.basename(p) for p in peer.renames] == ["a.csv", "b.xml"]


def test_ftps_with_tls_on_control_and_data(tmp_path: Path, pki: Pki) -> None:
    pytest.importorskip("OpenSSL", reason="pyftpdlib's FTPS server needs pyOpenSSL")
    with ftp_server(tmp_path / "ftp", tls_pki=pki) as peer:
        report = queue(tmp_path / "spool").deliver(
            transport_for(peer, tls=True, ssl_context=pki.client_context())
        )
        assert report.ok
        # the same server refuses a login without TLS: a permanent error, files stay queued
        spool = queue(tmp_path / "plain")
        with pytest.raises(DeliveryError) as info:
            transport_for(peer).deliver(spool.entries()[0])
        assert info.value.permanent
        # and a client that does not trust the certificate refuses the server
        with pytest.raises(DeliveryError, match="certificate") as info:
            transport_for(peer, tls=True).deliver(spool.entries()[0])
        assert info.value.permanent
    for name, data in FILES.items():
        assert (peer.root / name).read_bytes() == data


def test_a_new_upload_of_the_same_name_replaces_the_file(tmp_path: Path) -> None:
    with ftp_server(tmp_path / "ftp") as peer:
        assert queue(tmp_path / "s1", {"day.csv": b"old"}).deliver(transport_for(peer)).ok
        assert queue(tmp_path / "s2", {"day.csv": b"newer"}).deliver(transport_for(peer)).ok
    assert os.listdir(peer.root) == ["day.csv"]
    assert (peer.root / "day.csv").read_bytes() == b"newer"


def test_already_delivered_needs_the_same_bytes_not_the_same_size(tmp_path: Path) -> None:
    with ftp_server(tmp_path / "ftp") as peer:
        spool = queue(tmp_path / "spool")
        a, b = spool.entries()
        transport = transport_for(peer)
        assert not transport.already_delivered(a)
        transport.deliver(a)
        assert transport.already_delivered(a)
        (peer.root / "b.xml").write_bytes(b"truncated")
        assert not transport.already_delivered(b)
        # same size, same (new) modification time, other bytes: not this delivery
        (peer.root / "b.xml").write_bytes(FILES["b.xml"].replace(b"t", b"T"))
        assert not transport.already_delivered(b)
        (peer.root / "b.xml").write_bytes(FILES["b.xml"])
        assert transport.already_delivered(b)
        # a file too large to read back is uploaded again rather than trusted
        assert not transport_for(peer, verify_limit=10).already_delivered(b)
        transport.close()
        assert peer.downloads == ["a.csv", "a.csv", "b.xml", "b.xml", "b.xml"]  # by download


def test_where_the_server_offers_hash_its_sha256_is_the_proof(tmp_path: Path) -> None:
    with ftp_server(tmp_path / "ftp", hash_command=True) as peer:
        spool = queue(tmp_path / "spool")
        a, _ = spool.entries()
        transport = transport_for(peer, verify_limit=0)  # never download
        assert not transport.already_delivered(a)
        transport.deliver(a)
        assert transport.already_delivered(a)
        (peer.root / "a.csv").write_bytes(FILES["a.csv"].upper())
        assert not transport.already_delivered(a)
        transport.close()
        assert peer.downloads == []


def test_a_server_that_hangs_up_gives_a_message_not_an_empty_one(tmp_path: Path) -> None:
    with ftp_server(tmp_path / "ftp", hang_up_on_store=True) as peer:
        spool = queue(tmp_path / "spool")
        report = spool.deliver(transport_for(peer))
    ((_, message),) = report.failed
    assert message.endswith("upload of a.csv failed: connection closed by the server")
    assert len(spool.entries()) == 2


def test_an_interrupted_upload_resumes_at_the_size_of_its_temporary_file(
    tmp_path: Path,
) -> None:
    data = bytes(range(256)) * 400
    with ftp_server(tmp_path / "ftp") as peer:
        spool = queue(tmp_path / "spool", {"big.bin": data})
        (entry,) = spool.entries()
        (peer.root / entry.temporary_name).write_bytes(data[:40_000])
        transport = transport_for(peer)
        transport.deliver(entry)
        transport.close()
        assert (peer.root / "big.bin").read_bytes() == data
        assert peer.rest_offsets == [40_000]
        assert not (peer.root / entry.temporary_name).exists()


@pytest.mark.parametrize("where", ["store", "rename"])
def test_a_refused_file_goes_to_failed_and_the_rest_is_delivered(
    tmp_path: Path, where: str
) -> None:
    events: list[object] = []
    refusal = {"refuse" if where == "store" else "refuse_rename": {"secret.csv"}}
    with ftp_server(tmp_path / "ftp", **refusal) as peer:  # type: ignore[arg-type]
        spool = Spool(tmp_path / "spool", on_event=events.append)
        for name in ("a.csv", "secret.csv", "b.csv"):
            spool.put(name, name.encode())
        report = spool.deliver(transport_for(peer))
        transport_failed = [f.entry.name for f in spool.failed_entries()]
    assert [e.name for e in report.delivered] == ["a.csv", "b.csv"]
    assert [(e.name, "553" in reason) for e, reason in report.refused] == [("secret.csv", True)]
    assert transport_failed == ["secret.csv"]
    (failed,) = spool.failed_entries()
    assert "553" in failed.reason and failed.entry.read_bytes() == b"secret.csv"
    # refused at the rename: its uploaded temporary file was removed (discard)
    assert sorted(os.listdir(peer.root)) == ["a.csv", "b.csv"]
    assert [type(e).__name__ for e in events] == ["EntryDelivered", "EntryRefused",
                                                  "EntryDelivered"]
    assert spool.entries() == []


def test_wrong_password_and_missing_directory_are_permanent(tmp_path: Path) -> None:
    with ftp_server(tmp_path / "ftp") as peer:
        spool = queue(tmp_path / "spool")
        for transport, expected in (
            (transport_for(peer, password="wrong"), "530"),
            (transport_for(peer, directory="nowhere"), "550"),
        ):
            with pytest.raises(DeliveryError, match=expected) as info:
                transport.deliver(spool.entries()[0])
            assert info.value.permanent
        report = spool.deliver(transport_for(peer, password="wrong"))
    assert len(report.failed) == 1 and len(spool.entries()) == 2
    assert os.listdir(peer.root) == []


def test_server_down_is_transient_and_the_files_stay(tmp_path: Path) -> None:
    spool = queue(tmp_path / "spool")
    report = spool.deliver(FtpTransport("127.0.0.1", free_port(), timeout=5))
    assert len(report.failed) == 1
    assert "cannot connect" in report.failed[0][1]
    assert len(spool.entries()) == 2
