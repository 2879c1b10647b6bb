"""Test support: free loopback UDP ports, a BacnetServer on its own loop thread, and peer
processes that speak JSON lines."""

from __future__ import annotations

import asyncio
import json
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from bacnet import Acknowledgement, BacnetServer, PointList
from profiles import PointReading

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# Bounds against hangs, not measurements: a peer that is silent this long has failed.
WAIT = 30.0

# Messages a peer prints on its own, not as an answer to a command.
NOTIFICATION_KEYS = frozenset({"cov", "event", "i_am", "raw_event"})


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LoopThread:
    """An asyncio loop on a daemon thread; ``run(coro)`` waits for a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(WAIT)

    def call(self, function: Callable[..., T], *args: Any) -> T:
        async def call() -> T:
            return function(*args)
        return self.run(call())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)
        self.loop.close()


class ServerThread:
    """A :class:`BacnetServer` running on a :class:`LoopThread`."""

    def __init__(self, points: PointList, **options: Any) -> None:
        self.port = free_udp_port()
        self.loop = LoopThread()
        self.server = BacnetServer(points, address=f"127.0.0.1/8:{self.port}", **options)
        self.loop.run(self.server.start())

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.loop.run(self.server.close())
        self.loop.stop()


T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


class PeerWorld:
    """meterkit's server on its loop thread and a peer process it notifies.

    ``points`` makes the server's point list from the peer's address (its recipient),
    ``command`` the peer's command line from its UDP port. The ``peer_world`` fixture
    (conftest.py) builds and closes them.
    """

    def __init__(self, points: Callable[[str], PointList],
                 command: Callable[[int], list[str]]) -> None:
        self.peer_port = free_udp_port()
        self.acknowledgements: list[Acknowledgement] = []
        self.gateway = ServerThread(points(f"127.0.0.1:{self.peer_port}"),
                                    on_acknowledge=self.acknowledgements.append)
        try:
            self.peer = Peer(command(self.peer_port))
            self.peer.until("ready")
        except BaseException:
            self.gateway.close()
            raise

    def ask(self, op: str, **fields: Any) -> dict[str, Any]:
        self.peer.send({"op": op, "address": self.gateway.address, **fields})
        return self.peer.answer()

    def publish(self, point: str, value: object, unit: str = "", time: datetime = T0,
                quality: tuple[str, ...] = ()) -> None:
        self.gateway.loop.call(self.gateway.server.publish, PointReading(
            point=point, time=time, value=value, unit=unit, quality=quality))  # type: ignore[arg-type]

    def close(self) -> None:
        try:
            self.peer.close()
        finally:
            self.gateway.close()


class Peer:
    """A peer process whose stdout is JSON lines; ``next()`` waits for the next one."""

    def __init__(self, command: list[str], cwd: Path = ROOT) -> None:
        self.process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.pending: list[dict[str, Any]] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next(self) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"peer said nothing for {WAIT} s: {self.stderr()}") from None
        if line is None:
            raise AssertionError(f"peer ended: {self.stderr()}")
        message: dict[str, Any] = json.loads(line)
        return message

    def until(self, key: str) -> dict[str, Any]:
        """The next message holding ``key``; notifications passed over by :meth:`answer`
        are looked at first, other messages are skipped."""
        for index, message in enumerate(self.pending):
            if key in message:
                del self.pending[index]
                return message
        while True:
            message = self.next()
            if key in message:
                return message

    def answer(self) -> dict[str, Any]:
        """The answer to the last command: notifications (COV, events, I-Am) arriving
        before it are kept for :meth:`until`."""
        while True:
            message = self.next()
            if NOTIFICATION_KEYS.isdisjoint(message):
                return message
            self.pending.append(message)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read()[-3000:]

    def close(self) -> int:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            return self.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("peer did not end") from None


def python_peer(*args: str) -> list[str]:
    """The command line of the bacpypes3 peer script."""
    return [sys.executable, str(ROOT / "tests" / "bacnet" / "bacpypes_peer.py"), *args]
