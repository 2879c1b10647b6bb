"""The poller: configured points of many devices into meterkit readings.

Per device, points are read with ReadPropertyMultiple in groups (ReadProperty where the
device refuses it); points whose device supports SubscribeCOV are subscribed instead
and reported as notifications arrive (a device whose points are all subscribed is still
asked for its system-status at each poll, so that its failure is noticed). Each device
has a communication state (:class:`~bacnet.DeviceStatus`) handed to ``on_status`` when
it changes; while a device is failed its points are reported with quality
``comm_failure``.

Subscriptions follow the device's life: a device that did not answer when
:meth:`Poller.subscribe` ran is subscribed at the first poll it answers; a device that
fails loses its subscriptions (a restarted device has forgotten them) and is subscribed
again at the first poll it answers after the failure; a subscription whose renewal is
refused or lost ends, its point is polled, and it is subscribed again at the next poll.

Binary present values (``active``/``inactive``) become True/False, multi-state ones
their state number, with the state's name as a second reading ``<point>/state_text``
when the device has state-text (read once per device life).
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
from ._health import (
    MULTI_STATE_OBJECT_TYPES,
    DeviceHealth,
    DeviceStatus,
    comm_failure,
    reading_from_value,
    state_text_reading,
)
from ._points import PointList, PointSpec
from ._values import plain

from bacpypes3.apdu import ErrorRejectAbortNack  # isort: skip
from bacpypes3.basetypes import ServicesSupported
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier

__all__ = ["Poller"]

log = logging.getLogger(__name__)

_RENEWAL_CHECK = 5.0  # seconds between looks at a subscription's renewal


@dataclass(slots=True)
class _Device:
    points: PointList
    address: str
    health: DeviceHealth
    rpm: bool = True
    cov_points: set[str] = field(default_factory=set)
    flags: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    # COV: whether the device is to be (re)subscribed at its next answered poll, the
    # points it refused to subscribe, the running subscriptions
    cov_due: bool = False
    cov_refused: set[str] = field(default_factory=set)
    cov_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # multi-state points' state-text (empty: the device has none), per device life
    state_texts: dict[str, tuple[str, ...]] = field(default_factory=dict)


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
        self._cov_wanted = False  # subscribe() was called: keep the devices subscribed

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
            if not points and device.points.device.instance is not None:
                # every point is subscribed: ask something small to know it still answers
                with contextlib.suppress(RequestError):
                    await self.client.read(device.address,
                                           f"device,{device.points.device.instance}",
                                           "system-status")
        except DeviceTimeout as error:
            if device.cov_points or device.cov_tasks:
                await self._unsubscribe(device)
            device.state_texts.clear()  # it may come back with another configuration
            device.cov_due = self._cov_wanted
            self._status(device.health.failed(str(error)))
            return [comm_failure(p, now) for p in device.points.points]
        self._status(device.health.answered(now))
        if device.cov_due:
            await self._subscribe_device(device)
        return readings
    async def _read_chunk(self, device: _Device, chunk: list[PointSpec], now: datetime
                          ) -> list[PointReading]:
        if device.rpm:
            try:
                result = await self.client.read_multiple(
                    device.address, [(_object(p), self._properties(device, p))
                                     for p in chunk])
            except RequestError as error:
                # no RPM at all; or one object of the group is refused (bacpypes3 refuses
                # the whole request then): read this group property by property
                if "unrecognized-service" in error.reason:
                    device.rpm = False
            else:
                readings = []
                for p in chunk:
                    values = result.get(_object(p), {})
                    if _has_states(p) and p.point not in device.state_texts:
                        device.state_texts[p.point] = _texts(values.get("state-text"))
                    readings += self._with_text(device, reading_from_value(
                        p, values.get(p.property_name, {"error": "missing"}),
                        values.get("status-flags"), now))
                return readings
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
            await self._read_state_texts(device, spec)
            readings += self._with_text(device, reading_from_value(spec, value, flags, now))
        return readings

    def _properties(self, device: _Device, spec: PointSpec) -> list[str]:
        if spec.property_name != "present-value":
            return [spec.property_name]
        if _has_states(spec) and spec.point not in device.state_texts:
            return ["present-value", "status-flags", "state-text"]
        return ["present-value", "status-flags"]

    async def _read_state_texts(self, device: _Device, spec: PointSpec) -> None:
        """Read a multi-state point's state-text once per device life."""
        if _has_states(spec) and spec.point not in device.state_texts:
            try:
                texts = await self.client.read(device.address, _object(spec), "state-text")
            except RequestError:  # an optional property: no names then
                texts = None
            device.state_texts[spec.point] = _texts(texts)

    @staticmethod
    def _with_text(device: _Device, reading: PointReading) -> list[PointReading]:
        """``reading``, and its state's name when it is a multi-state point's."""
        texts = device.state_texts.get(reading.point)
        named = state_text_reading(reading, texts) if texts else None
        return [reading] if named is None else [reading, named]

    def _status(self, status: DeviceStatus | None) -> None:
        if status is not None and self.on_status is not None:
            self.on_status(status)

    # --- COV -----------------------------------------------------------------------------

    async def subscribe(self) -> int:
        """Subscribe to COV for the present-value points of devices that support
        SubscribeCOV; returns how many subscriptions started. From then on the poller
        keeps them: a device that does not answer now, or fails later, is subscribed
        when it answers a poll again."""
        if not self.use_cov:
            return 0
        self._cov_wanted = True
        started = 0
        for device in self.devices:
            started += await self._subscribe_device(device)
        return started

    async def _subscribe_device(self, device: _Device) -> int:
        device.cov_due = False
        instance = device.points.device.instance
        if instance is None:
            return 0
        bit = ServicesSupported._bitstring_names["subscribe-cov"]
        try:
            services = await self.client.read(device.address, f"device,{instance}",
                                              "protocol-services-supported")
        except DeviceTimeout as error:
            log.info("%s: not answering, subscribed when it answers (%s)", device.address,
                     error)
            device.cov_due = True
            return 0
        except BacnetError as error:
            log.info("%s: no COV (%s)", device.address, error)
            return 0
        if not (isinstance(services, list) and len(services) > bit and services[bit]):
            return 0
        started = 0
        for process, spec in enumerate(device.points.points, start=1):
            if (spec.property_name != "present-value" or spec.point in device.cov_points
                    or spec.point in device.cov_refused):
                continue
            await self._read_state_texts(device, spec)
            ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            task = asyncio.ensure_future(self._follow(device, spec, process, ready))
            device.cov_tasks.append(task)
            task.add_done_callback(_forget(device.cov_tasks))
            if await ready:
                device.cov_points.add(spec.point)
                started += 1
        return started

    async def _unsubscribe(self, device: _Device) -> None:
        """End a device's subscriptions without asking it (it does not answer)."""
        tasks = list(device.cov_tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        device.cov_points.clear()

    async def _follow(self, device: _Device, spec: PointSpec, process: int,
                      ready: asyncio.Future[bool]) -> None:
        app = self.client._app()
        subscribed = False
        try:
            async with app.change_of_value(Address(device.address),
                                           ObjectIdentifier(_object(spec)), process, False,
                                           self.cov_lifetime) as subscription:
                subscribed = True
                ready.set_result(True)
                while True:
                    self._take(device, spec, *await _next_value(subscription))
                    # the other values of the same notification are queued already: one
                    # reading per notification
                    while not subscription.queue.empty():
                        self._take(device, spec, *await subscription.get_value())
                    if spec.point in device.values:
                        for reading in self._with_text(device, reading_from_value(
                                spec, device.values[spec.point], device.flags.get(spec.point),
                                datetime.now(timezone.utc))):
                            self.on_reading(reading)
        except asyncio.CancelledError:
            raise
        except (Exception, ErrorRejectAbortNack) as error:
            # refused: the point is polled; lost (a renewal failed): polled until the
            # device is subscribed again at its next answered poll
            if subscribed:
                device.cov_due = self._cov_wanted
            else:
                device.cov_refused.add(spec.point)
            log.info("%s %s: COV ended (%s), polling it", device.address, spec.point, error)
        finally:
            device.cov_points.discard(spec.point)
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
        self._cov_wanted = False
        for device in self.devices:
            await self._unsubscribe(device)
            device.cov_due = False


async def _next_value(subscription: Any) -> tuple[Any, Any]:
    """The subscription's next property value; raises the error of a failed renewal
    (bacpypes3 renews in a task of its own and does not tell the subscriber)."""
    getting = asyncio.ensure_future(subscription.get_value())
    try:
        while True:
            done, _ = await asyncio.wait({getting}, timeout=_RENEWAL_CHECK)
            if done:
                return getting.result()  # type: ignore[no-any-return]
            renewal = subscription.refresh_subscription_task
            if renewal is not None and renewal.done() and not renewal.cancelled():
                error = renewal.exception()
                if error is not None:
                    raise error
    finally:
        getting.cancel()


def _forget(tasks: list[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def forget(task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            tasks.remove(task)
    return forget


def _has_states(spec: PointSpec) -> bool:
    return spec.object_type in MULTI_STATE_OBJECT_TYPES and spec.property_name == "present-value"


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return tuple(value)
    return ()


def _object(spec: PointSpec) -> str:
    return f"{spec.object_type},{spec.instance}"
