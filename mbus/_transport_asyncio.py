"""asyncio adapter: the same master over asyncio streams.

``tcp://host:port`` or ``socket://host:port`` opens a TCP connection
(asyncio.open_connection); any other URL is a serial port through
pyserial-asyncio-fast (``pip install meterkit[serial]``), 8E1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from ._assign import AssignAddresses, Assignment
from ._master import Master, Procedure, ProcedureFinished, Progress, SendBytes, WaitForData
from ._master_errors import BusError, TransportError
from ._read import Exchange, MeterReading, ReadAll, ReadAllEntry, ReadMeter
from ._requests import (
    SecondaryAddress,
    application_reset,
    set_baud_rate,
    set_primary_address,
    snd_nke,
)
from ._scan import FoundPrimary, PrimaryScan
from ._search import SearchResult, SecondarySearch
from ._timing import DEFAULT_MARGIN

__all__ = ["AsyncBus", "AsyncPort", "open_async_bus", "run_procedure_async"]

log = logging.getLogger(__name__)


class AsyncPort:
    """A stream pair as a port: ``now``, ``write``, ``read(deadline)``, ``discard_input``."""

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


async def run_procedure_async(master: Master, procedure: Procedure, port: AsyncPort,
                              on_progress: Callable[[Any], None] | None = None) -> Any:
    """Drive ``procedure`` over an asyncio port; returns its result."""
    master.start(procedure, port.now())
    while True:
        action = master.next_action(port.now())
        if isinstance(action, SendBytes):
            port.discard_input()
            await port.write(action.data)
        elif isinstance(action, WaitForData):
            data = await port.read(action.deadline)
            if data:
                master.receive_data(data, port.now())
        elif isinstance(action, Progress):
            if on_progress is not None:
                on_progress(action.event)
        else:
            assert isinstance(action, ProcedureFinished)
            return action.result


def _raise_error(result: Any) -> Any:
    if isinstance(result, BusError):
        raise result
    return result


class AsyncBus:
    """The asyncio twin of :class:`mbus.Bus` (same methods, awaited)."""

    def __init__(self, port: AsyncPort, *, baud: int = 2400, margin: float = DEFAULT_MARGIN,
                 timeout: float | None = None, retries: int = 2, echo: bool | None = None,
                 on_progress: Callable[[Any], None] | None = None) -> None:
        self.port = port
        self.master = Master(baud=baud, margin=margin, timeout=timeout, retries=retries,
                             echo=echo)
        self.on_progress = on_progress
        self._lock = asyncio.Lock()

    async def run(self, procedure: Procedure) -> Any:
        """Run a procedure (one at a time per bus); returns its result."""
        async with self._lock:
            return await run_procedure_async(self.master, procedure, self.port,
                                             self.on_progress)

    async def scan_primary(self, addresses: Iterable[int] = range(251)) -> tuple[FoundPrimary,
                                                                                  ...]:
        """Probe primary addresses."""
        result: tuple[FoundPrimary, ...] = await self.run(PrimaryScan(addresses))
        return result

    async def scan_secondary(self, mask: SecondaryAddress | None = None) -> SearchResult:
        """Find every meter by secondary address."""
        result: SearchResult = await self.run(SecondarySearch(mask))
        return result

    async def read(self, meter: int | SecondaryAddress, *,
                   max_telegrams: int = 16) -> MeterReading:
        """Multi-telegram read; raises the BusError subclasses."""
        result: MeterReading = _raise_error(await self.run(ReadMeter(
            meter, max_telegrams=max_telegrams)))
        return result

    async def read_all(self, meters: Iterable[int | SecondaryAddress]) -> tuple[ReadAllEntry,
                                                                                ...]:
        """Read each meter; every entry holds its reading or its error."""
        result: tuple[ReadAllEntry, ...] = await self.run(ReadAll(meters))
        return result

    async def set_primary_address(self, meter: int | SecondaryAddress, new: int) -> None:
        """Write a new primary address."""
        from ._bus import target_requests

        prefix, address, optional = target_requests(meter)
        _raise_error(await self.run(Exchange([*prefix, set_primary_address(address, new)],
                                             what="set address", optional=optional)))

    async def reset(self, meter: int | SecondaryAddress, subcode: int | None = None) -> None:
        """Application reset."""
        from ._bus import target_requests

        prefix, address, optional = target_requests(meter)
        _raise_error(await self.run(Exchange([*prefix, application_reset(address, subcode)],
                                             what="reset", optional=optional)))

    async def set_baud_rate(self, meter: int | SecondaryAddress, baud: int) -> None:
        """Switch a meter's baud rate (CI 0xB8-0xBF)."""
        from ._bus import target_requests

        prefix, address, optional = target_requests(meter)
        _raise_error(await self.run(Exchange([*prefix, set_baud_rate(address, baud)],
                                             what="baud rate", optional=optional)))

    async def ping(self, address: int) -> None:
        """SND_NKE; raises NoAnswerError when nobody acknowledges."""
        _raise_error(await self.run(Exchange([snd_nke(address)], what="ping")))

    async def assign_addresses(self, meters: Iterable[SecondaryAddress],
                               free: Iterable[int] | None = None) -> tuple[Assignment, ...]:
        """Give meters free primary addresses, verified by reading back."""
        result: tuple[Assignment, ...] = await self.run(AssignAddresses(meters, free=free))
        return result

    async def close(self) -> None:
        """Close the port."""
        await self.port.close()

    async def __aenter__(self) -> AsyncBus:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()


async def open_async_bus(url: str, *, baud: int = 2400, timeout: float | None = None,
                         **options: Any) -> AsyncBus:
    """Open a port by URL and wrap it in an :class:`AsyncBus`."""
    port = await AsyncPort.open(url, baud=baud)
    return AsyncBus(port, baud=baud, timeout=timeout, **options)
