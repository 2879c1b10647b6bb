"""The bus drivers: a sans-IO :class:`Master` run over a port, blocking or with asyncio.

There is one driver loop (:func:`_drive`, a generator) and one description of
what each bus method does (:class:`_Calls`: which procedure, and how its result
is handed back). :class:`Bus` pumps the loop over a blocking :class:`Port`,
:class:`AsyncBus` over an :class:`AwaitablePort` whose ``write`` and ``read`` are
awaited; their methods are one line each and have the same names and signatures
(a test compares them).

A port has four methods: ``now()`` (monotonic seconds), ``write(data)``,
``read(deadline)`` (bytes that arrived before ``deadline``, b"" at the deadline)
and ``discard_input()``. The ports shipped are in :mod:`mbus.transports`
(pyserial, asyncio streams) and :mod:`mbus.sim` (an in-process segment).

This module imports no asyncio: :class:`AsyncBus` works with any awaitable port.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from ._assign import AssignAddresses, Assignment
from ._master import Master, Procedure, ProcedureFinished, Progress, SendBytes, WaitForData
from ._master_errors import BusError
from ._read import Exchange, MeterReading, ReadAll, ReadAllEntry, ReadMeter
from ._records import Record
from ._requests import (
    NETWORK_ADDRESS,
    SecondaryAddress,
    application_reset,
    deselect,
    req_ud1,
    select,
    set_baud_rate,
    set_primary_address,
    snd_nke,
    snd_ud,
)
from ._scan import FoundPrimary, PrimaryScan
from ._search import SearchResult, SecondarySearch
from ._telegram import Telegram
from ._timing import DEFAULT_MARGIN

__all__ = ["AsyncBus", "AwaitablePort", "Bus", "Meter", "Port", "parse_meter",
           "run_procedure", "run_procedure_async", "target_requests"]

log = logging.getLogger(__name__)

Meter = int | SecondaryAddress
T = TypeVar("T")


class Port(Protocol):
    """What :class:`Bus` needs from a transport."""

    def now(self) -> float: ...

    def write(self, data: bytes) -> None: ...

    def read(self, deadline: float) -> bytes: ...

    def discard_input(self) -> None: ...


class AwaitablePort(Protocol):
    """What :class:`AsyncBus` needs from a transport: ``write`` and ``read`` are awaited."""

    def now(self) -> float: ...

    def write(self, data: bytes) -> Awaitable[None]: ...

    def read(self, deadline: float) -> Awaitable[bytes]: ...

    def discard_input(self) -> None: ...


def parse_meter(text: str) -> Meter:
    """``"5"`` -> primary address 5; 16 hex digits (or fewer with F) -> a secondary address."""
    stripped = text.strip()
    if stripped.isdigit() and len(stripped) <= 3:
        return int(stripped)
    return SecondaryAddress.parse(stripped)


# -- the driver loop, written once -------------------------------------------------------

def _drive(master: Master, procedure: Procedure, port: Port | AwaitablePort,
           on_progress: Callable[[Any], None] | None
           ) -> Generator[SendBytes | WaitForData, bytes, Any]:
    """Run ``procedure``: yields what to write or until when to read; returns the result.

    The caller does the I/O the yielded action asks for and sends back what it read
    (b"" after a write). Only ``write`` and ``read`` may block or be awaited.
    """
    master.start(procedure, port.now())
    while True:
        action = master.next_action(port.now())
        if isinstance(action, SendBytes):
            port.discard_input()
            yield action
        elif isinstance(action, WaitForData):
            data = yield action
            if data:
                master.receive_data(data, port.now())
        elif isinstance(action, Progress):
            if on_progress is not None:
                on_progress(action.event)
        else:
            assert isinstance(action, ProcedureFinished)
            return action.result


def run_procedure(master: Master, procedure: Procedure, port: Port,
                  on_progress: Callable[[Any], None] | None = None) -> Any:
    """Drive ``procedure`` over a blocking ``port`` until it finishes; returns its result."""
    steps = _drive(master, procedure, port, on_progress)
    try:
        action = next(steps)
        while True:
            if isinstance(action, SendBytes):
                port.write(action.data)
                action = steps.send(b"")
            else:
                action = steps.send(port.read(action.deadline))
    except StopIteration as finished:
        return finished.value


async def run_procedure_async(master: Master, procedure: Procedure, port: AwaitablePort,
                              on_progress: Callable[[Any], None] | None = None) -> Any:
    """Drive ``procedure`` over an awaitable ``port``; returns its result."""
    steps = _drive(master, procedure, port, on_progress)
    try:
        action = next(steps)
        while True:
            if isinstance(action, SendBytes):
                await port.write(action.data)
                action = steps.send(b"")
            else:
                action = steps.send(await port.read(action.deadline))
    except StopIteration as finished:
        return finished.value


# -- what each bus method means, written once --------------------------------------------

def target_requests(meter: Meter) -> tuple[list[Any], int, list[int]]:
    """Requests that address ``meter`` for a SND_UD: (prefix, address, optional indexes).

    The prefix resets the slave's frame count first (SND_NKE, or deselection and
    selection), so that the SND_UD is never taken for a repeat of an earlier one.
    """
    if isinstance(meter, SecondaryAddress):
        return [deselect(), select(meter, retry=True)], NETWORK_ADDRESS, [0]
    return [snd_nke(meter)], meter, []


def _raise_error(result: Any) -> Any:
    if isinstance(result, BusError):
        raise result
    return result


def _as_is(result: Any) -> Any:
    return result


def _nothing(result: Any) -> None:
    _raise_error(result)


def _last_telegram(answers: Any) -> Telegram | None:
    last = _raise_error(answers)[-1]
    return None if last is None or last.is_ack else last.telegram


@dataclass(frozen=True)
class _Call(Generic[T]):
    """A procedure to run and what turns its result into the method's return value."""

    procedure: Procedure
    finish: Callable[[Any], T]


def _addressed(meter: Meter, build: Callable[[int], Any], what: str) -> _Call[None]:
    prefix, address, optional = target_requests(meter)
    return _Call(Exchange([*prefix, build(address)], what=what, optional=optional), _nothing)


class _Calls:
    """The bus methods as procedures (shared by :class:`Bus` and :class:`AsyncBus`)."""

    @staticmethod
    def scan_primary(addresses: Iterable[int], verify: bool) -> _Call[tuple[FoundPrimary, ...]]:
        return _Call(PrimaryScan(addresses, verify=verify), tuple)

    @staticmethod
    def scan_secondary(mask: SecondaryAddress | None, manufacturer: int | None,
                       version: int | None, medium: int | None,
                       recheck_silence: bool) -> _Call[SearchResult]:
        return _Call(SecondarySearch(mask, manufacturer=manufacturer, version=version,
                                     medium=medium, recheck_silence=recheck_silence),
                     _as_is)

    @staticmethod
    def read(meter: Meter, max_telegrams: int) -> _Call[MeterReading]:
        return _Call(ReadMeter(meter, max_telegrams=max_telegrams), _raise_error)

    @staticmethod
    def read_all(meters: Iterable[Meter], max_telegrams: int
                 ) -> _Call[tuple[ReadAllEntry, ...]]:
        return _Call(ReadAll(meters, max_telegrams=max_telegrams), tuple)

    @staticmethod
    def read_class1(meter: Meter) -> _Call[Telegram | None]:
        prefix, address, optional = target_requests(meter)
        return _Call(Exchange([*prefix, req_ud1(address)], what="REQ_UD1", optional=optional),
                     _last_telegram)

    @staticmethod
    def ping(address: int) -> _Call[None]:
        return _Call(Exchange([snd_nke(address)], what="ping"), _nothing)

    @staticmethod
    def set_primary_address(meter: Meter, new_address: int) -> _Call[None]:
        return _addressed(meter, lambda a: set_primary_address(a, new_address), "set address")

    @staticmethod
    def reset(meter: Meter, subcode: int | None) -> _Call[None]:
        return _addressed(meter, lambda a: application_reset(a, subcode), "reset")

    @staticmethod
    def set_baud_rate(meter: Meter, baud: int) -> _Call[None]:
        return _addressed(meter, lambda a: set_baud_rate(a, baud), "baud rate")

    @staticmethod
    def send_records(meter: Meter, records: Sequence[Record]) -> _Call[None]:
        return _addressed(meter, lambda a: snd_ud(a, tuple(records)), "send data")

    @staticmethod
    def assign_addresses(meters: Iterable[SecondaryAddress], free: Iterable[int] | None
                         ) -> _Call[tuple[Assignment, ...]]:
        return _Call(AssignAddresses(meters, free=free), tuple)


def _close(port: object) -> Any:
    close = getattr(port, "close", None)
    return close() if close is not None else None


# -- the two drivers ----------------------------------------------------------------------

class Bus:
    """A blocking M-Bus master on a port.

    >>> import mbus
    >>> from mbus.sim import Segment, SimulatedPort
    >>> meter = mbus.Slave(mbus.SecondaryAddress.parse("1234567824232504"),
    ...                    [[mbus.build_record(0x13, 7)]], primary=3)
    >>> bus = mbus.Bus(SimulatedPort(Segment([meter])))
    >>> bus.scan_primary()
    (FoundPrimary(primary=3, collision=False),)
    >>> bus.read(3).telegram.records[0].value
    Decimal('7.000')

    Errors: :meth:`read` and the methods that address one meter raise
    :class:`mbus.NoAnswerError`, :class:`mbus.NoMeterError` or
    :class:`mbus.CollisionError`; the scans and :meth:`read_all` report per meter.
    """

    def __init__(self, port: Port, *, baud: int = 2400, margin: float = DEFAULT_MARGIN,
                 timeout: float | None = None, retries: int = 2, echo: bool | None = None,
                 on_progress: Callable[[Any], None] | None = None) -> None:
        self.port = port
        self.master = Master(baud=baud, margin=margin, timeout=timeout, retries=retries,
                             echo=echo)
        self.on_progress = on_progress

    def run(self, procedure: Procedure) -> Any:
        """Run any procedure; returns its result (errors are returned, not raised)."""
        return run_procedure(self.master, procedure, self.port, self.on_progress)

    def _call(self, call: _Call[T]) -> T:
        return call.finish(self.run(call.procedure))

    def scan_primary(self, addresses: Iterable[int] = range(251), *,
                     verify: bool = False) -> tuple[FoundPrimary, ...]:
        """Probe primary addresses; returns the ones that answered."""
        return self._call(_Calls.scan_primary(addresses, verify))

    def scan_secondary(self, mask: SecondaryAddress | None = None, *,
                       manufacturer: int | None = None, version: int | None = None,
                       medium: int | None = None, recheck_silence: bool = False
                       ) -> SearchResult:
        """Find every meter by secondary address (optionally under a mask or filters).

        ``recheck_silence`` repeats unanswered selections, for noisy buses.
        """
        return self._call(_Calls.scan_secondary(mask, manufacturer, version, medium,
                                                recheck_silence))

    def read(self, meter: Meter, *, max_telegrams: int = 16) -> MeterReading:
        """Multi-telegram read; raises NoAnswerError, NoMeterError or CollisionError."""
        return self._call(_Calls.read(meter, max_telegrams))

    def read_all(self, meters: Iterable[Meter], *,
                 max_telegrams: int = 16) -> tuple[ReadAllEntry, ...]:
        """Read each meter; every entry holds its reading or its error."""
        return self._call(_Calls.read_all(meters, max_telegrams))

    def read_class1(self, meter: Meter) -> Telegram | None:
        """REQ_UD1 (class 1 data, alarms): the telegram, or None when the meter answers E5."""
        return self._call(_Calls.read_class1(meter))

    def ping(self, address: int) -> None:
        """SND_NKE; raises NoAnswerError when nobody acknowledges."""
        return self._call(_Calls.ping(address))

    def set_primary_address(self, meter: Meter, new_address: int) -> None:
        """Write a new primary address (VIF 0x7A) to a meter."""
        return self._call(_Calls.set_primary_address(meter, new_address))

    def reset(self, meter: Meter, subcode: int | None = None) -> None:
        """Application reset (CI 0x50) with an optional subcode."""
        return self._call(_Calls.reset(meter, subcode))

    def set_baud_rate(self, meter: Meter, baud: int) -> None:
        """Switch a meter's baud rate; the master's own rate is not changed."""
        return self._call(_Calls.set_baud_rate(meter, baud))

    def send_records(self, meter: Meter, records: Sequence[Record]) -> None:
        """SND_UD with data records (CI 0x51)."""
        return self._call(_Calls.send_records(meter, records))

    def assign_addresses(self, meters: Iterable[SecondaryAddress],
                         free: Iterable[int] | None = None) -> tuple[Assignment, ...]:
        """Give meters free primary addresses, verified by reading back.

        Returns one :class:`mbus.procedures.Assignment` per meter.
        """
        return self._call(_Calls.assign_addresses(meters, free))

    def close(self) -> None:
        """Close the port (when it has a ``close``)."""
        _close(self.port)

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class AsyncBus:
    """The asyncio twin of :class:`Bus`: the same methods, awaited, one procedure at a time.

    >>> import asyncio, mbus
    >>> from mbus.sim import Segment, SimulatedPort
    >>> meter = mbus.Slave(mbus.SecondaryAddress.parse("1234567824232504"),
    ...                    [[mbus.build_record(0x13, 7)]], primary=3)
    >>> async def read():
    ...     async with mbus.AsyncBus(SimulatedPort(Segment([meter])).awaitable()) as bus:
    ...         return await bus.read(3)
    >>> asyncio.run(read()).telegram.records[0].value
    Decimal('7.000')
    """

    def __init__(self, port: AwaitablePort, *, baud: int = 2400,
                 margin: float = DEFAULT_MARGIN, timeout: float | None = None,
                 retries: int = 2, echo: bool | None = None,
                 on_progress: Callable[[Any], None] | None = None) -> None:
        import asyncio  # here, not at the top: ``import mbus`` stays free of asyncio

        self.port = port
        self.master = Master(baud=baud, margin=margin, timeout=timeout, retries=retries,
                             echo=echo)
        self.on_progress = on_progress
        self._lock = asyncio.Lock()

    async def run(self, procedure: Procedure) -> Any:
        """Run any procedure (one at a time per bus); returns its result."""
        async with self._lock:
            return await run_procedure_async(self.master, procedure, self.port,
                                             self.on_progress)

    async def _call(self, call: _Call[T]) -> T:
        return call.finish(await self.run(call.procedure))

    async def scan_primary(self, addresses: Iterable[int] = range(251), *,
                           verify: bool = False) -> tuple[FoundPrimary, ...]:
        """As :meth:`Bus.scan_primary`."""
        return await self._call(_Calls.scan_primary(addresses, verify))

    async def scan_secondary(self, mask: SecondaryAddress | None = None, *,
                             manufacturer: int | None = None, version: int | None = None,
                             medium: int | None = None, recheck_silence: bool = False
                             ) -> SearchResult:
        """As :meth:`Bus.scan_secondary`."""
        return await self._call(_Calls.scan_secondary(mask, manufacturer, version, medium,
                                                      recheck_silence))

    async def read(self, meter: Meter, *, max_telegrams: int = 16) -> MeterReading:
        """As :meth:`Bus.read`."""
        return await self._call(_Calls.read(meter, max_telegrams))

    async def read_all(self, meters: Iterable[Meter], *,
                       max_telegrams: int = 16) -> tuple[ReadAllEntry, ...]:
        """As :meth:`Bus.read_all`."""
        return await self._call(_Calls.read_all(meters, max_telegrams))

    async def read_class1(self, meter: Meter) -> Telegram | None:
        """As :meth:`Bus.read_class1`."""
        return await self._call(_Calls.read_class1(meter))

    async def ping(self, address: int) -> None:
        """As :meth:`Bus.ping`."""
        return await self._call(_Calls.ping(address))

    async def set_primary_address(self, meter: Meter, new_address: int) -> None:
        """As :meth:`Bus.set_primary_address`."""
        return await self._call(_Calls.set_primary_address(meter, new_address))

    async def reset(self, meter: Meter, subcode: int | None = None) -> None:
        """As :meth:`Bus.reset`."""
        return await self._call(_Calls.reset(meter, subcode))

    async def set_baud_rate(self, meter: Meter, baud: int) -> None:
        """As :meth:`Bus.set_baud_rate`."""
        return await self._call(_Calls.set_baud_rate(meter, baud))

    async def send_records(self, meter: Meter, records: Sequence[Record]) -> None:
        """As :meth:`Bus.send_records`."""
        return await self._call(_Calls.send_records(meter, records))

    async def assign_addresses(self, meters: Iterable[SecondaryAddress],
                               free: Iterable[int] | None = None) -> tuple[Assignment, ...]:
        """As :meth:`Bus.assign_addresses`."""
        return await self._call(_Calls.assign_addresses(meters, free))

    async def close(self) -> None:
        """Close the port (when it has a ``close``; awaited when that returns an awaitable)."""
        closing = _close(self.port)
        if closing is not None:
            await closing

    async def __aenter__(self) -> AsyncBus:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()
