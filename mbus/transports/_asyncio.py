"""asyncio adapter: a port for :class:`mbus.AsyncBus` over asyncio streams.

``tcp://host:port`` or ``socket://host:port`` opens a TCP connection
(asyncio.open_connection); any other URL is a serial port through
pyserial-asyncio-fast (``pip install meterkit[serial]``), 8E1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from .._bus import AsyncBus
from .._master_errors import TransportError

__all__ = ["AsyncPort", "open_async_bus"]

log = logging.getLogger(__name__)


class AsyncPort:
    """A stream pair as an awaitable port: ``now``, ``write``, ``read(deadline)``,
    ``discard_input``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 url: str = "") -> None:
        self.reader = reader
        self.writer = writer
        self.url = url

    @classmethod
    async def open(cls, url: str, *, baud: int = 2400) -> AsyncPort:
        """Open ``tcp://``/``socket://host:port`` or a serial URL."""
        try:
            for scheme in ("tcp://", "socket://"):
                if url.startswith(scheme):
                    host, _, port = url[len(scheme):].partition(":")
                    reader, writer = await asyncio.open_connection(host, int(port))
                    return cls(reader, writer, url)
            try:
                import serial
                import serial_asyncio_fast
            except ImportError:  # pragma: no cover - the extra is installed in tests
                raise TransportError("pyserial-asyncio-fast is not installed: "
                                     "pip install meterkit[serial]") from None
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=url, baudrate=baud, bytesize=serial.EIGHTBITS, parity=serial.PARITY_EVEN,
                stopbits=serial.STOPBITS_ONE)
            return cls(reader, writer, url)
        except TransportError:
            raise
        except Exception as error:  # SerialException, termios.error, OSError, bad port
            raise TransportError(f"cannot open {url}: {error}") from None

    def now(self) -> float:
        """The event loop's clock."""
        return asyncio.get_running_loop().time()

    async def write(self, data: bytes) -> None:
        """Send bytes."""
        try:
            self.writer.write(data)
            await self.writer.drain()
        except OSError as error:
            raise TransportError(f"{self.url}: write failed: {error}") from None

    async def read(self, deadline: float) -> bytes:
        """Bytes that arrive before ``deadline`` (b"" at the deadline)."""
        remaining = deadline - self.now()
        if remaining <= 0:
            return b""
        try:
            data = await asyncio.wait_for(self.reader.read(4096), remaining)
        except asyncio.TimeoutError:
            return b""
        except OSError as error:
            raise TransportError(f"{self.url}: read failed: {error}") from None
        if not data:
            raise TransportError(f"{self.url}: connection closed by the other side")
        return data

    def discard_input(self) -> None:
        """Nothing to do: the master ignores bytes outside a transaction window."""

    async def close(self) -> None:
        """Close the streams."""
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def open_async_bus(url: str, *, baud: int = 2400, timeout: float | None = None,
                         **options: Any) -> AsyncBus:
    """Open a port by URL and wrap it in an :class:`mbus.AsyncBus`.

    ``options`` go to :class:`mbus.AsyncBus` (margin, retries, echo, on_progress).
    """
    port = await AsyncPort.open(url, baud=baud)
    return AsyncBus(port, baud=baud, timeout=timeout, **options)
