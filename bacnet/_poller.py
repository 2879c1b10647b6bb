"""The poller: configured points of many devices into meterkit readings.

Per device, points are read with ReadPropertyMultiple in groups (ReadProperty where the
device refuses it); points whose device supports SubscribeCOV are subscribed instead
and reported as notifications arrive. Each device has a communication state
(:class:`~bacnet.DeviceStatus`) handed to ``on_status`` when it changes; while a device
is failed its points are reported with quality ``comm_failure``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from profiles import PointReading

from ._client import BacnetClient
from ._errors import BacnetError, ConfigurationError, DeviceTimeout, RequestError
from ._health import DeviceHealth, DeviceStatus, comm_failure, reading_from_value
from ._points import PointList, PointSpec
from ._values import plain

from bacpypes3.apdu import ErrorRejectAbortNack  # isort: skip
from bacpypes3.basetypes import ServicesSupported
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier

__all__ = ["Poller"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Device:
    points: PointList
    address: str
    health: DeviceHealth
    rpm: bool = True
    cov_points: set[str] = field(default_factory=set)
    flags: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


class Poller:
    """Read the points of ``point_lists`` (one list per device, ``[device] address`` set).

    Args:
        client: a started :class:`~bacnet.BacnetClient`.
        on_reading: called with each :class:`profiles.PointReading`.
        on_status: called with each change of a device's communication state.
        use_cov: subscribe to COV where the device supports it (present-value points).
        cov_lifetime: subscription lifetime, seconds (bacpypes3 renews before it ends).
        group: objects per ReadPropertyMultiple request.
        failures_to_fail: failed requests in a row before a device counts as failed.
    """

    def __init__(self, client: BacnetClient, point_lists: Sequence[PointList], *,
                 on_reading: Callable[[PointReading], None],
                 on_status: Callable[[DeviceStatus], None] | None = None,
                 use_cov: bool = True, cov_lifetime: int = 300, group: int = 20,
                 failures_to_fail: int = 1) -> None:
        self.client = client
        self.on_reading = on_reading
        self.on_status = on_status
        self.use_cov = use_cov
        self.cov_lifetime = cov_lifetime
        self.group = max(1, group)
        self.devices: list[_Device] = []
        for points in point_lists:
            address = points.device.address
            if address is None:
                raise ConfigurationError(f"point list {points.name!r}: [device] address is "
                                         f"needed to poll it")
            name = points.device.name or points.name
            self.devices.append(_Device(points=points, address=address, health=DeviceHealth(
                name, address, failures_to_fail=failures_to_fail)))
        self._subscriptions: list[asyncio.Task[None]] = []

    # --- polling -------------------------------------------------------------------------

    async def poll_once(self, now: datetime | None = None) -> list[PointReading]:
        """Read every point not covered by a COV subscription, devices in parallel; the
        readings are also handed to ``on_reading``."""
        now = now or datetime.now(timezone.utc)
        results = await asyncio.gather(*(self._poll_device(d, now) for d in self.devices))
        readings = [reading for device_readings in results for reading in device_readings]
        for reading in readings:
            self.on_reading(reading)
        return readings

    async def _poll_device(self, device: _Device, now: datetime) -> list[PointReading]:
        points = [p for p in device.points.points if p.point not in device.cov_points]
        readings: list[PointReading] = []
        try:
            for start in range(0, len(points), self.group):
                chunk = points[start:start + self.group]
                readings += await self._read_chunk(device, chunk, now)
        except DeviceTimeout as error:
            self._status(device.health.failed(str(error)))
            return [comm_failure(p, now) for p in points]
        self._status(device.health.answered(now))
        return readings

    async def _read_chunk(self, device: _Device, chunk: list[PointSpec], now: datetime
                          ) -> list[PointReading]:
        if device.rpm:
            try:
                result = await self.client.read_multiple(
                    device.address, [(_object(p), _properties(p)) for p in chunk])
            except RequestError as error:
                # no RPM at all; or one object of the group is refused (bacpypes3 refuses
                # the whole request then): read this group property by property
                if "unrecognized-service" in error.reason:
                    device.rpm = False
            else:
                return [reading_from_value(
                    p, result.get(_object(p), {}).get(p.property_name, {"error": "missing"}),
                    result.get(_object(p), {}).get("status-flags"), now) for p in chunk]
        readings = []
        for spec in chunk:
            try:
                value = await self.client.read(device.address, _object(spec), spec.property_name)
            except RequestError as error:
                value = {"error": error.reason}
            flags = None
            if spec.property_name == "present-value":
                with contextlib.suppress(RequestError):
                    flags = await self.client.read(device.address, _object(spec), "status-flags")
            readings.append(reading_from_value(spec, value, flags, now))
        return readings

    def _status(self, status: DeviceStatus | None) -> None:
        if status is not None and self.on_status is not None:
            self.on_status(status)

    # --- COV -----------------------------------------------------------------------------

    async def subscribe(self) -> int:
        """Subscribe to COV for the present-value points of devices that support
        SubscribeCOV; returns how many subscriptions started."""
        if not self.use_cov:
            return 0
        started = 0
        bit = ServicesSupported._bitstring_names["subscribe-cov"]
        for device in self.devices:
            instance = device.points.device.instance
            if instance is None:
                continue
            try:
                services = await self.client.read(device.address, f"device,{instance}",
                                                  "protocol-services-supported")
            except BacnetError as error:
                log.info("%s: no COV (%s)", device.address, error)
                continue
            if not (isinstance(services, list) and len(services) > bit and services[bit]):
                continue
            for process, spec in enumerate(device.points.points, start=1):
                if spec.property_name != "present-value":
                    continue
                ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
                task = asyncio.ensure_future(self._follow(device, spec, process, ready))
                self._subscriptions.append(task)
                if await ready:
                    device.cov_points.add(spec.point)
                    started += 1
        return started

    async def _follow(self, device: _Device, spec: PointSpec, process: int,
                      ready: asyncio.Future[bool]) -> None:
        app = self.client._app()
        try:
            async with app.change_of_value(Address(device.address),
                                           ObjectIdentifier(_object(spec)), process, False,
                                           self.cov_lifetime) as subscription:
                ready.set_result(True)
                while True:
                    self._take(device, spec, *await subscription.get_value())
                    # the other values of the same notification are queued already: one
                    # reading per notification
                    while not subscription.queue.empty():
                        self._take(device, spec, *await subscription.get_value())
                    if spec.point in device.values:
                        self.on_reading(reading_from_value(
                            spec, device.values[spec.point], device.flags.get(spec.point),
                            datetime.now(timezone.utc)))
        except (Exception, ErrorRejectAbortNack) as error:
            # a refused or lost subscription: the point is polled again
            if not ready.done():
                ready.set_result(False)
            device.cov_points.discard(spec.point)
            log.info("%s %s: COV ended (%s), polling it", device.address, spec.point, error)
        finally:
            if not ready.done():  # cancelled before the subscription was answered
                ready.set_result(False)

    @staticmethod
    def _take(device: _Device, spec: PointSpec, prop: Any, value: Any) -> None:
        name = str(prop)
        if name == "status-flags":
            device.flags[spec.point] = plain(value)
        elif name == "present-value":
            device.values[spec.point] = plain(value)

    async def run(self, interval: float, stop: asyncio.Event | None = None) -> None:
        """Subscribe, then poll every ``interval`` seconds until ``stop`` is set."""
        stop = stop or asyncio.Event()
        await self.subscribe()
        try:
            while not stop.is_set():
                await self.poll_once()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
        finally:
            await self.close()

    async def close(self) -> None:
        """End the COV subscriptions."""
        for task in self._subscriptions:
            task.cancel()
        for task in self._subscriptions:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._subscriptions.clear()


def _object(spec: PointSpec) -> str:
    return f"{spec.object_type},{spec.instance}"


def _properties(spec: PointSpec) -> list[str]:
    if spec.property_name == "present-value":
        return ["present-value", "status-flags"]
    return [spec.property_name]
