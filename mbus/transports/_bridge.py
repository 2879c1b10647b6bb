"""M-Bus over IP: share one serial M-Bus port with one TCP client at a time.

Bytes pass through unchanged in both directions (vendors' configuration tools
speak M-Bus themselves). A second client is refused with a one-line message;
a client that stays silent for ``idle_timeout`` seconds is disconnected; closing
the bridge closes the client, the listener and the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ._asyncio import AsyncPort
from ._tcp_listener import TcpListener

__all__ = ["BUSY_MESSAGE", "Bridge"]

log = logging.getLogger(__name__)

BUSY_MESSAGE = b"mbus bridge: busy, another client is connected; try again later\r\n"


class Bridge(TcpListener):
    """TCP listener in front of a serial M-Bus port (any URL :class:`AsyncPort` opens)."""

    def __init__(self, serial_url: str, *, baud: int = 2400, idle_timeout: float = 300.0) -> None:
        super().__init__()
        self.serial_url = serial_url
        self.baud = baud
        self.idle_timeout = idle_timeout
        self._serial: AsyncPort | None = None
        self._client: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Open the serial port, then listen; returns the TCP port."""
        self._serial = await AsyncPort.open(self.serial_url, baud=self.baud)
        self._pump = asyncio.create_task(self._serial_to_client())
        port = await self._listen(host, port)
        log.info("bridging %s to %s:%d", self.serial_url, host, port)
        return port

    async def close(self) -> None:
        """Clean shutdown: client, listener, pump, serial port."""
        await self._stop_listening()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._serial is not None:
            await self._serial.close()
            self._serial = None

    async def _serial_to_client(self) -> None:
        assert self._serial is not None
        reader = self._serial.reader
        while True:
            data = await reader.read(4096)
            if not data:
                log.warning("bridge: serial side %s closed", self.serial_url)
                if self._client is not None:
                    self._client.close()
                return
            client = self._client
            if client is None:
                log.debug("bridge: %d bytes from the bus with no client", len(data))
                continue
            client.write(data)
            with contextlib.suppress(ConnectionError):
                await client.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      peer: object) -> None:
        log.debug("bridge: connection from %s", peer)
        if not self._listening:
            log.info("bridge: closing, refused %s", peer)
            return
        if self._client is not None:
            log.info("bridge: refused %s, a client is connected", peer)
            writer.write(BUSY_MESSAGE)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            return
        self._client = writer
        log.info("bridge: client %s connected", peer)
        assert self._serial is not None
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(4096), self.idle_timeout)
                except asyncio.TimeoutError:
                    log.info("bridge: client %s idle for %.0f s, disconnected", peer,
                             self.idle_timeout)
                    break
                if not data:
                    break
                await self._serial.write(data)
        except (ConnectionError, OSError) as error:
            log.info("bridge: client %s: %s", peer, error)
        finally:
            self._client = None
            writer.close()
            log.info("bridge: client %s disconnected", peer)
