"""What the gateway's BACnet tests share: ``meterkit run`` of a site file in a process of
its own, started and stopped at will, and a bacpypes3 peer on 127.0.0.1 that outlives its
restarts (importing this module skips the test module when bacpypes3 is missing)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("bacpypes3", reason="the bacnet extra (bacpypes3) is not installed")

from ..bacnet.support import WAIT, Peer, free_udp_port, python_peer

__all__ = ["ROOT", "SITE_HEADER", "WAIT", "Peer", "SiteRun", "free_udp_port", "python_peer"]

ROOT = Path(__file__).resolve().parents[2]

# The [site] table of the tests' site files.
SITE_HEADER = """
[site]
name = "plant"
gateway_id = "plant-gw"
"""


class SiteRun:
    """``meterkit run`` of the site file ``site`` (its BACnet device on ``port``) and a
    bacpypes3 peer (device ``peer_instance``) on ``peer_port``."""

    def __init__(self, site: Path, *, port: int, peer_port: int, peer_instance: str) -> None:
        self.site = site
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None
        self.peer = Peer(python_peer(f"127.0.0.1/8:{peer_port}", peer_instance))
        self.peer.until("ready")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", str(self.site)], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self) -> tuple[int, str] | None:
        """SIGTERM and wait: the exit status and standard output (None: not running)."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            out, _err = process.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise AssertionError("meterkit run did not stop on SIGTERM") from None
        return process.returncode, out

    def ask(self, op: str, **fields: Any) -> dict[str, Any]:
        """A command to the peer about the gateway's device; the peer's answer."""
        self.peer.send({"op": op, "address": self.address, **fields})
        return self.peer.answer()

    def wait_for(self, what: str, check: Any) -> Any:
        """Ask ``check()`` until it gives something true (bounded: a hang fails)."""
        for _ in range(int(WAIT / 0.2)):
            result = check()
            if result:
                return result
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"meterkit run ended: {self.process.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.2)
        raise AssertionError(f"no {what} after {WAIT} s")

    def close(self) -> None:
        try:
            self.peer.close()
        finally:
            self.stop()
