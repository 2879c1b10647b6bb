"""The synchronous bus: a sans-IO :class:`Master` driven over a port.

A port has four methods: ``now()`` (monotonic seconds), ``write(data)``,
``read(deadline)`` (bytes that arrived before ``deadline``, b"" at the
deadline) and ``discard_input()``. :class:`SerialPort` (pyserial) and
:class:`SimulatedPort` (in process, virtual time) are the two shipped here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from ._assign import AssignAddresses
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
from ._segment import Segment
from ._telegram import Telegram
from ._timing import BITS_PER_CHARACTER, DEFAULT_MARGIN

__all__ = ["Bus", "Meter", "Port", "SimulatedPort", "parse_meter", "run_procedure",
           "target_requests"]

log = logging.getLogger(__name__)

Meter = int | SecondaryAddress
T = TypeVar("T")


class Port(Protocol):
    """What the synchronous bus needs from a transport."""

    def now(self) -> float: ...

    def write(self, data: bytes) -> None: ...

    def read(self, deadline: float) -> bytes: ...

    def discard_input(self) -> None: ...


def parse_meter(text: str) -> Meter:
    """``"5"`` -> primary address 5; 16 hex digits (or fewer with F) -> a secondary address."""
    stripped = text.strip()
    if stripped.isdigit() and len(stripped) <= 3:
        return int(stripped)
    return SecondaryAddress.parse(stripped)


def run_procedure(master: Master, procedure: Procedure, port: Port,
                  on_progress: Callable[[Any], None] | None = None) -> Any:
    """Drive ``procedure`` over ``port`` until it finishes; returns its result."""
    master.start(procedure, port.now())
    while True:
        action = master.next_action(port.now())
        if isinstance(action, SendBytes):
            port.discard_input()
            port.write(action.data)
        elif isinstance(action, WaitForData):
            data = port.read(action.deadline)
            if data:
                master.receive_data(data, port.now())
        elif isinstance(action, Progress):
            if on_progress is not None:
                on_progress(action.event)
        else:
            assert isinstance(action, ProcedureFinished)
            return action.result


def target_requests(meter: Meter) -> tuple[list[Any], int, list[int]]:
    """Requests that address ``meter`` for a SND_UD: (prefix, address, optional indexes).

    The prefix resets the slave's frame count first (SND_NKE, or deselection and
    selection), so that the SND_UD is never taken for a repeat of an earlier one.
    """
    if isinstance(meter, SecondaryAddress):
        return [deselect(), select(meter, retry=True)], NETWORK_ADDRESS, [0]
    return [snd_nke(meter)], meter, []


def _raise_error(result: T | BusError) -> T:
    if isinstance(result, BusError):
        raise result
    return result


class SimulatedPort:
    """An in-process port onto a :class:`Segment`, with a virtual clock (no sleeping).

    ``echo`` makes it echo the master's bytes as some level converters do;
    ``tamper(request, answer) -> answer`` lets tests lose or damage answers.
    """

    def __init__(self, segment: Segment, *, echo: bool = False,
                 tamper: Callable[[bytes, bytes], bytes] | None = None) -> None:
        self.segment = segment
        self.echo = echo
        self.tamper = tamper
        self.clock = 0.0
        self.writes = 0
        self._pending = b""

    def now(self) -> float:
        return self.clock

    def _advance(self, size: int) -> None:
        self.clock += size * BITS_PER_CHARACTER / self.segment.baud

    def write(self, data: bytes) -> None:
        self.writes += 1
        self._advance(len(data))
        answer = self.segment.receive_data(data)
        if self.tamper is not None:
            answer = self.tamper(data, answer)
        self._pending += (data if self.echo else b"") + answer

    def read(self, deadline: float) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            self._advance(len(data))
            return data
        self.clock = max(self.clock, deadline)
        self.segment.idle()
        return b""

    def discard_input(self) -> None:
        self._pending = b""


class Bus:
    """A blocking M-Bus master on a port.

    >>> import mbus
    >>> meter = mbus.Slave(mbus.SecondaryAddress.parse("1234567824232504"),
    ...                    [[mbus.build_record(0x13, 7)]], primary=3)
    >>> bus = mbus.Bus(mbus.SimulatedPort(mbus.Segment([meter])))
    >>> bus.scan_primary()
    (FoundPrimary(primary=3, collision=False),)
    >>> bus.read(3).telegram.records[0].value
    Decimal('7.000')
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

    def scan_primary(self, addresses: Iterable[int] = range(251), *,
                     verify: bool = False) -> tuple[FoundPrimary, ...]:
        """Probe primary addresses; returns the ones that answered."""
        result: tuple[FoundPrimary, ...] = self.run(PrimaryScan(addresses, verify=verify))
        return result

    def scan_secondary(self, mask: SecondaryAddress | None = None, *,
                       manufacturer: int | None = None, version: int | None = None,
                       medium: int | None = None, recheck_silence: bool = False
                       ) -> SearchResult:
        """Find every meter by secondary address (optionally under a mask or filters).

        ``recheck_silence`` repeats unanswered selections, for noisy buses.
        """
        result: SearchResult = self.run(SecondarySearch(
            mask, manufacturer=manufacturer, version=version, medium=medium,
            recheck_silence=recheck_silence))
        return result

    def read(self, meter: Meter, *, max_telegrams: int = 16) -> MeterReading:
        """Multi-telegram read; raises NoAnswerError, NoMeterError or CollisionError."""
        result: MeterReading = _raise_error(self.run(ReadMeter(meter,
                                                               max_telegrams=max_telegrams)))
        return result

    def read_all(self, meters: Iterable[Meter], *,
                 max_telegrams: int = 16) -> tuple[ReadAllEntry, ...]:
        """Read each meter; every entry holds its reading or its error."""
        result: tuple[ReadAllEntry, ...] = self.run(ReadAll(meters,
                                                            max_telegrams=max_telegrams))
        return result

    def _exchange(self, meter: Meter, build: Callable[[int], Any], what: str) -> None:
        prefix, address, optional = target_requests(meter)
        _raise_error(self.run(Exchange([*prefix, build(address)], what=what,
                                       optional=optional)))

    def read_class1(self, meter: Meter) -> Telegram | None:
        """REQ_UD1 (class 1 data, alarms): the telegram, or None when the meter answers E5."""
        prefix, address, optional = target_requests(meter)
        answers = _raise_error(self.run(Exchange([*prefix, req_ud1(address)], what="REQ_UD1",
                                                 optional=optional)))
        last = answers[-1]
        return None if last is None or last.is_ack else last.telegram

    def ping(self, address: int) -> None:
        """SND_NKE; raises NoAnswerError when nobody acknowledges."""
        _raise_error(self.run(Exchange([snd_nke(address)], what="ping")))

    def set_primary_address(self, meter: Meter, new_address: int) -> None:
        """Write a new primary address (VIF 0x7A) to a meter."""
        self._exchange(meter, lambda a: set_primary_address(a, new_address), "set address")

    def reset(self, meter: Meter, subcode: int | None = None) -> None:
        """Application reset (CI 0x50) with an optional subcode."""
        self._exchange(meter, lambda a: application_reset(a, subcode), "reset")

    def set_baud_rate(self, meter: Meter, baud: int) -> None:
        """Switch a meter's baud rate; the master's own rate is not changed."""
        self._exchange(meter, lambda a: set_baud_rate(a, baud), "baud rate")

    def send_records(self, meter: Meter, records: Sequence[Record]) -> None:
        """SND_UD with data records (CI 0x51)."""
        self._exchange(meter, lambda a: snd_ud(a, tuple(records)), "send data")

    def assign_addresses(self, meters: Iterable[SecondaryAddress], free: Iterable[int] | None
                         = None) -> Any:
        """Give meters free primary addresses, verified by reading back.

        Returns a tuple of :class:`mbus.Assignment` (see :class:`mbus.AssignAddresses`).
        """
        return self.run(AssignAddresses(meters, free=free))
