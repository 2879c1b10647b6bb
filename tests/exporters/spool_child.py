"""Child process for the crash tests: writes into or delivers from a spool, and SIGKILLs
itself just before its N-th I/O call (file or socket), so a test can stop it at every point.

Usage: python spool_child.py write SPOOL KILL_AT SOURCE_DIR
       python spool_child.py ftp SPOOL KILL_AT PORT DIRECTORY
       python spool_child.py sftp SPOOL KILL_AT PORT DIRECTORY HOST_KEY_LINE
       python spool_child.py smtp SPOOL KILL_AT PORT

KILL_AT 0 never kills; the child then prints ``POINTS <n>``, the number of I/O calls made.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

IO_CALLS = frozenset(
    {
        "open", "write", "flush", "fsync", "replace", "rename", "unlink", "close", "mkdir",
        "flock", "sendall", "send", "recv", "recv_into", "readinto", "readline", "connect",
        "create_connection", "makefile",
    }
)


def main(argv: list[str]) -> int:
    mode, spool_dir, kill_at = argv[0], Path(argv[1]), int(argv[2])
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from exporters import FtpTransport, SftpTransport, SmtpTransport, Spool

    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event == "c_call" and getattr(arg, "__name__", "") in IO_CALLS:
            count += 1
            if count == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    sys.setprofile(profile)
    spool = Spool(spool_dir)
    if mode == "write":
        for source in sorted(Path(argv[3]).iterdir()):
            spool.put(source.name, source.read_bytes())
            sys.setprofile(None)
            print("ACCEPTED", source.name, flush=True)
            sys.setprofile(profile)
    elif mode == "ftp":
        transport: Any = FtpTransport(
            "127.0.0.1", int(argv[3]), user="meter", password="s3cret", directory=argv[4],
            timeout=30,
        )
        report = spool.deliver(transport, force=True)
        assert report.ok, report.to_dict()
    elif mode == "sftp":
        transport = SftpTransport(
            "127.0.0.1", int(argv[3]), username="meter", password="s3cret",
            directory=argv[4], host_key=argv[5], timeout=30,
        )
        report = spool.deliver(transport, force=True)
        assert report.ok, report.to_dict()
    elif mode == "smtp":
        transport = SmtpTransport(
            "127.0.0.1", int(argv[3]), sender="logger@example.org",
            recipients=["portal@example.org"], security="none", timeout=30,
        )
        report = spool.deliver(transport, force=True)
        assert report.ok, report.to_dict()
    else:
        raise SystemExit(f"unknown mode {mode}")
    sys.setprofile(None)
    print("POINTS", count, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
