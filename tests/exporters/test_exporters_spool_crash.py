"""A process killed at any moment loses no accepted file and delivers none twice
(e-mail: at least once, and a second copy carries the same Message-ID).

A child process writes into, or delivers from, a spool and SIGKILLs itself just before its
N-th file or socket call (``spool_child.py``); the test runs it for points spread over the
whole run, then recovers and checks the outcome. Uploads go to a real FTP and SFTP server
on 127.0.0.1 whose renames are logged: each file must arrive exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from exporters import FtpTransport, SftpTransport, SmtpTransport, Spool

from .delivery_support import Pki, ftp_server, sftp_server, smtp_server

CHILD = Path(__file__).with_name("spool_child.py")
MAX_RUNS = 24  # kill points per test, spread evenly over all I/O calls of a clean run

FILES = {
    "a-20261124.csv": b"meter_id,value\r\n1,2\r\n" * 50,
    "b-20261124.xml": b"<export/>" * 3000,
    "c-20261124.csv": b"",
}


def run_child(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHILD), *map(str, args)],
        capture_output=True, text=True, timeout=300,
    )


def points_of(clean: subprocess.CompletedProcess[str]) -> list[int]:
    assert clean.returncode == 0, clean.stderr
    total = int(clean.stdout.split("POINTS")[-1])
    step = max(1, total // MAX_RUNS)
    return list(range(1, total + 1, step))


def spool_contents(directory: Path) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for path in (directory / "outbox").iterdir():
        name = path.name.partition("--")[2]
        found.setdefault(name, []).append(path.read_bytes())
    return found


def test_killed_while_writing_loses_no_accepted_file(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    for name, data in FILES.items():
        (sources / name).write_bytes(data)
    points = points_of(run_child("write", tmp_path / "clean", 0, sources))
    assert len(points) > 5
    for kill_at in points:
        spool_dir = tmp_path / f"spool{kill_at}"
        result = run_child("write", spool_dir, kill_at, sources)
        assert result.returncode == -signal.SIGKILL, (kill_at, result.stderr)
        accepted = [line.split()[1] for line in result.stdout.splitlines()
                    if line.startswith("ACCEPTED")]
        queued = spool_contents(spool_dir) if (spool_dir / "outbox").exists() else {}
        # every file in the outbox is whole; every accepted file is there, once
        for name, copies in queued.items():
            assert copies == [FILES[name]], (kill_at, name)
        for name in accepted:
            assert name in queued, (kill_at, name)
        # the caller retries everything it was not told was accepted (here: all of it)
        again = run_child("write", spool_dir, 0, sources)
        assert again.returncode == 0, again.stderr
        assert spool_contents(spool_dir) == {n: [d] for n, d in FILES.items()}, kill_at
        assert list((spool_dir / "tmp").iterdir()) == []


def fill_spool(directory: Path) -> None:
    spool = Spool(directory)
    for name, data in FILES.items():
        spool.put(name, data)


def check_delivered_once(remote: Path, renames: list[str], run: str) -> None:
    assert sorted(p.name for p in remote.iterdir()) == sorted(FILES), run
    for name, data in FILES.items():
        assert (remote / name).read_bytes() == data, (run, name)
        arrivals = [r for r in renames if r.endswith(f"{run}/{name}")]
        assert len(arrivals) == 1, (run, name, arrivals)


def test_killed_while_uploading_by_ftp_delivers_each_file_once(tmp_path: Path) -> None:
    with ftp_server(tmp_path / "ftp") as peer:
        (peer.root / "clean").mkdir()
        fill_spool(tmp_path / "clean")
        points = points_of(run_child("ftp", tmp_path / "clean", 0, peer.port, "clean"))
        check_delivered_once(peer.root / "clean", peer.renames, "clean")
        killed = 0
        for kill_at in points:
            run = f"run{kill_at}"
            (peer.root / run).mkdir()
            spool_dir = tmp_path / run
            fill_spool(spool_dir)
            result = run_child("ftp", spool_dir, kill_at, peer.port, run)
            killed += result.returncode == -signal.SIGKILL
            assert result.returncode in (0, -signal.SIGKILL), result.stderr
            peer.wait_idle()  # the dead client's last commands are handled first
            transport = FtpTransport("127.0.0.1", peer.port, user=peer.user,
                                     password=peer.password, directory=run, timeout=30)
            report = Spool(spool_dir).deliver(transport, force=True)
            assert report.ok, (kill_at, report.to_dict())
            assert Spool(spool_dir).entries() == []
            check_delivered_once(peer.root / run, peer.renames, run)
        assert killed >= len(points) - 1


def test_killed_while_uploading_by_sftp_delivers_each_file_once(tmp_path: Path) -> None:
    pytest.importorskip("paramiko")
    with sftp_server(tmp_path / "sftp") as peer:
        (peer.root / "clean").mkdir()
        fill_spool(tmp_path / "clean")
        clean = run_child("sftp", tmp_path / "clean", 0, peer.port, "clean", peer.host_key_line)
        points = points_of(clean)
        check_delivered_once(peer.root / "clean", peer.renames, "clean")
        for kill_at in points:
            run = f"run{kill_at}"
            (peer.root / run).mkdir()
            spool_dir = tmp_path / run
            fill_spool(spool_dir)
            result = run_child("sftp", spool_dir, kill_at, peer.port, run, peer.host_key_line)
            assert result.returncode in (0, -signal.SIGKILL), result.stderr
            peer.wait_idle()  # the dead client's last requests are handled first
            transport = SftpTransport("127.0.0.1", peer.port, username=peer.user,
                                      password=peer.password, directory=run,
                                      host_key=peer.host_key_line, timeout=30)
            report = Spool(spool_dir).deliver(transport, force=True)
            assert report.ok, (kill_at, report.to_dict())
            check_delivered_once(peer.root / run, peer.renames, run)


def test_killed_while_sending_mail_loses_nothing_and_a_copy_keeps_its_message_id(
    tmp_path: Path, pki: Pki
) -> None:
    import email
    import email.policy

    with smtp_server(pki, starttls=False) as (port, sink):
        fill_spool(tmp_path / "clean")
        points = points_of(run_child("smtp", tmp_path / "clean", 0, port))
        runs: dict[str, set[str]] = {}
        for kill_at in points:
            spool_dir = tmp_path / f"run{kill_at}"
            fill_spool(spool_dir)
            runs[str(kill_at)] = {e.entry_id for e in Spool(spool_dir).entries()}
            result = run_child("smtp", spool_dir, kill_at, port)
            assert result.returncode in (0, -signal.SIGKILL), result.stderr
            transport = SmtpTransport("127.0.0.1", port, sender="logger@example.org",
                                      recipients=["portal@example.org"], security="none",
                                      timeout=30)
            assert Spool(spool_dir).deliver(transport, force=True).ok, kill_at
            assert Spool(spool_dir).entries() == []
        received: dict[str, list[tuple[str | None, bytes]]] = {}
        for _, _, raw in sink.messages:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            part = next(iter(message.iter_attachments()))
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            received.setdefault(str(message["Message-ID"]), []).append(
                (part.get_filename(), payload))
    for run, entry_ids in runs.items():
        ids = {i for i in received if any(e in i for e in entry_ids)}
        assert len(ids) == len(FILES), run  # every file arrived
        copies = sum(len(received[i]) for i in ids)
        assert copies <= len(FILES) + 1, run  # at most the one in flight, again
        for i in ids:
            name, payload = received[i][0]
            assert name in FILES and payload == FILES[name]
            assert all(copy == received[i][0] for copy in received[i])
