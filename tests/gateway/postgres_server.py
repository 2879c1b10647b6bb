"""A throwaway PostgreSQL server: initdb and pg_ctl in a temporary folder, on a loopback port.

Debian's ``postgresql`` package puts the programs in ``/usr/lib/postgresql/N/bin``.
PostgreSQL refuses to run as root: as root, the server runs as the ``postgres``
user (which the package creates) and the folder is handed to it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "server_programs"]


def server_programs() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda f: int(f.split("/")[4]))
    return Path(folders[-1]) if folders else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class PostgresServer:
    """A fresh cluster in a temporary folder; :meth:`start`, :meth:`stop`, :meth:`dsn`."""

    def __init__(self) -> None:
        programs = server_programs()
        if programs is None:
            pytest.skip("PostgreSQL server programs (initdb, pg_ctl) are not installed: "
                        "apt-get install postgresql")
        self.programs = programs
        self.folder = Path(tempfile.mkdtemp(prefix="meterkit-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "meterkit", "-E",
                  "UTF8", "--locale=C", "--no-sync")

    def _run(self, program: str, *arguments: str) -> None:
        subprocess.run([*self._as, str(self.programs / program), *arguments], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.folder)

    def dsn(self, database: str = "postgres") -> str:
        """The connection string of a database on this server."""
        return f"postgresql://meterkit@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start (and wait until it accepts connections)."""
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.folder / "server.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop (``immediate`` is a crash: no shutdown checkpoint)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop when running, and delete the folder."""
        subprocess.run([*self._as, str(self.programs / "pg_ctl"), "-D", str(self.data),
                        "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
