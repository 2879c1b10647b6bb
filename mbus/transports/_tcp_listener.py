"""A TCP listener that keeps track of its connections, so that closing it closes them.

The simulator and the bridge both serve M-Bus over TCP; this is what they
share: listening on a host and port, one handler task per connection, and a
shutdown that leaves no socket or task behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

__all__ = ["TcpListener"]

log = logging.getLogger(__name__)


class TcpListener:
    """Base of the TCP servers: subclasses implement :meth:`_handle` for one connection."""

    def __init__(self) -> None:
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[object]] = set()

    async def _listen(self, host: str, port: int) -> int:
        """Start listening; returns the port (a free one when ``port`` is 0)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    @property
    def _listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        if self._server is None:
            raise RuntimeError("start() first")
        await self._server.serve_forever()

    async def _stop_listening(self) -> None:
        """Close the listener and every connection; wait until their handlers are done."""
        if self._server is None:
            return
        self._server.close()
        # A connection accepted just now needs a few loop turns to reach its handler
        # (transport, protocol, task); give it them so that it is closed too.
        await asyncio.sleep(0.05)
        for writer in list(self._connections):
            writer.close()
        if self._handlers:  # each handler closes its socket and waits until it is closed
            await asyncio.wait(list(self._handlers), timeout=5)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._handle(reader, writer, writer.get_extra_info("peername"))
        finally:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()
            self._connections.discard(writer)
            if task is not None:
                self._handlers.discard(task)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      peer: object) -> None:
        raise NotImplementedError
