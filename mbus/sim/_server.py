"""A whole M-Bus segment served over TCP, built from the slave core and the segment model.

Connect with ``socket://127.0.0.1:PORT`` (pyserial) or ``tcp://127.0.0.1:PORT``
(asyncio): what the client sends reaches every slave; what comes back is what a
master would receive on the line, collisions included (bitwise AND, optionally
dropping characters whose parity the collision broke).
"""

from __future__ import annotations

import asyncio
import logging

from ..transports._tcp_listener import TcpListener
from ._segment import Segment

__all__ = ["SimulatorServer"]

log = logging.getLogger(__name__)


class SimulatorServer(TcpListener):
    """asyncio TCP server onto a :class:`Segment`.

    ``idle`` is the silence (seconds) after which partial input is dropped, as a
    slave's UART does after an idle line.
    """

    def __init__(self, segment: Segment, *, idle: float = 0.5) -> None:
        super().__init__()
        self.segment = segment
        self.idle = idle
        self._lock = asyncio.Lock()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (a free one when ``port`` is 0)."""
        await self._listen(host, port)
        log.info("simulating %d meters on %s:%d", len(self.segment.slaves), host, self.port)
        assert self.port is not None
        return self.port

    async def close(self) -> None:
        """Stop listening and drop the clients."""
        await self._stop_listening()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      peer: object) -> None:
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
            log.info("simulator client %s disconnected", peer)
