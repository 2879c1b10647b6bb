"""Outside-in: ``exporters upload`` SIGKILLed at random moments against real servers.

Each round offers new files (unique names, and a new version of ``latest.csv`` and of
``big.bin``) to ``python -m exporters upload`` in a child process, and kills it: at a random
time, when the server receives an upload, right after the server renamed a file onto its
final name (before the client hears of it), or between two files. One round restarts the
server while the client uploads. A killed caller does what the docs tell it: it looks at the
spool (``Spool.listing``, what ``exporters spool list`` prints) and offers again only what was
not accepted. At the end one ``--retry`` run without kills empties the queue.

Then, from the server's own record of every rename onto a final name:

- every offered version arrived exactly once, in the order offered, with its exact bytes,
  and the server ends with the newest version of each name;
- no final name ever held bytes that were never offered under it, nothing was written to a
  final name directly, and no temporary file is left;
- nothing was reported delivered (``deliveries.jsonl``) that the server did not get.

``METERKIT_KILL_ROUNDS`` sets the rounds per server (default 10; ``make soak`` runs 150).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from exporters import Spool

from .delivery_support import ObservedFtpServer, ObservedSftpServer, Observer

ROUNDS = int(os.environ.get("METERKIT_KILL_ROUNDS", "10"))
SEED = int(os.environ.get("METERKIT_KILL_SEED", str(random.randrange(1 << 30))))
KILLS = ("time", "stor", "rename", "between", "none")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Caller:
    """A field deployment's caller: offers files with ``exporters upload`` and, when it was
    killed, offers again what the spool did not accept."""

    def __init__(self, tmp: Path, url: str, extra: list[str], rng: random.Random) -> None:
        self.tmp = tmp
        self.url = url
        self.extra = extra
        self.rng = rng
        self.spool = tmp / "spool"
        self.offered: dict[str, list[bytes]] = {}  # name -> versions, in offer order
        self.pending: list[Path] = []  # offered but not (known to be) accepted
        self.counter = 0

    def new_files(self, round_number: int) -> list[Path]:
        folder = self.tmp / f"round{round_number}"
        folder.mkdir()
        files = []
        for index in range(self.rng.randint(0, 2)):
            files.append((f"u-{round_number}-{index}.csv", self.rng.randbytes(300)))
        files.append(("latest.csv", f"version {round_number}\n".encode() * 40))
        if round_number % 3 == 0:  # big enough that kills land inside transfers
            files.append(("big.bin", self.rng.randbytes(3_000_000)))
        paths: list[Path] = []
        for name, data in files:
            sub = folder / str(len(paths))
            sub.mkdir()
            (sub / name).write_bytes(data)
            paths.append(sub / name)
            self.offered.setdefault(name, []).append(data)
        return paths

    def accepted(self) -> set[tuple[str, str]]:
        listing = Spool(self.spool).listing(recent=10_000)
        found = {(e["name"], e["entry_id"][-16:]) for e in listing["queued"]}
        found |= {(d["name"], d["sha256"][:16]) for d in listing["delivered"]}
        assert listing["failed"] == [] and listing["unrecognised"] == []
        return found

    def run(self, files: list[Path], *, retry: bool = False) -> subprocess.Popen[bytes]:
        args = [sys.executable, "-m", "exporters", "upload", self.url, *map(str, files),
                "--spool", str(self.spool), "--timeout", "10", *self.extra]
        if retry:
            args.append("--retry")
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env={**os.environ, "PASSWORD": "s3cret"})

    def after(self, process: subprocess.Popen[bytes], files: list[Path]) -> int:
        _, stderr = process.communicate(timeout=300)
        status = process.returncode
        assert status in (0, 1, -signal.SIGKILL), stderr.decode()
        if status == 1:
            assert stderr.strip(), "an error exit says why"
            assert b"failed: ;" not in stderr and not stderr.rstrip().endswith(b":")
        accepted = self.accepted()
        self.pending = [
            p for p in files if (p.name, sha(p.read_bytes())[:16]) not in accepted
        ]
        if status != -signal.SIGKILL:
            assert self.pending == [], "a run that was not killed accepted every file"
        return status


def kill_round(
    caller: Caller,
    server: ObservedFtpServer | ObservedSftpServer,
    observer: Observer,
    round_number: int,
    restart: bool,
) -> str:
    files = caller.pending + caller.new_files(round_number)
    kill = caller.rng.choice(KILLS)
    if kill in ("stor", "rename", "between"):
        observer.trap = (kill, caller.rng.randint(1, 3))
    process = caller.run(files)
    observer.victim = process.pid
    timer: threading.Timer | None = None
    if kill == "time":
        timer = threading.Timer(caller.rng.uniform(0.3, 1.5), _kill, (process,))
        timer.start()
    if restart:
        deadline = time.monotonic() + 30
        stores = observer.stores
        while observer.stores == stores and process.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        server.stop()
        server.start()
    caller.after(process, files)
    if timer is not None:
        timer.cancel()
    observer.trap = None
    observer.victim = None
    server.wait_idle()  # a dead client's last commands are handled before the next run
    return kill


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)


def check_outcome(caller: Caller, observer: Observer, root: Path) -> None:
    offered = {name: [sha(v) for v in versions] for name, versions in caller.offered.items()}
    arrived: dict[str, list[str]] = {}
    for name, digest in observer.finals:
        # no final name ever held bytes never offered under it
        assert digest in offered.get(name, []), (name, digest)
        arrived.setdefault(name, []).append(digest)
    assert observer.direct_writes == []
    # every version exactly once, in the order offered
    assert arrived == offered
    for name, versions in caller.offered.items():
        assert (root / name).read_bytes() == versions[-1], name
    assert sorted(p.name for p in root.iterdir()) == sorted(caller.offered)  # no .part left
    # nothing reported delivered that the server did not get
    spool = Spool(caller.spool)
    assert spool.entries() == [] and spool.failed_entries() == []
    reported = spool.recent_deliveries(limit=100_000)
    assert sorted((r.name, r.sha256) for r in reported) == sorted(
        (name, digest) for name, digests in offered.items() for digest in digests
    )


def soak(
    tmp_path: Path,
    server: ObservedFtpServer | ObservedSftpServer,
    observer: Observer,
    url: Callable[[], str],
    extra: list[str],
) -> None:
    rng = random.Random(SEED)
    caller = Caller(tmp_path, url(), extra, rng)
    restart_round = rng.randrange(ROUNDS)
    kills = []
    try:
        for number in range(ROUNDS):
            caller.url = url()
            kills.append(kill_round(caller, server, observer, number, number == restart_round))
        # the end: deliver what is left, without kills; offer what was never accepted
        for _ in range(3):
            process = caller.run(caller.pending, retry=True)
            if caller.after(process, caller.pending) == 0:
                break
        assert process.returncode == 0
        server.wait_idle()
    finally:
        server.stop()
    print(f"seed {SEED}: kills {kills}, traps sprung {observer.sprung}")
    check_outcome(caller, observer, server.root)


def test_ftp_upload_killed_at_random_delivers_every_version_once_in_order(
    tmp_path: Path,
) -> None:
    observer = Observer()
    server = ObservedFtpServer(tmp_path / "ftp", observer)
    server.start()
    soak(tmp_path, server, observer,
         lambda: f"ftp://meter@127.0.0.1:{server.port}/", ["--password-env", "PASSWORD"])


def test_sftp_upload_killed_at_random_delivers_every_version_once_in_order(
    tmp_path: Path,
) -> None:
    pytest.importorskip("paramiko")
    pytest.importorskip("asyncssh")
    observer = Observer()
    server = ObservedSftpServer(tmp_path / "sftp", observer)
    server.start()
    soak(tmp_path, server, observer,
         lambda: f"sftp://meter@127.0.0.1:{server.port}/",
         ["--password-env", "PASSWORD", "--host-key", server.host_key_line])
