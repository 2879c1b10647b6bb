"""The client (master) adapter: reads and writes over pymodbus, driven by the sans-IO
:class:`~modbus.ReadCycle`.

pymodbus is imported here only (``pip install 'meterkit[modbus]'``); without it,
:class:`ModbusClient` raises :class:`~modbus.MissingDependencyError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

from profiles import PointReading

from ._codec import encode_point, scale_exponent
from ._cycle import ReadCycle
from ._errors import (
    EXCEPTION_NAMES,
    CommunicationError,
    DeviceException,
    EncodeError,
    MissingDependencyError,
    ProtocolError,
)
from ._map import BIT_TABLES, RegisterMap
from ._plan import ReadRequest
from ._url import DeviceUrl, parse_url

__all__ = ["DEVICE_STATES", "DeviceRead", "DeviceStatus", "ModbusClient", "read_device"]

_log = logging.getLogger(__name__)

DEVICE_STATES = ("ok", "exception", "timeout", "unreachable", "garbled")
"""A device's state after a poll: every read answered (``ok``), some refused with an
exception response (``exception``), no answer in time (``timeout``), no connection
(``unreachable``), or answers that made no sense (``garbled``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStatus:
    """How a device answered one poll (for a communications alarm).

    Attributes:
        device: the device's name.
        state: one of :data:`DEVICE_STATES`.
        time: when the poll ended.
        exception_code: the first exception code the device answered, if any.
        message: what went wrong, empty when ``ok``.
    """

    device: str
    state: str
    time: datetime
    exception_code: int | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for JSON."""
        return {"device": self.device, "state": self.state,
                "time": self.time.isoformat().replace("+00:00", "Z"),
                "exception_code": self.exception_code, "message": self.message}


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRead:
    """The result of reading a device's map once.

    Attributes:
        readings: one :class:`profiles.PointReading` per point (failed ones without a
            value, quality ``comm_failure``).
        status: how the device answered.
        plan: the reads as they turned out; pass it to the next read of the same device
            to keep what splitting learnt.
        requests: how many requests were sent.
    """

    readings: tuple[PointReading, ...]
    status: DeviceStatus
    plan: tuple[ReadRequest, ...]
    requests: int


def _pymodbus() -> Any:
    try:
        import pymodbus.client
        import pymodbus.exceptions
    except ImportError:
        raise MissingDependencyError(
            "Modbus needs pymodbus: pip install 'meterkit[modbus]'", field="pymodbus"
        ) from None
    return pymodbus


class ModbusClient:
    """One connection to a Modbus TCP device (or gateway) or to an RTU line, over pymodbus.

    Args:
        url: ``tcp://host:port``, ``rtu:///dev/ttyUSB0?baudrate=9600&parity=E`` or a
            pyserial URL (``socket://host:port`` carries RTU frames over TCP).
        timeout: seconds to wait for each answer.
        retries: how often a request without answer is sent again.
        name: the device's name in statuses (default: the URL).

    Use as an async context manager, or call :meth:`connect` and :meth:`close`.

    Raises:
        UrlError: a malformed URL.
        MissingDependencyError: pymodbus (or, for RTU, pyserial) is not installed.
    """

    def __init__(self, url: str | DeviceUrl, *, timeout: float = 1.0, retries: int = 1,
                 name: str | None = None) -> None:
        self.url = url if isinstance(url, DeviceUrl) else parse_url(url)
        self.name = name or str(self.url)
        self.timeout = timeout
        self.retries = retries
        pymodbus = _pymodbus()
        self._exceptions = pymodbus.exceptions.ModbusException
        if self.url.kind == "rtu":
            try:
                import serial  # noqa: F401  (pymodbus' serial client needs it)
            except ImportError:
                raise MissingDependencyError(
                    "RTU needs pyserial: pip install 'meterkit[serial]'", field="pyserial"
                ) from None
        self._pymodbus_client: Any = None

    @property
    def _client(self) -> Any:
        # pymodbus binds its client to the running event loop: made at first use.
        if self._pymodbus_client is None:
            pymodbus = _pymodbus()
            common: dict[str, Any] = {"timeout": self.timeout, "retries": self.retries,
                                      "reconnect_delay": 0}
            if self.url.kind == "tcp":
                self._pymodbus_client = pymodbus.client.AsyncModbusTcpClient(
                    self.url.host, port=self.url.port, **common)
            else:
                self._pymodbus_client = pymodbus.client.AsyncModbusSerialClient(
                    self.url.serial, baudrate=self.url.baudrate, parity=self.url.parity,
                    stopbits=self.url.stopbits, bytesize=self.url.bytesize, **common)
        return self._pymodbus_client

    async def __aenter__(self) -> ModbusClient:
        await self.connect()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """Whether the connection is open."""
        return self._pymodbus_client is not None and bool(self._pymodbus_client.connected)

    async def connect(self) -> None:
        """Open the connection.

        Raises:
            CommunicationError: the device cannot be reached.
        """
        if self.connected:
            return
        if not await self._client.connect():
            raise CommunicationError(f"cannot connect to {self.url}", field=self.name)

    def close(self) -> None:
        """Close the connection (a later read connects again)."""
        if self._pymodbus_client is not None:
            self._pymodbus_client.close()

    async def read(self, request: ReadRequest, unit_id: int) -> list[int] | list[bool]:
        """Send one read and return the registers (or bits) of the answer.

        Raises:
            DeviceException: the device answered with an exception response.
            CommunicationError: no answer (timeout, connection lost).
            ProtocolError: an answer of the wrong function or length.
        """
        client = self._client
        method = {
            "coil": client.read_coils,
            "discrete": client.read_discrete_inputs,
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
        }[request.table]
        await self.connect()
        try:
            response = await method(request.address, count=request.count, device_id=unit_id)
        except self._exceptions as exc:
            raise CommunicationError(f"no answer from unit {unit_id}: {exc}",
                                     field=self.name) from None
        if response.isError():
            code = getattr(response, "exception_code", 0)
            raise DeviceException(code=code, function=request.function,
                                  address=request.address, unit_id=unit_id)
        if response.function_code != request.function:
            raise ProtocolError(
                f"answer of function {response.function_code} to a request of function "
                f"{request.function}", field=self.name)
        values: list[int] | list[bool] = (
            list(response.bits) if request.table in BIT_TABLES else list(response.registers))
        if len(values) < request.count or (
            request.table not in BIT_TABLES and len(values) != request.count
        ):
            raise ProtocolError(f"{len(values)} values in the answer to a read of "
                                f"{request.count}", field=self.name)
        return values

    async def read_map(
        self,
        register_map: RegisterMap,
        *,
        unit_id: int | None = None,
        plan: Sequence[ReadRequest] | None = None,
        points: Sequence[str] | None = None,
        prefix: str = "",
        time: datetime | None = None,
    ) -> DeviceRead:
        """Read the points of ``register_map`` (all, or those named in ``points``) in as
        few requests as the map allows.

        A read the device refuses with "illegal data address" is split and retried in
        parts; when the device stops answering, the reads not sent yet are given up.
        Communication failures do not raise: they are in the result's ``status`` and in
        the readings' quality.

        Args:
            unit_id: the device's unit id (default: the map's).
            plan: the previous result's ``plan`` (keeps what splitting learnt).
            prefix: put before each point name in the readings (``"meter7."``).
            time: the readings' time (default: now, UTC).
        """
        unit = register_map.unit_id if unit_id is None else unit_id
        cycle = ReadCycle(register_map, plan, points)
        state, code, sent = "ok", None, 0
        while (request := cycle.next_request()) is not None:
            sent += 1
            try:
                contents = await self.read(request, unit)
            except DeviceException as exc:
                if not cycle.refused(request, exc.code) and code is None:
                    state, code = "exception", exc.code
                continue
            except CommunicationError as exc:
                cycle.failed(request, exc.message)
                state = "unreachable" if not self.connected else "timeout"
                cycle.abandon("not sent: the device did not answer")
                break
            except ProtocolError as exc:
                cycle.failed(request, exc.message)
                state = "garbled"
                continue
            cycle.answered(request, contents)
        if state != "ok":
            _log.debug("%s unit %d: %s: %s", self.name, unit, state, "; ".join(cycle.errors))
        when = time or datetime.now(timezone.utc)
        # A device that did not answer: the first failure says why; the rest were not sent.
        errors = cycle.errors[:1] if state in ("timeout", "unreachable") else cycle.errors
        message = "; ".join(errors)
        if state == "exception" and code is not None:
            message = f"exception {code} ({EXCEPTION_NAMES.get(code, 'unknown')}): {message}"
        status = DeviceStatus(device=self.name, state=state, time=when, exception_code=code,
                              message=message)
        return DeviceRead(readings=tuple(cycle.readings(when, prefix=prefix)), status=status,
                          plan=cycle.plan, requests=sent)

    async def write_point(self, register_map: RegisterMap, name: str, value: object, *,
                          unit_id: int | None = None) -> None:
        """Write one writable point (coil or holding registers).

        Raises:
            EncodeError: the point is not writable or the value does not fit.
            DeviceException, CommunicationError: as for :meth:`read`.
        """
        point = register_map.point(name)
        unit = register_map.unit_id if unit_id is None else unit_id
        if not point.writable:
            raise EncodeError("the map does not mark this point writable", field=name)
        exponent = None
        if point.scale_point is not None:
            scale = register_map.point(point.scale_point)
            request = ReadRequest(scale.table, scale.address, scale.count, (scale.name,))
            exponent = scale_exponent(scale, [int(v) for v in await self.read(request, unit)])
        registers = encode_point(point, value, exponent=exponent)
        await self.connect()
        client = self._client
        try:
            if point.table == "coil":
                response = await client.write_coil(point.address, bool(registers[0]),
                                                   device_id=unit)
            elif point.type == "bit":
                mask = 1 << point.bit
                response = await client.mask_write_register(
                    address=point.address, and_mask=0xFFFF ^ mask, or_mask=registers[0] & mask,
                    device_id=unit)
            else:
                response = await client.write_registers(point.address, list(registers),
                                                        device_id=unit)
        except self._exceptions as exc:
            raise CommunicationError(f"no answer from unit {unit}: {exc}",
                                     field=self.name) from None
        if response.isError():
            raise DeviceException(code=getattr(response, "exception_code", 0),
                                  function=response.function_code & 0x7F,
                                  address=point.address, unit_id=unit)

    async def answers(self, unit_id: int, request: ReadRequest) -> bool:
        """Whether ``unit_id`` answers ``request`` at all (an exception response counts:
        the unit is there). Used by ``modbus scan``."""
        try:
            await self.read(request, unit_id)
        except DeviceException as exc:
            # 10/11: a gateway saying that nobody answered behind it.
            return exc.code not in (10, 11)
        except (CommunicationError, ProtocolError):
            return False
        return True


def read_device(url: str, register_map: RegisterMap, *, unit_id: int | None = None,
                timeout: float = 1.0, retries: int = 1) -> DeviceRead:
    """Read a device's map once (a blocking convenience over :class:`ModbusClient`;
    not for use inside a running event loop)."""

    async def run() -> DeviceRead:
        client = ModbusClient(url, timeout=timeout, retries=retries)
        try:
            return await client.read_map(register_map, unit_id=unit_id)
        finally:
            client.close()

    return asyncio.run(run())

