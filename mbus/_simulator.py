"""A whole M-Bus segment served over TCP, built from the slave core and the segment model.

Connect with ``socket://127.0.0.1:PORT`` (pyserial) or ``tcp://127.0.0.1:PORT``
(asyncio): what the client sends reaches every slave; what comes back is what a
master would receive on the line, collisions included (bitwise AND, optionally
dropping characters whose parity the collision broke).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ._segment import Segment

__all__ = ["SimulatorServer"]

log = logging.getLogger(__name__)


class SimulatorServer:
    """asyncio TCP server onto a :class:`Segment`.

    ``idle`` is the silence (seconds) after which partial input is dropped, as a
    slave's UART does after an idle line.
    """

    def __init__(self, segment: Segment, *, idle: float = 0.5) -> None:
        self.segment = segment
        self.idle = idle
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self._lock = asyncio.Lock()
        self._clients: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[object]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (a free one when ``port`` is 0)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("simulating %d meters on %s:%d", len(self.segment.slaves), host, self.port)
        return self.port

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        if self._server is None:
            raise RuntimeError("start() first")
        await self._server.serve_forever()

    async def close(self) -> None:
        """Stop listening and drop the clients."""
        if self._server is not None:
            self._server.close()
            # A connection accepted just now needs a few loop turns to reach its handler
            # (transport, protocol, task); give it them so that it is closed too.
            await asyncio.sleep(0.05)
        for writer in list(self._clients):
            writer.close()
        if self._handlers:  # each handler closes its socket and waits until it is closed
            await asyncio.wait(list(self._handlers), timeout=5)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        peer = writer.get_extra_info("peername")
        log.info("simulator client %s connected", peer)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(4096), self.idle)
                except asyncio.TimeoutError:
                    self.segment.idle()
                    continue
                if not data:
                    break
                async with self._lock:
                    answer = self.segment.receive_data(data)
                if answer:
                    writer.write(answer)
                    await writer.drain()
        except (ConnectionError, OSError) as error:
            log.info("simulator client %s: %s", peer, error)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()
            self._clients.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            log.info("simulator client %s disconnected", peer)
