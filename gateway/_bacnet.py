"""BACnet/IP in a running site: the gateway as a BACnet device, and BACnet devices read.

:class:`BacnetPublisher` (``[bacnet_device]``) runs a :class:`bacnet.BacnetServer` and
connects it to the site:

- every committed step's readings of chosen points set their objects (an Analog Input
  for numbers, a Binary Input for booleans, a CharacterString Value for text); a point
  becomes an object with its first value (from the history at start, or when it is
  first read); its instance is pinned in the site file or derived from its name
  (:func:`derived_instance`), so it stays the same across restarts and whatever the
  order in which points appear;
- a raised device-failure alarm (a meter that stopped answering, or whose telegrams
  fail authentication and so give no readings) sets the fault flag of the device's
  objects (reliability communication-failure) until it answers again;
- alarm notifications become BACnet event notifications (on the point's object when it
  is published, else on the Device object); an AcknowledgeAlarm goes into the alarms
  engine's life cycle (the resulting notifications are committed like any step) and
  the audit log; an acknowledgement made elsewhere in that life cycle (the web page, any
  caller of ``alarms.Engine.acknowledge``) is handed to the device
  (:meth:`bacnet.BacnetServer.acknowledge_alarm`), looked for after each committed step
  and each second while a transition awaits one;
- alarms the engine restored at start (active, or awaiting acknowledgement) were
  notified before the restart: the device lists them again (event state, time stamps,
  acknowledged bits) without a second notification;
- Trend Logs read the history after each committed step.

:class:`BacnetReader` (``[[bacnet]]``) reads one device through a :class:`bacnet.Poller`
(ReadPropertyMultiple, COV where the device supports it); readings are named
``<site>/<device>/<point>``; a device that does not answer is not counted as answered,
so its automatic device-failure rule raises after its missed cycles.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

import alarms
import bacnet
from profiles import PointReading

from ._pipeline import Step
from ._site_file import Site
from .history import AuditEntry, HistoryBackend

if TYPE_CHECKING:
    from ._bacnet_site import BacnetInput
    from ._runtime import Runtime

__all__ = ["BacnetClients", "BacnetPublisher", "BacnetReader", "derived_instance",
           "start_bacnet_device"]

_log = logging.getLogger(__name__)
_NOTIFICATION_CLASS = 1
_FIRST_DERIVED = 1
_DERIVED_SPAN = 4_194_302  # instances 1 .. 4194302
_ACK_WATCH = 1.0  # seconds between looks for acknowledgements made elsewhere


def derived_instance(point: str) -> int:
    """The object instance of ``point`` unless the site file pins one: CRC-32 of its name
    over the 22-bit instance range (stable across restarts and installations).

    >>> from gateway._bacnet import derived_instance
    >>> derived_instance("demo/grid/power")
    3382472
    """
    return _FIRST_DERIVED + zlib.crc32(point.encode("utf-8")) % _DERIVED_SPAN


def object_type_of(value: object) -> str | None:
    """The object type a value is published as (None: no value to tell by)."""
    if isinstance(value, bool):
        return "binary-input"
    if isinstance(value, str):
        return "characterstring-value"
    if value is None:
        return None
    return "analog-input"


class BacnetPublisher:
    """The site's ``[bacnet_device]`` (see the module text).

    Args:
        site: the site (its ``bacnet_device`` is set).
        history: the site's history (initial values, Trend Logs, the audit log).
        engine: the site's alarms engine (acknowledgements go into its life cycle).
        commit: commits a step (the notifications an acknowledgement gives).
        clock: the site's clock.
    """

    def __init__(self, site: Site, history: HistoryBackend, engine: alarms.Engine,
                 commit: Callable[[Step], None], clock: Callable[[], datetime]) -> None:
        config = site.bacnet_device
        assert config is not None
        self.site = site
        self.config = config
        self.history = history
        self.engine = engine
        self.commit = commit
        self.clock = clock
        classes = (bacnet.NotificationClassSpec(
            instance=_NOTIFICATION_CLASS, name=f"{site.gateway_id} alarms",
            priority=config.priority, recipients=config.recipients,
            confirmed=config.confirmed),)
        self.server = bacnet.BacnetServer(
            bacnet.PointList(name=site.name, description=f"meterkit gateway {site.gateway_id}",
                             notification_classes=classes),
            address=config.address, instance=config.instance, name=config.name,
            history=history, on_acknowledge=self._acknowledged, bbmd=config.bbmd,
            bbmd_peers=config.bbmd_peers, foreign_bbmd=config.foreign_bbmd,
            foreign_ttl=config.foreign_ttl)
        self.specs: dict[str, bacnet.PointSpec] = {}  # published points
        self.instances: dict[int, str] = {}  # analog/binary/text instance -> point
        self.skipped: dict[str, str] = {}  # point -> why it is not published
        self._chosen: dict[str, bool] = {}  # point -> matches the patterns (asked once)
        self.failed_devices: set[str] = set()  # device points with a raised failure alarm
        self.device_points = {site.device_point(device) for device in site.devices}
        self._watch: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        """The device's ``ADDR/PREFIX:PORT``."""
        return self.server.interface

    async def start(self) -> None:
        """Publish the chosen points the history knows, open the port, list the alarms
        that are active (notified before the restart: not notified again)."""
        latest = sorted(self.history.latest().items())
        for _point, reading in latest:
            self._ensure(reading)
        await self.server.start()
        for point, reading in latest:
            if point in self.specs:
                self.server.publish(reading)
        for status in self.engine.active_alarms():
            if status.raised is None:
                continue
            if status.active:
                self._alarm(status.raised, restored=True, acknowledged=status.acknowledged)
            elif not status.acknowledged:
                self._restore_cleared(status.raised)
        self._watch = asyncio.ensure_future(self._watch_acknowledgements())

    def _restore_cleared(self, raised: alarms.AlarmRaised) -> None:
        """An alarm cleared before the restart while its raise still awaits an
        acknowledgement: its object is normal again, listed by GetEventInformation with the
        to-offnormal transition unacknowledged (and the to-normal as its class says), with
        both time stamps; nothing is notified again. The clear comes from the history; a
        history without it (rebuilt, retention) stands the restart's time in for it."""
        self._alarm(raised, restored=True)
        since = datetime.fromtimestamp(raised.event_time, timezone.utc)
        clear = next((record.notification for record in reversed(
            self.history.alarms(since=since, point=raised.point))
            if record.notification.event == "cleared"
            and record.notification.alarm_id == raised.alarm_id
            and raised.notification_id in record.notification.correlated_notifications),
            None)
        if clear is not None:
            self._alarm(clear, restored=True)
            return
        _log.warning("bacnet device: the clear of %s is not in the history; the restart's "
                     "time stands in for its time stamp", raised.alarm_id)
        self.failed_devices.discard(raised.point)  # as _alarm does for a clear
        self.server.restore_alarm(replace(self._notice(raised), raised=False,
                                          time=self.clock()), acknowledged=False)

    async def close(self) -> None:
        """Close the port."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await self.server.close()

    async def _watch_acknowledgements(self) -> None:
        """Acknowledgements made without a committed step (an acknowledgement gives no
        notification): looked for each second while a transition awaits one."""
        while True:
            await asyncio.sleep(_ACK_WATCH)
            try:
                self._acknowledged_elsewhere()
            except Exception:  # the device must go on
                _log.exception("bacnet device: acknowledgements not compared")

    def _acknowledged_elsewhere(self) -> None:
        """Hand the device the alarms engine's acknowledgements it does not know yet."""
        for alarm_id in sorted(self.server.events.unacknowledged_alarms()):
            try:
                status = self.engine.status(alarm_id)
            except alarms.AlarmsError:
                continue
            action = status.last_action
            if not status.acknowledged or action is None or action.action != "acknowledge":
                continue
            source = action.reason.removeprefix("acknowledged by ").strip() or "meterkit"
            self.server.acknowledge_alarm(
                alarm_id, time=datetime.fromtimestamp(action.time, timezone.utc),
                source=source)

    def _ensure(self, reading: PointReading) -> bool:
        """Make sure ``reading``'s point has an object; False when it is not published."""
        point = reading.point
        if point in self.specs:
            return True
        chosen = self._chosen.get(point)
        if chosen is None:
            chosen = self._chosen[point] = self.config.selects(point)
        if not chosen or point in self.skipped:
            return False
        object_type = object_type_of(reading.value)
        if object_type is None:
            return False  # no value yet: its first value tells the object type
        instance = self.config.instances.get(point, derived_instance(point))
        owner = self.instances.get(instance)
        if owner is None and point not in self.config.instances and \
                instance in self.config.instances.values():
            owner = next(p for p, n in self.config.instances.items() if n == instance)
        if owner is not None:
            self._skip(point, f"its instance {instance} is taken by {owner}: pin one of "
                              "them in [bacnet_device.instances]")
            return False
        trend = None
        if object_type == "analog-input" and self.config.trended(point):
            trend = bacnet.TrendSpec(instance=instance, buffer_size=self.config.trend_buffer,
                                     notification_threshold=self.config.notification_threshold,
                                     notification_class=_NOTIFICATION_CLASS)
        spec = bacnet.PointSpec(
            point=point, object_type=object_type, instance=instance, unit=reading.unit,
            quantity=reading.quantity,
            description=f"{point} ({reading.quantity})" if reading.quantity else point,
            cov_increment=(self.config.cov_increment if object_type == "analog-input"
                           else Decimal(0)),
            notification_class=_NOTIFICATION_CLASS, trend=trend)
        try:
            self.server.add_point(spec)
        except bacnet.ConfigurationError as exc:
            self._skip(point, str(exc))
            return False
        self.instances[instance] = point
        self.specs[point] = spec
        return True

    def _skip(self, point: str, why: str) -> None:
        self.skipped[point] = why
        _log.warning("bacnet device: point %s is not published: %s", point, why)
        try:
            self.history.append_audit(AuditEntry.failure(
                self.clock(), source="bacnet device", error=f"{point} not published: {why}"))
        except Exception:  # the audit log must not stop the gateway
            _log.exception("audit entry not stored")

    # -- committed steps ---------------------------------------------------------------

    def publish(self, step: Step) -> None:
        """A committed step: its readings into the objects, its notifications as events,
        new history records into the Trend Logs."""
        published = []
        for reading in step.readings:
            if self._ensure(reading):
                if (self.failed_devices and self._device_of(reading.point) in
                        self.failed_devices and "stale" not in reading.quality):
                    reading = PointReading(point=reading.point, time=reading.time,
                                           value=reading.value, unit=reading.unit,
                                           quantity=reading.quantity,
                                           quality=(*reading.quality, "stale"))
                self.server.publish(reading)
                published.append(reading.point)
        for notification in step.notifications:
            self._alarm(notification)
        self._acknowledged_elsewhere()
        if published:
            self.server.update_trends(until=step.time + timedelta(microseconds=1),
                                      points=published)

    def _device_of(self, point: str) -> str | None:
        """The device point (``<site>/<device>``) whose failure rule covers ``point``: the
        longest one its name starts with (device names may hold slashes)."""
        end = len(point)
        while (end := point.rfind("/", 0, end)) > 0:
            if point[:end] in self.device_points:
                return point[:end]
        return None

    def _alarm(self, notification: alarms.Notification, *, restored: bool = False,
               acknowledged: bool = False) -> None:
        point = notification.point
        if point in self.device_points:
            self._device_state(point, failed=notification.event == "raised",
                               time=notification.event_time)
        notice = self._notice(notification)
        if restored:
            self.server.restore_alarm(notice, acknowledged=acknowledged)
        else:
            self.server.notify_alarm(notice)

    def _notice(self, notification: alarms.Notification) -> bacnet.AlarmNotice:
        """The BACnet server's form of an alarms engine notification."""
        raised = notification.event == "raised"
        point = notification.point
        info = notification.threshold_info
        limit = info is not None and info.triggered_threshold in ("upper", "lower")
        on_object = point if point in self.specs else ""
        text = notification.additional_text or notification.specific_problem
        if not on_object and point:
            text = f"{point}: {text}"
        return bacnet.AlarmNotice(
            alarm_id=notification.alarm_id, point=on_object, raised=raised,
            time=datetime.fromtimestamp(notification.event_time, timezone.utc),
            severity=notification.perceived_severity.value if raised else "major",
            text=text,
            value=info.observed_value if info is not None and limit else None,
            limit=info.threshold_level if info is not None and limit else None,
            direction=info.direction if info is not None and limit else None,
            deadband=info.hysteresis if info is not None and limit else 0.0)

    def _device_state(self, device_point: str, *, failed: bool, time: float) -> None:
        """A device failed (its objects go to fault) or answers again."""
        if failed:
            self.failed_devices.add(device_point)
        else:
            self.failed_devices.discard(device_point)
            return  # its next readings clear the fault
        when = datetime.fromtimestamp(time, timezone.utc)
        for point, spec in self.specs.items():
            if point.startswith(device_point + "/"):
                self.server.publish(PointReading(
                    point=point, time=when, value=None, unit=spec.unit,
                    quantity=spec.quantity, quality=("stale",)))

    # -- acknowledgements from BACnet --------------------------------------------------

    def _acknowledged(self, acknowledgement: bacnet.Acknowledgement) -> None:
        """An AcknowledgeAlarm: into the alarms engine's life cycle and the audit log."""
        now = max(self.clock(), datetime.fromtimestamp(self.engine.now or 0, timezone.utc))
        user = f"BACnet {acknowledgement.source}".strip()
        for alarm_id in acknowledgement.alarm_ids:
            if not any(status.alarm_id == alarm_id and not status.acknowledged
                       for status in self.engine.active_alarms()):
                _log.info("bacnet: %s acknowledged %s, already acknowledged", user, alarm_id)
                continue
            try:
                notes = self.engine.acknowledge(alarm_id, now.timestamp(),
                                                reason=f"acknowledged by {user}")
            except alarms.AlarmsError as exc:
                _log.warning("bacnet: acknowledgement of %s refused: %s", alarm_id, exc)
                continue
            self.commit(Step(notifications=notes, time=now))
            self.history.append_audit(AuditEntry.acknowledgement(now, alarm_id=alarm_id,
                                                                 user=user))


async def start_bacnet_device(site: Site, runtime: Runtime,
                              clock: Callable[[], datetime]) -> BacnetPublisher:
    """Start the site's ``[bacnet_device]`` and hand it every committed step."""
    publisher = BacnetPublisher(site, runtime.history, runtime.pipeline.alarms, runtime.commit,
                                clock)
    await publisher.start()
    runtime.outputs.publish_to(publisher.publish)
    return publisher


# -- BACnet devices as inputs ---------------------------------------------------------------

class BacnetClients:
    """One started :class:`bacnet.BacnetClient` per interface, shared by the devices read
    through it."""

    def __init__(self) -> None:
        self._clients: dict[str, bacnet.BacnetClient] = {}
        self._lock = asyncio.Lock()

    async def get(self, interface: str, *, timeout: float, retries: int) -> bacnet.BacnetClient:
        """The client of ``interface`` (started on first use)."""
        async with self._lock:
            client = self._clients.get(interface)
            if client is None:
                client = bacnet.BacnetClient(address=interface, apdu_timeout=timeout,
                                             retries=retries)
                await client.start()
                self._clients[interface] = client
            return client

    async def close(self) -> None:
        """Close every client."""
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


class BacnetReader:
    """One ``[[bacnet]]`` device: a readout polls it; COV readings arrive in between
    through ``push``."""

    def __init__(self, site: Site, item: BacnetInput, clients: BacnetClients,
                 clock: Callable[[], datetime],
                 push: Callable[[list[PointReading]], None]) -> None:
        self.site = site
        self.item = item
        self.clients = clients
        self.clock = clock
        self.push = push
        self.prefix = f"{site.name}/{item.name}/"
        self.poller: bacnet.Poller | None = None
        self._polled: list[PointReading] | None = None
        self._failing = False

    def _named(self, reading: PointReading) -> PointReading:
        return PointReading(point=self.prefix + reading.point, time=reading.time,
                            value=reading.value, unit=reading.unit, quantity=reading.quantity,
                            quality=reading.quality)

    def _reading(self, reading: PointReading) -> None:
        if self._polled is not None:  # part of a poll: returned by read()
            self._polled.append(self._named(reading))
        else:  # a COV notification between polls
            self.push([self._named(reading)])

    async def read(self) -> tuple[list[PointReading], bool, str | None]:
        """Poll the device once: its readings, whether it answered, the error when it
        stopped answering (once per failure)."""
        item = self.item
        if self.poller is None:
            client = await self.clients.get(item.interface, timeout=item.timeout,
                                            retries=item.retries)
            self.poller = bacnet.Poller(client, [item.points], on_reading=self._reading,
                                        use_cov=item.cov)
            if item.cov:
                await self.poller.subscribe()
        self._polled = []
        try:
            await self.poller.poll_once(self.clock())
            readings = self._polled
        finally:
            self._polled = None
        health = self.poller.devices[0].health
        if health.state == "ok" and health.failures == 0:
            self._failing = False
            return readings, True, None
        error = None
        if not self._failing:
            error = f"device {item.points.device.instance} at {item.address} does not answer"
        self._failing = True
        return [r for r in readings if r.value is not None], False, error

    async def close(self) -> None:
        """End the COV subscriptions."""
        if self.poller is not None:
            await self.poller.close()
