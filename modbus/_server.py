"""The server (slave) adapter: a :class:`~modbus.RegisterImage` published over pymodbus.

pymodbus' server answers the protocol; its device ``action`` hook hands every request to
the image: reads are filled from the image (under its lock, so per point atomically),
writes are checked by it. Sessions beyond ``max_sessions`` are closed as soon as they
are accepted.

pymodbus is imported here only (``pip install 'meterkit[modbus]'``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from profiles import PointReading, Reading

from ._client import _pymodbus
from ._errors import CommunicationError, MissingDependencyError
from ._image import RegisterImage
from ._map import BIT_TABLES, RegisterMap
from ._url import DeviceUrl, parse_url

__all__ = ["ModbusServer"]

_log = logging.getLogger(__name__)

# Function code -> table, for the codes the server answers.
_TABLE_OF = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 3: "holding", 6: "holding",
             16: "holding", 22: "holding", 23: "holding", 4: "input"}
_WRITES = {5, 6, 15, 16, 22, 23}


class ModbusServer:
    """Publishes readings in a register map over Modbus TCP (or RTU).

    Feed it :class:`profiles.Reading` objects (:meth:`update`, :meth:`update_many`) from
    any thread or task; clients read them by the map's addresses. Writes by clients to
    writable points are checked against the map and handed to ``on_write``.

    Args:
        register_map: what to publish where (scale points are not allowed: fixed scales).
        listen: ``(host, port)`` to listen on (port 0: any free port, see :attr:`port`).
        serial: instead of TCP, an RTU line: ``rtu:///dev/ttyS0?baudrate=9600&parity=E``.
        framing: ``"tcp"`` (MBAP, default) or ``"rtu"`` (RTU frames over TCP).
        unit_id: answer only this unit id (default on TCP: any; on RTU: the map's). Over
            TCP other unit ids get exception 11 (gateway target device failed to respond);
            on an RTU line no answer.
        max_sessions: parallel TCP sessions; the next one is closed at once (default 8).
        bad_quality: ``"exception"`` (exception 11), ``"no_value"`` (NaN, 0x8000, ...)
            or ``"last_value"``: what a point of bad quality answers (see
            :class:`~modbus.RegisterImage`).
        stale_after: seconds without update after which a point is stale.
        on_write: called with each reading a client wrote (in the server's event loop).

    Use ``async with ModbusServer(...) as server:`` or :meth:`start` / :meth:`stop`; it
    must be started inside a running event loop (pymodbus' server is asyncio).
    """

    def __init__(
        self,
        register_map: RegisterMap,
        *,
        listen: tuple[str, int] = ("127.0.0.1", 502),
        serial: str | None = None,
        framing: str = "tcp",
        unit_id: int | None = None,
        max_sessions: int = 8,
        bad_quality: str = "exception",
        stale_after: float | None = None,
        on_write: Callable[[PointReading], object] | None = None,
    ) -> None:
        if framing not in ("tcp", "rtu"):
            raise ValueError("framing is 'tcp' or 'rtu'")
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self.image = RegisterImage(register_map, bad_quality=bad_quality,
                                   stale_after=stale_after)
        self.map = register_map
        self.listen = listen
        self.serial: DeviceUrl | None = parse_url(serial) if serial else None
        self.framing = framing
        self.unit_id = unit_id
        self.max_sessions = max_sessions
        self.on_write = on_write
        # An RTU slave has one address: the given one, else the map's.
        self._unit = register_map.unit_id if unit_id is None else unit_id
        self.refused_sessions = 0
        """How many sessions were closed because ``max_sessions`` were open."""
        self._server: Any = None
        _pymodbus()  # the typed error now, not at start()

    # -- feeding ---------------------------------------------------------------------------

    def update(self, reading: Reading) -> bool:
        """Publish one reading (atomically); False when the map has no such point."""
        return self.image.update(reading, now=time.monotonic())

    def update_many(self, readings: Iterable[Reading]) -> int:
        """Publish readings; returns how many the map has points for."""
        return self.image.update_many(readings, now=time.monotonic())

    # -- running ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port listened on (useful with port 0)."""
        if self._server is None or self._server.transport is None or self.serial:
            raise CommunicationError("the server is not running")
        port: int = self._server.transport.sockets[0].getsockname()[1]
        return port

    @property
    def sessions(self) -> int:
        """How many TCP sessions are open."""
        return 0 if self._server is None else len(self._server.active_connections)

    async def start(self) -> None:
        """Start listening (returns once the server accepts connections).

        Raises:
            CommunicationError: the address cannot be listened on.
        """
        from pymodbus.framer import FramerType
        from pymodbus.server import ModbusSerialServer, ModbusTcpServer

        device = self._device()
        if self.serial is not None:
            try:
                import serial  # noqa: F401  (pymodbus' serial server needs it)
            except ImportError:
                raise MissingDependencyError(
                    "RTU needs pyserial: pip install 'meterkit[serial]'", field="pyserial"
                ) from None
            url = self.serial
            unit = self._unit

            def ours_only(sending: bool, pdu: Any) -> Any:
                # On a shared RTU line a slave stays silent for other addresses (pymodbus
                # would answer them with exception 4): a request whose PDU is dropped here
                # is not handled and gets no answer.
                return pdu if sending or pdu.dev_id == unit else None

            self._server = ModbusSerialServer(
                [device], framer=FramerType.RTU, port=url.serial, baudrate=url.baudrate,
                parity=url.parity, stopbits=url.stopbits, bytesize=url.bytesize,
                trace_pdu=ours_only)
        else:
            limit = self.max_sessions
            owner = self

            class LimitedServer(ModbusTcpServer):
                def callback_new_connection(self) -> Any:
                    handler = super().callback_new_connection()  # type: ignore[no-untyped-call]
                    if len(self.active_connections) >= limit:
                        owner.refused_sessions += 1
                        _log.warning("a session refused: %d sessions are open", limit)
                        handler.callback_connected = handler.close
                    return handler

            framer = FramerType.RTU if self.framing == "rtu" else FramerType.SOCKET
            devices = [device]
            if self.unit_id is not None:
                devices.append(self._others())
            self._server = LimitedServer(devices, address=self.listen, framer=framer)
        try:
            await self._server.serve_forever(background=True)
        except RuntimeError as exc:
            self._server = None
            raise CommunicationError(f"cannot listen: {exc}", field=str(self.listen)) from None

    async def stop(self) -> None:
        """Stop listening and close every session."""
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def __aenter__(self) -> ModbusServer:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.stop()

    # -- the pymodbus side -----------------------------------------------------------------

    def _device(self) -> Any:
        from pymodbus.simulator import DataType, SimData, SimDevice

        blocks: list[list[Any]] = []
        for table in ("coil", "discrete", "holding", "input"):
            span = self.image.spans.get(table)
            if table in BIT_TABLES:
                first, count = span if span else (0, 1)
                # Bit blocks start on a multiple of 16 (pymodbus packs bits in registers).
                start = first - first % 16
                blocks.append([SimData(start, values=[False] * (first - start + count),
                                       datatype=DataType.BITS)])
            else:
                first, count = span if span else (0, 1)
                blocks.append([SimData(first, values=[0] * count, datatype=DataType.REGISTERS)])
        return SimDevice(id=self._unit if self.serial or self.unit_id is not None else 0,
                         simdata=(blocks[0], blocks[1], blocks[2], blocks[3]),
                         action=self._action)

    def _others(self) -> Any:
        # Every other unit id: exception 11, as a gateway says that nobody answered.
        from pymodbus.constants import ExcCodes
        from pymodbus.simulator import DataType, SimData, SimDevice

        async def nobody(*_: Any) -> Any:
            return ExcCodes.GATEWAY_NO_RESPONSE

        bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
        words = [SimData(0, count=0x10000, values=0, datatype=DataType.REGISTERS)]
        return SimDevice(id=0, simdata=(bits, list(bits), words, list(words)), action=nobody)

    async def _action(self, function: int, start: int, address: int, count: int,
                      registers: list[int], values: Any) -> Any:
        from pymodbus.constants import ExcCodes

        table = _TABLE_OF.get(function)
        if table is None or table not in self.image.spans:
            return ExcCodes.ILLEGAL_ADDRESS if table else ExcCodes.ILLEGAL_FUNCTION
        now = time.monotonic()
        if function in _WRITES and values:
            written = [int(v) for v in values]
            result = self.image.write(table, address, written, now=now)
            if result.exception is not None:
                return ExcCodes(result.exception)
            for reading in result.readings:
                _log.info("a client wrote %s = %s", reading.point, reading.value)
                if self.on_write is not None:
                    self.on_write(reading)
            return None
        if table in BIT_TABLES:
            # pymodbus hands over the registers that hold the bits (not the bit count):
            # the first bit must be mapped; the registers are filled whole.
            span_first, span_count = self.image.spans[table]
            if not span_first <= address < span_first + span_count:
                return ExcCodes.ILLEGAL_ADDRESS
            first_bit = (address // 16) * 16
            low = max(first_bit, span_first)
            high = min(first_bit + 16 * count, span_first + span_count)
            bits = self.image.read(table, low, high - low, now=now)
            if isinstance(bits, int):
                return ExcCodes(bits)
            offset = address // 16 - start
            words = [0] * count
            for index, bit in enumerate(bits):
                position = low + index - first_bit
                if bit:
                    words[position // 16] |= 1 << (position % 16)
            registers[offset : offset + count] = words
            return None
        contents = self.image.read(table, address, count, now=now)
        if isinstance(contents, int):
            return ExcCodes(contents)
        registers[address - start : address - start + count] = contents
        return None



