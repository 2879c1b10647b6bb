"""The poller: reads many devices' maps, cycle after cycle, over asyncio and pymodbus.

Devices that share a URL share its connection and are read one after the other: a
Modbus TCP gateway in front of several unit ids, or an RTU line (where the poller keeps
the inter-frame gap between devices). Different URLs are read in parallel, at most
``concurrency`` at a time, so a device that does not answer delays only the devices
behind the same URL, and those by at most its timeout and retries.

Each device's plan is kept from cycle to cycle (what splitting learnt stays learnt), and
each cycle reports every device's :class:`~modbus.DeviceStatus` (``on_status``: for a
communications alarm) and readings (``on_readings``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from profiles import PointReading

from ._client import DeviceRead, DeviceStatus, ModbusClient
from ._map import RegisterMap
from ._plan import ReadRequest
from ._url import DeviceUrl, parse_url

__all__ = ["Device", "PollCycle", "Poller"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """One device to poll.

    Attributes:
        name: the device's name; its readings' points are ``name.point``.
        url: ``tcp://host:port``, ``rtu:///dev/ttyUSB0?...`` or a pyserial URL.
        map: its register map.
        unit_id: its unit id (default: the map's).
        points: the point names to read (default: all).
        timeout: seconds to wait for each answer.
        retries: how often a request without answer is sent again.

    Devices that share a URL share its connection, and with it the ``timeout`` and
    ``retries`` of the first of them.
    """

    name: str
    url: str
    map: RegisterMap
    unit_id: int | None = None
    points: tuple[str, ...] | None = None
    timeout: float = 1.0
    retries: int = 1


@dataclass(frozen=True, slots=True)
class PollCycle:
    """The result of one cycle over all devices: ``results`` by device name, in the
    order of the devices given, and the number of requests sent."""

    results: dict[str, DeviceRead]
    requests: int

    @property
    def readings(self) -> list[PointReading]:
        """All readings of the cycle."""
        return [reading for result in self.results.values() for reading in result.readings]


class Poller:
    """Polls ``devices`` (see the module text).

    Args:
        devices: the devices; names must be unique.
        concurrency: how many URLs (connections) are read at the same time.
        on_readings: called with each device's readings as soon as it is read.
        on_status: called with each device's status as soon as it is read.

    Poll with ``await poller.poll()`` (one cycle) or ``await poller.run(interval)``; call
    :meth:`close` when done.
    """

    def __init__(
        self,
        devices: Iterable[Device],
        *,
        concurrency: int = 32,
        on_readings: Callable[[Sequence[PointReading]], object] | None = None,
        on_status: Callable[[DeviceStatus], object] | None = None,
    ) -> None:
        self.devices = tuple(devices)
        names = [device.name for device in self.devices]
        if len(set(names)) != len(names):
            raise ValueError("device names must be unique")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.on_readings = on_readings
        self.on_status = on_status
        self._lines: dict[str, list[Device]] = {}
        self._urls: dict[str, DeviceUrl] = {}
        for device in self.devices:
            url = parse_url(device.url)
            self._urls[str(url)] = url
            self._lines.setdefault(str(url), []).append(device)
        self._clients: dict[str, ModbusClient] = {}
        self._plans: dict[str, tuple[ReadRequest, ...]] = {}

    async def poll(self, time: datetime | None = None) -> PollCycle:
        """Read every device once; the readings' time is ``time`` (default: now, UTC,
        when each device was read)."""
        gate = asyncio.Semaphore(self.concurrency)
        results: dict[str, DeviceRead] = {}

        async def line(key: str, devices: list[Device]) -> None:
            async with gate:
                url = self._urls[key]
                for index, device in enumerate(devices):
                    if index and url.kind == "rtu":
                        await asyncio.sleep(url.frame_gap)
                    results[device.name] = await self._read(key, device, time)

        await asyncio.gather(*(line(key, devices) for key, devices in self._lines.items()))
        ordered = {device.name: results[device.name] for device in self.devices}
        return PollCycle(ordered, sum(result.requests for result in ordered.values()))

    async def _read(self, key: str, device: Device, time: datetime | None) -> DeviceRead:
        client = self._clients.get(key)
        if client is None:
            client = ModbusClient(self._urls[key], timeout=device.timeout,
                                  retries=device.retries, name=key)
            self._clients[key] = client
        result = await client.read_map(
            device.map, unit_id=device.unit_id, plan=self._plans.get(device.name),
            points=device.points, prefix=f"{device.name}.",
            time=time or datetime.now(timezone.utc))
        status = DeviceStatus(device=device.name, state=result.status.state,
                              time=result.status.time,
                              exception_code=result.status.exception_code,
                              message=result.status.message)
        result = DeviceRead(readings=result.readings, status=status, plan=result.plan,
                            requests=result.requests)
        self._plans[device.name] = result.plan
        if self.on_status is not None:
            self.on_status(status)
        if self.on_readings is not None:
            self.on_readings(result.readings)
        return result

    async def run(self, interval: float, *, cycles: int | None = None) -> None:
        """Poll every ``interval`` seconds (measured start to start; a cycle that takes
        longer is followed at once by the next), ``cycles`` times or until cancelled."""
        loop = asyncio.get_running_loop()
        count = 0
        try:
            while cycles is None or count < cycles:
                started = loop.time()
                await self.poll()
                count += 1
                await asyncio.sleep(max(0.0, started + interval - loop.time()))
        finally:
            self.close()

    def close(self) -> None:
        """Close every connection."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
