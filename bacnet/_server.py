"""The gateway as a BACnet/IP device (bacpypes3 application wiring).

One Device object; per published point an Analog Input (COV through bacpypes3's
COV-increment criteria), a Binary Input or a CharacterString Value (COV on any change),
optionally a Trend Log fed from a :class:`HistorySource`;
the point list's Notification Classes; event notifications for meterkit alarms;
AcknowledgeAlarm, GetEventInformation, GetAlarmSummary and ReadRange handled here
(bacpypes3 0.0.110 has no server side for them). Everything that is not bacpypes3
wiring lives in the sans-IO modules (_mapping, _events, _trend).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from profiles import Reading

from ._errors import ConfigurationError
from ._events import (
    Acknowledgement,
    AckRefused,
    AlarmNotice,
    EventBook,
    EventClass,
    EventTransition,
)
from ._mapping import object_state
from ._points import PUBLISHED_OBJECT_TYPES, PointList, PointSpec, device_recipient
from ._stack import (
    bound,
    from_bacnet_datetime,
    interface_text,
    parse_address,
    to_bacnet_datetime,
    to_timestamp,
)
from ._trend import HistorySource, RangeResult, TrendBuffer
from ._units import unit_for

from bacpypes3.apdu import (  # isort: skip
    AcknowledgeAlarmRequest,
    ConfirmedCOVNotificationRequest,
    ConfirmedEventNotificationRequest,
    ErrorRejectAbortNack,
    GetAlarmSummaryACK,
    GetAlarmSummaryRequest,
    GetEventInformationACK,
    GetEventInformationRequest,
    ReadRangeACK,
    ReadRangeRequest,
    SimpleAckPDU,
    SubscribeCOVRequest,
    UnconfirmedCOVNotificationRequest,
    UnconfirmedEventNotificationRequest,
)
from bacpypes3.app import Application
from bacpypes3.basetypes import (
    BDTEntry,
    Destination,
    DeviceAddress,
    DeviceObjectPropertyReference,
    EventTransitionBits,
    GetAlarmSummaryAlarmSummary,
    GetEventInformationEventSummary,
    HostNPort,
    LogRecord,
    LogRecordLogDatum,
    NotificationParameters,
    NotificationParametersBufferReady,
    NotificationParametersChangeOfState,
    NotificationParametersOutOfRange,
    PropertyStates,
    PropertyValue,
    Recipient,
    StatusFlags,
)
from bacpypes3.constructeddata import Any as AnyValue
from bacpypes3.constructeddata import ListOf, SequenceOf
from bacpypes3.errors import ExecutionError, PropertyError
from bacpypes3.local.analog import AnalogInputObject
from bacpypes3.local.binary import BinaryInputObject
from bacpypes3.local.cov import COVIncrementCriteria, GenericCriteria
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.networkport import NetworkPortObject
from bacpypes3.local.object import Object as LocalObject
from bacpypes3.local.oos import OutOfService
from bacpypes3.object import (
    CharacterStringValueObject,
    NotificationClassObject,
    TrendLogObject,
)
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier, Time, Unsigned

__all__ = ["VENDOR_IDENTIFIER", "BacnetServer", "MemoryHistory"]

log = logging.getLogger(__name__)

VENDOR_IDENTIFIER = 999
"""meterkit has no ASHRAE vendor identifier; 999 is the one test and sample devices use."""

_LOG_BUFFER = "logBuffer"


class _SendWithDeviceKnown:
    """bacpypes3's COV notifications, sent with the device object known.

    bacpypes3 0.0.110 looks the device object up by scanning every object of the
    application for each notification, so a change costs O(objects): 3000 changes of 1000
    subscribed points took 16.0 s with its criteria and 6.4-8.2 s with this class (the
    same machine, one after the other). The notification is the one bacpypes3 builds.
    """

    cov_subscriptions: list[Any]
    obj: Any
    properties_reported: tuple[str, ...]
    presentValue: Any
    previously_reported_value: Any

    def send_cov_notifications(self, subscription: Any = None) -> None:
        self.previously_reported_value = self.presentValue
        if not self.cov_subscriptions:
            return
        app = self.obj._app
        values = [PropertyValue(propertyIdentifier=name, value=AnyValue(getattr(self, name)))
                  for name in self.properties_reported]
        now = asyncio.get_running_loop().time()
        for cov in [subscription] if subscription is not None else self.cov_subscriptions:
            remaining = 0
            if cov.cancel_handle:
                remaining = max(1, int(cov.cancel_handle.when() - now))
            request_class = (ConfirmedCOVNotificationRequest if cov.confirmed
                             else UnconfirmedCOVNotificationRequest)
            request = request_class(
                subscriberProcessIdentifier=cov.proc_id,
                initiatingDeviceIdentifier=app.device_object.objectIdentifier,
                monitoredObjectIdentifier=cov.obj_id,
                timeRemaining=remaining,
                listOfValues=values,
            )
            request.pduDestination = cov.client_addr
            app.cov_notification(cov, request)


class _PointCovCriteria(_SendWithDeviceKnown, COVIncrementCriteria):  # type: ignore[misc]
    """COV-increment criteria (Analog Inputs)."""


class _ChangeCovCriteria(_SendWithDeviceKnown, GenericCriteria):  # type: ignore[misc]
    """Any change of present-value or status-flags (Binary Inputs, CharacterString
    Values)."""


class PublishedInput(OutOfService, AnalogInputObject):  # type: ignore[misc]
    """An Analog Input whose present value only meterkit writes (read-only on the wire
    unless out of service)."""

    _cov_criteria = _PointCovCriteria


class PublishedBinary(OutOfService, BinaryInputObject):  # type: ignore[misc]
    """A Binary Input (a boolean point: a contact, an alarm state); read-only on the
    wire unless out of service."""

    _cov_criteria = _ChangeCovCriteria


class PublishedText(OutOfService, LocalObject, CharacterStringValueObject):  # type: ignore[misc]
    """A CharacterString Value (a text point, such as a meter's status); read-only on
    the wire unless out of service."""

    _cov_criteria = _ChangeCovCriteria


class PublishedNotificationClass(LocalObject, NotificationClassObject):  # type: ignore[misc]
    """A Notification Class object; its recipient list may be written over BACnet."""


class PublishedTrendLog(LocalObject, TrendLogObject):  # type: ignore[misc]
    """A Trend Log whose counts come from a :class:`~bacnet.TrendBuffer`.

    The log buffer itself is read with ReadRange (ReadProperty of log-buffer is
    refused with read-access-denied, as clause 12.25.17 asks).
    """

    _buffer: TrendBuffer

    @property
    def recordCount(self) -> Unsigned:
        return Unsigned(self._buffer.record_count)

    @recordCount.setter
    def recordCount(self, value: Any) -> None:
        if value is not None and int(value) == 0:
            self._buffer.clear()

    @property
    def totalRecordCount(self) -> Unsigned:
        return Unsigned(self._buffer.total_record_count)

    @totalRecordCount.setter
    def totalRecordCount(self, value: Any) -> None:
        pass  # read-only; bacpypes3 sets it while building the object

    @property
    def recordsSinceNotification(self) -> Unsigned:
        return Unsigned(self._buffer.records_since_notification)

    @recordsSinceNotification.setter
    def recordsSinceNotification(self, value: Any) -> None:
        pass

    @property
    def lastNotifyRecord(self) -> Unsigned:
        return Unsigned(self._buffer.last_notify_record)

    @lastNotifyRecord.setter
    def lastNotifyRecord(self, value: Any) -> None:
        pass

    async def read_property(self, attr: Any, index: Any = None) -> Any:
        if attr == _LOG_BUFFER or str(attr) == "log-buffer":
            raise PropertyError("readAccessDenied")
        return await super().read_property(attr, index)


class MemoryHistory:
    """A :class:`HistorySource` that keeps the published readings in memory.

    The server uses it when no history is connected (``BacnetServer(history=None)``):
    each point keeps at most ``limit`` readings.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._readings: dict[str, list[Reading]] = {}

    def add(self, reading: Reading) -> None:
        """Keep ``reading`` (the oldest of its point is dropped past the limit)."""
        kept = self._readings.setdefault(reading.point, [])
        kept.append(reading)
        if len(kept) > self.limit:
            del kept[: len(kept) - self.limit]

    def readings(self, point: str, since: datetime | None, until: datetime
                 ) -> Iterable[Reading]:
        """The kept readings of ``point`` with ``since <= time < until``."""
        return [r for r in self._readings.get(point, ())
                if (since is None or r.time >= since) and r.time < until]


@dataclass(slots=True)
class _Condition:
    """An object's reliability and event state as last set, so that a reading costs no
    read-back of bacpypes3's computed status flags."""

    reliability: str = "communication-failure"  # until the first reading arrives
    event_state: str = "normal"

    def flags(self) -> list[int]:
        return [int(self.event_state != "normal"),
                int(self.reliability != "no-fault-detected"), 0, 0]


@dataclass(slots=True)
class _Published:
    spec: PointSpec
    obj: PublishedInput | PublishedBinary | PublishedText
    trend: PublishedTrendLog | None
    last_trend_time: datetime | None = None
    condition: _Condition = field(default_factory=_Condition)


class _ServerApplication(Application):  # type: ignore[misc]
    """bacpypes3's Application plus the services meterkit answers itself."""

    server: BacnetServer

    async def do_SubscribeCOVRequest(self, apdu: SubscribeCOVRequest) -> None:
        # A subscription without a lifetime is indefinite (clause 13.14.1.1.4);
        # bacpypes3 0.0.110 compares None > 0 and fails on it.
        if apdu.issueConfirmedNotifications is not None and apdu.lifetime is None:
            apdu.lifetime = 0
        await super().do_SubscribeCOVRequest(apdu)

    async def do_ReadRangeRequest(self, apdu: ReadRangeRequest) -> None:
        await self.server._read_range(apdu)

    async def do_AcknowledgeAlarmRequest(self, apdu: AcknowledgeAlarmRequest
                                         ) -> None:
        await self.server._acknowledge(apdu)

    async def do_GetEventInformationRequest(
            self, apdu: GetEventInformationRequest) -> None:
        await self.server._event_information(apdu)

    async def do_GetAlarmSummaryRequest(self, apdu: GetAlarmSummaryRequest
                                        ) -> None:
        await self.server._alarm_summary(apdu)

    async def do_IAmRequest(self, apdu: Any) -> None:
        # every I-Am heard tells where a device recipient lives
        self.server._device_addresses[int(apdu.iAmDeviceIdentifier[1])] = apdu.pduSource
        await super().do_IAmRequest(apdu)


class BacnetServer:
    """Publish meterkit points as a BACnet/IP device.

    Args:
        points: the point list (its Analog Inputs, Trend Logs, Notification Classes).
        address: the interface's ``ADDR/PREFIX[:PORT]`` (BACnet/IP needs the mask for
            broadcasts), e.g. ``"192.168.1.10/24:47808"``.
        instance: the Device object's instance (default: the list's ``[device]``).
        name: the Device object's name (default: the list's ``[device]`` name).
        history: where Trend Logs get their records; default a :class:`MemoryHistory`
            of the published readings.
        on_acknowledge: called with each :class:`~bacnet.Acknowledgement` a BACnet
            operator makes (the gateway passes it to the alarms engine's life cycle).
        bbmd_peers: act as a BBMD with these peers (``"ADDR:PORT"``; may be empty to
            accept foreign devices only) when ``bbmd`` is true.
        foreign_bbmd: register as a foreign device with this BBMD (``"ADDR:PORT"``).
        foreign_ttl: foreign-device registration lifetime, seconds.

    Use it inside a running asyncio loop::

        async with BacnetServer(points, address="192.168.1.10/24") as server:
            server.publish(reading)        # a profiles.Reading of a listed point
            server.notify_alarm(notice)    # an AlarmNotice, raise or clear

    ``publish`` and ``notify_alarm`` must be called on the loop's thread (from another
    thread: ``loop.call_soon_threadsafe(server.publish, reading)``).
    """

    def __init__(
        self,
        points: PointList,
        *,
        address: str,
        instance: int | None = None,
        name: str | None = None,
        history: HistorySource | None = None,
        on_acknowledge: Callable[[Acknowledgement], None] | None = None,
        bbmd: bool = False,
        bbmd_peers: Sequence[str] = (),
        foreign_bbmd: str | None = None,
        foreign_ttl: int = 900,
        apdu_timeout: float = 3.0,
        retries: int = 3,
    ) -> None:
        instance = points.device.instance if instance is None else instance
        if instance is None:
            raise ConfigurationError("the device instance is missing: give instance= "
                                     "(--instance) or [device] instance in the point list")
        if not 0 <= instance <= 4194302:
            raise ConfigurationError(f"device instance {instance} is not in 0-4194302")
        for spec in points.points:
            if spec.object_type not in PUBLISHED_OBJECT_TYPES:
                raise ConfigurationError(
                    f"point {spec.point!r}: publishing {spec.object_type} objects is not "
                    f"supported yet (only {', '.join(sorted(PUBLISHED_OBJECT_TYPES))})")
        if bbmd and foreign_bbmd:
            raise ConfigurationError("a device is a BBMD or a foreign device, not both")
        self.points = points
        self.interface = interface_text(address)
        self.address = parse_address(address)
        self.instance = instance
        self.name = name or points.device.name or f"meterkit-{instance}"
        self._own_history = MemoryHistory() if history is None else None
        self.history: HistorySource = self._own_history or history  # type: ignore[assignment]
        self.on_acknowledge = on_acknowledge
        self.bbmd = bbmd
        self.bbmd_peers = tuple(bbmd_peers)
        self.foreign_bbmd = foreign_bbmd
        self.foreign_ttl = foreign_ttl
        self.apdu_timeout = apdu_timeout
        self.retries = retries
        classes = {nc.instance: EventClass(priority=nc.priority, ack_required=nc.ack_required)
                   for nc in points.notification_classes}
        # a point without a notification class reports through the first one, as the
        # device itself does (see _class_for)
        default = classes[min(classes)] if classes else EventClass()
        self.events = EventBook(
            {spec.point: classes[spec.notification_class] for spec in points.points
             if spec.notification_class is not None}, default=default)
        self.app: _ServerApplication | None = None
        self._published: dict[str, _Published] = {}
        self._classes: dict[int, PublishedNotificationClass] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self.device: DeviceObject | None = None
        self._device_condition = _Condition(reliability="no-fault-detected")
        # device recipients' addresses, from I-Ams (cached until a notification fails)
        self._device_addresses: dict[int, Address] = {}

    # --- life cycle -------------------------------------------------------------------------

    async def __aenter__(self) -> BacnetServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Build the objects and open the UDP port (inside a running loop)."""
        if self.app is not None:
            return
        self.device = DeviceObject(
            objectIdentifier=("device", self.instance),
            objectName=self.name,
            vendorIdentifier=VENDOR_IDENTIFIER,
            vendorName="meterkit",
            modelName="meterkit gateway",
            description=self.points.description or self.points.name,
            apduTimeout=int(self.apdu_timeout * 1000),
            numberOfApduRetries=self.retries,
        )
        objects: list[Any] = [self.device, self._network_port()]
        for nc in self.points.notification_classes:
            obj = PublishedNotificationClass(
                objectIdentifier=("notification-class", nc.instance),
                objectName=nc.name or f"notification-class-{nc.instance}",
                notificationClass=nc.instance,
                priority=list(nc.priority),
                ackRequired=EventTransitionBits(list(nc.ack_required)),
                recipientList=ListOf(Destination)(
                    [_destination(r, nc.confirmed) for r in nc.recipients]),
                statusFlags=StatusFlags([0, 0, 0, 0]),
                eventState="normal",
                reliability="no-fault-detected",
            )
            self._classes[nc.instance] = obj
            objects.append(obj)
        for spec in self.points.points:
            published = self._make_point(spec)
            self._published[spec.point] = published
            objects.append(published.obj)
            if published.trend is not None:
                objects.append(published.trend)
        app = _ServerApplication.from_object_list(objects)
        app.server = self
        await bound(app)
        self.app = app
        if self._own_history is None:
            self.update_trends()

    async def close(self) -> None:
        """Close the port and stop pending notifications."""
        for task in list(self._tasks):
            task.cancel()
        if self.app is not None:
            self.app.close()
            self.app = None

    def _network_port(self) -> NetworkPortObject:
        extra: dict[str, Any] = {}
        if self.bbmd:
            extra = {
                "bacnetIPMode": "bbmd",
                "bbmdBroadcastDistributionTable": [
                    BDTEntry(_host_port(peer)) for peer in (str(self.address), *self.bbmd_peers)],
                "bbmdAcceptFDRegistrations": True,
                "bbmdForeignDeviceTable": [],
            }
        elif self.foreign_bbmd:
            extra = {
                "bacnetIPMode": "foreign",
                "fdBBMDAddress": HostNPort(_host_port(self.foreign_bbmd)),
                "fdSubscriptionLifetime": self.foreign_ttl,
            }
        return NetworkPortObject(
            self.interface, objectIdentifier=("network-port", 1), objectName="NP1", **extra)

    def _make_point(self, spec: PointSpec) -> _Published:
        description = spec.description or spec.point
        common: dict[str, Any] = {
            "objectIdentifier": (spec.object_type, spec.instance),
            "objectName": spec.object_name,
            "eventState": "normal",
            "reliability": "communication-failure",  # until the first reading arrives
            "outOfService": False,
        }
        obj: PublishedInput | PublishedBinary | PublishedText
        if spec.object_type == "binary-input":
            obj = PublishedBinary(description=description, presentValue="inactive",
                                  polarity="normal", **common)
        elif spec.object_type == "characterstring-value":
            obj = PublishedText(description=description, presentValue="", **common)
        else:
            mapping = unit_for(spec.unit, spec.quantity)
            if not mapping.exact and spec.unit:
                description = f"{description} (unit {spec.unit})"
            obj = PublishedInput(description=description, presentValue=0.0,
                                 units=mapping.name,
                                 covIncrement=float(spec.cov_increment * mapping.scale),
                                 **common)
        if spec.notification_class is not None:
            obj.notificationClass = spec.notification_class
        trend = None
        if spec.trend is not None:
            t = spec.trend
            trend = PublishedTrendLog(
                objectIdentifier=("trend-log", t.instance),
                objectName=f"{spec.object_name} trend",
                description=f"history of {spec.point}",
                enable=True,
                stopWhenFull=False,
                bufferSize=t.buffer_size,
                loggingType="triggered",
                statusFlags=StatusFlags([0, 0, 0, 0]),
                eventState="normal",
                reliability="no-fault-detected",
                logDeviceObjectProperty=DeviceObjectPropertyReference(
                    objectIdentifier=("analog-input", spec.instance),
                    propertyIdentifier="present-value",
                    deviceIdentifier=("device", self.instance),
                ),
                notificationThreshold=t.notification_threshold,
                notifyType="event",
                eventEnable=EventTransitionBits([0, 0, 1]),
                ackedTransitions=EventTransitionBits([1, 1, 1]),
            )
            if t.notification_class is not None:
                trend.notificationClass = t.notification_class
            trend._buffer = TrendBuffer(size=t.buffer_size,
                                        notification_threshold=t.notification_threshold)
        return _Published(spec=spec, obj=obj, trend=trend)

    # --- the gateway's side ------------------------------------------------------------------

    def add_point(self, spec: PointSpec) -> None:
        """Publish one more point (before or after :meth:`start`): its object (and Trend
        Log) appear in the device's object list at once.

        Raises :class:`~bacnet.ConfigurationError` when its point, object name, object
        instance or trend instance is taken, its object type is not published or its
        notification class is not in the list.
        """
        if spec.object_type not in PUBLISHED_OBJECT_TYPES:
            raise ConfigurationError(
                f"point {spec.point!r}: publishing {spec.object_type} objects is not "
                f"supported yet (only {', '.join(sorted(PUBLISHED_OBJECT_TYPES))})")
        for other in self.points.points:
            clash = (
                "point" if other.point == spec.point else
                "object name" if other.object_name == spec.object_name else
                "object" if (other.object_type, other.instance) == (spec.object_type,
                                                                   spec.instance) else
                "trend log" if (other.trend is not None and spec.trend is not None
                                and other.trend.instance == spec.trend.instance) else None)
            if clash is not None:
                raise ConfigurationError(f"point {spec.point!r}: its {clash} is taken by point "
                                         f"{other.point!r} ({other.object_type} "
                                         f"{other.instance})")
        classes = {nc.instance for nc in self.points.notification_classes}
        for number in (spec.notification_class,
                       spec.trend.notification_class if spec.trend else None):
            if number is not None and number not in classes:
                raise ConfigurationError(f"point {spec.point!r}: no notification class "
                                         f"{number}")
        self.points = replace(self.points, points=(*self.points.points, spec))
        if spec.notification_class is not None:
            nc = next(c for c in self.points.notification_classes
                      if c.instance == spec.notification_class)
            self.events.classes[spec.point] = EventClass(priority=nc.priority,
                                                         ack_required=nc.ack_required)
        if self.app is None:
            return  # start() builds it with the others
        published = self._make_point(spec)
        self._published[spec.point] = published
        self.app.add_object(published.obj)
        if published.trend is not None:
            self.app.add_object(published.trend)
            if self._own_history is None:
                self.update_trends(points=[spec.point])

    def publish(self, reading: Reading) -> None:
        """Set the Analog Input of ``reading.point`` (COV subscribers are notified by
        bacpypes3 when the change reaches cov-increment or the status flags change).

        Raises :class:`~bacnet.ConfigurationError` for a point the list does not have.
        """
        published = self._published.get(reading.point)
        if published is None:
            raise ConfigurationError(f"point {reading.point!r} is not in the point list "
                                     f"{self.points.name!r}")
        state = object_state(published.spec, reading)
        obj = published.obj
        if isinstance(state.present_value, bool):
            obj.presentValue = "active" if state.present_value else "inactive"
        elif state.present_value is not None:
            obj.presentValue = state.present_value
        _change_condition(obj, published.condition, reliability=state.reliability)
        if self._own_history is not None:
            self._own_history.add(reading)
            if published.trend is not None:
                self._append_trend(published, [reading])

    def notify_alarm(self, notice: AlarmNotice) -> None:
        """An alarm was raised or cleared: update the object's event state and send
        event notifications to the Notification Class's recipients."""
        transition = self._take_alarm(notice, restored=False, acknowledged=False)
        if transition is not None:
            self._spawn(self._send_event(notice.point, transition))

    def restore_alarm(self, notice: AlarmNotice, *, acknowledged: bool) -> None:
        """A raise or clear notified before a restart (the gateway restores its alarm
        states): the object is in its event state and listed by GetEventInformation (and
        GetAlarmSummary while in alarm) with the transition's time stamp, acknowledged or
        not, but no second event notification goes out (a restart does not repeat a
        transition already delivered). An alarm cleared while its raise awaited an
        acknowledgement is restored as its raise, unacknowledged, then its clear: the
        object is normal and listed with its to-offnormal transition unacknowledged."""
        self._take_alarm(notice, restored=True, acknowledged=acknowledged)

    def _take_alarm(self, notice: AlarmNotice, *, restored: bool, acknowledged: bool
                    ) -> EventTransition | None:
        """Record a raise or clear; the object's event state follows; the transition to
        notify (None: the state did not change)."""
        if notice.point and notice.point not in self._published:
            raise ConfigurationError(f"alarm {notice.alarm_id!r}: point {notice.point!r} is "
                                     f"not in the point list")
        transition = (self.events.restore(notice, acknowledged=acknowledged) if restored
                      else self.events.record(notice))
        if transition is not None:
            condition = (self._published[notice.point].condition if notice.point
                         else self._device_condition)
            _change_condition(self._event_object(notice.point), condition,
                              event_state=transition.to_state)
        return transition

    def acknowledge_alarm(self, alarm_id: str, *, time: datetime, source: str) -> int:
        """Alarm ``alarm_id`` was acknowledged outside BACnet (the alarms engine's life
        cycle: the web page, any caller) by ``source`` at ``time``: its transitions up to
        then are acknowledged in acknowledged-transitions (GetEventInformation,
        GetAlarmSummary) and the recipients get ack notifications, as after an
        AcknowledgeAlarm. Returns how many transitions were acknowledged now (0: none was
        waiting, e.g. it was acknowledged over BACnet)."""
        done = self.events.acknowledge_alarm(alarm_id, time)
        for point, index in done:
            acknowledgement = Acknowledgement(
                alarm_ids=(alarm_id,), point=point,
                event_state=self.events.state_acknowledged(point, index), source=source,
                time=time, process=0)
            self._send_ack_notification(acknowledgement, index)
        return len(done)

    def update_trends(self, until: datetime | None = None,
                      points: Iterable[str] | None = None) -> None:
        """Pull new readings from the history source into the Trend Logs (the gateway
        calls this after its history stored a batch; ``until`` defaults to now;
        ``points`` limits it to those points)."""
        until = until or datetime.now(timezone.utc)
        chosen = (self._published.values() if points is None else
                  [self._published[p] for p in points if p in self._published])
        for published in chosen:
            if published.trend is None:
                continue
            since = published.last_trend_time
            fresh = [r for r in self.history.readings(published.spec.point, since, until)
                     if since is None or r.time > since]
            self._append_trend(published, fresh)

    def _append_trend(self, published: _Published, readings: Iterable[Reading]) -> None:
        trend = published.trend
        assert trend is not None
        for reading in readings:
            state = object_state(published.spec, reading)
            published.last_trend_time = reading.time
            value = state.present_value if isinstance(state.present_value, float) else None
            if trend._buffer.append(reading.time, value, state.fault):
                previous, current = trend._buffer.notified()
                self._spawn(self._send_buffer_ready(published, previous, current))

    def _spawn(self, coroutine: Any) -> None:
        try:
            task = asyncio.ensure_future(coroutine)
        except RuntimeError:  # no running loop (called before start)
            coroutine.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- notifications -----------------------------------------------------------------------

    def _event_object(self, point: str) -> Any:
        if not point:
            return self.device
        return self._published[point].obj

    def _point_of(self, object_id: Any) -> str | None:
        if self.device is not None and object_id == self.device.objectIdentifier:
            return ""
        for point, published in self._published.items():
            if published.obj.objectIdentifier == object_id:
                return point
        return None

    def _class_for(self, point: str) -> PublishedNotificationClass | None:
        number = self._published[point].spec.notification_class if point else None
        if number is None and self._classes:
            number = min(self._classes)
        return self._classes.get(number) if number is not None else None

    async def _send_event(self, point: str, transition: EventTransition,
                          ack_of: Acknowledgement | None = None) -> None:
        nc = self._class_for(point)
        if nc is None:
            log.warning("alarm on %r: no notification class, no notification sent", point)
            return
        obj = self._event_object(point)
        flags = StatusFlags(list(obj.statusFlags))
        parameters: dict[str, Any] = {
            "initiatingDeviceIdentifier": self.device.objectIdentifier,  # type: ignore[union-attr]
            "eventObjectIdentifier": obj.objectIdentifier,
            "timeStamp": to_timestamp(transition.time),
            "notificationClass": nc.notificationClass,
            "priority": transition.priority,
            "eventType": transition.event_type,
            "messageText": transition.text,
            "toState": transition.to_state,
        }
        if ack_of is None:
            parameters["notifyType"] = "alarm"
            parameters["ackRequired"] = transition.ack_required
            parameters["fromState"] = transition.from_state
            parameters["eventValues"] = _event_values(transition, flags)
        else:
            parameters["notifyType"] = "ack-notification"
        await self._notify_recipients(nc, transition.transition, parameters)

    async def _send_buffer_ready(self, published: _Published, previous: int, current: int
                                 ) -> None:
        trend = published.trend
        assert trend is not None
        number = published.spec.trend.notification_class if published.spec.trend else None
        nc = self._classes.get(number) if number is not None else (
            self._classes[min(self._classes)] if self._classes else None)
        if nc is None:
            return
        parameters = {
            "initiatingDeviceIdentifier": self.device.objectIdentifier,  # type: ignore[union-attr]
            "eventObjectIdentifier": trend.objectIdentifier,
            "timeStamp": to_timestamp(datetime.now(timezone.utc)),
            "notificationClass": nc.notificationClass,
            "priority": nc.priority[2],
            "eventType": "buffer-ready",
            "notifyType": "event",
            "ackRequired": False,
            "fromState": "normal",
            "toState": "normal",
            "eventValues": NotificationParameters(bufferReady=NotificationParametersBufferReady(
                bufferProperty=DeviceObjectPropertyReference(
                    objectIdentifier=trend.objectIdentifier,
                    propertyIdentifier="log-buffer",
                    deviceIdentifier=self.device.objectIdentifier,  # type: ignore[union-attr]
                ),
                previousNotification=previous,
                currentNotification=current,
            )),
        }
        await self._notify_recipients(nc, 2, parameters)

    async def _notify_recipients(self, nc: PublishedNotificationClass, transition: int,
                                 parameters: dict[str, Any]) -> None:
        app = self.app
        if app is None:
            return
        now = datetime.now().astimezone()
        for destination in nc.recipientList or ():
            if not destination.transitions[transition] or not _valid_now(destination, now):
                continue
            recipient = destination.recipient
            instance: int | None = None
            if recipient.address is not None:
                address = Address(recipient.address.macAddress)
            else:
                instance = int(recipient.device[1])
                found = await self._device_address(instance)
                if found is None:
                    log.warning("notification class %s: device %s did not answer Who-Is, "
                                "no notification sent", nc.notificationClass, instance)
                    continue
                address = found
            request_class = (ConfirmedEventNotificationRequest
                             if destination.issueConfirmedNotifications
                             else UnconfirmedEventNotificationRequest)
            request = request_class(processIdentifier=destination.processIdentifier,
                                    destination=address, **parameters)
            try:
                response = app.request(request)
                if destination.issueConfirmedNotifications:
                    await asyncio.wait_for(response, self.apdu_timeout * (self.retries + 1))
            except (ErrorRejectAbortNack, asyncio.TimeoutError) as error:
                log.warning("event notification to %s failed: %s", address, error)
                if instance is not None:  # it may have moved: ask again next time
                    self._device_addresses.pop(instance, None)

    async def _device_address(self, instance: int) -> Address | None:
        """The address of device ``instance``: from an I-Am heard before, else a Who-Is
        for it (global broadcast, waiting ``apdu_timeout`` seconds, repeated ``retries``
        times: a broadcast is not acknowledged, so one lost Who-Is or I-Am must not lose
        the notification)."""
        found = self._device_addresses.get(instance)
        for _attempt in range(self.retries + 1):
            if found is not None or self.app is None:
                break
            i_ams = await self.app.who_is(instance, instance, timeout=self.apdu_timeout)
            if i_ams:
                found = i_ams[0].pduSource
                self._device_addresses[instance] = found
        return found

    # --- services bacpypes3 leaves to us -------------------------------------------------------

    async def _read_range(self, apdu: ReadRangeRequest) -> None:
        assert self.app is not None
        trend = self.app.get_object_id(apdu.objectIdentifier)
        if trend is None:
            raise ExecutionError(errorClass="object", errorCode="unknownObject")
        if not isinstance(trend, PublishedTrendLog) or str(apdu.propertyIdentifier) != "log-buffer":
            raise ExecutionError(errorClass="services", errorCode="propertyIsNotAList")
        buffer = trend._buffer
        selection = apdu.range
        result: RangeResult
        if selection is None:
            result = buffer.all()
        elif selection.byPosition is not None:
            result = buffer.by_position(selection.byPosition.referenceIndex,
                                        selection.byPosition.count)
        elif selection.bySequenceNumber is not None:
            result = buffer.by_sequence(selection.bySequenceNumber.referenceSequenceNumber,
                                        selection.bySequenceNumber.count)
        elif selection.byTime is not None:
            reference = from_bacnet_datetime(selection.byTime.referenceTime)
            if reference is None:
                raise ExecutionError(errorClass="services", errorCode="parameterOutOfRange")
            result = buffer.by_time(reference, selection.byTime.count)
        else:
            result = buffer.all()
        records = ListOf(LogRecord)([_log_record(r.time, r.value, r.fault)
                                     for r in result.records])
        ack = ReadRangeACK(
            objectIdentifier=apdu.objectIdentifier,
            propertyIdentifier=apdu.propertyIdentifier,
            resultFlags=[int(result.first_item), int(result.last_item),
                         int(result.more_items)],
            itemCount=len(result.records),
            itemData=AnyValue(records),
            context=apdu,
        )
        if selection is not None and (selection.bySequenceNumber is not None
                                      or selection.byTime is not None) and result.records:
            ack.firstSequenceNumber = result.first_sequence
        await self.app.response(ack)

    async def _acknowledge(self, apdu: AcknowledgeAlarmRequest) -> None:
        assert self.app is not None
        point = self._point_of(apdu.eventObjectIdentifier)
        if point is None:
            raise ExecutionError(errorClass="object", errorCode="unknownObject")
        stamp = apdu.timeStamp
        event_time = from_bacnet_datetime(stamp.dateTime) if stamp.dateTime is not None else None
        acked = apdu.timeOfAcknowledgment
        acked_at = from_bacnet_datetime(acked.dateTime) if acked.dateTime is not None else None
        try:
            acknowledgement = self.events.acknowledge(
                point, str(apdu.eventStateAcknowledged), event_time,
                source=str(apdu.acknowledgmentSource), acknowledged_at=acked_at,
                process=int(apdu.acknowledgingProcessIdentifier))
        except AckRefused as refused:
            code = {"invalid-time-stamp": "invalidTimeStamp",
                    "invalid-event-state": "invalidEventState"}[refused.code]
            raise ExecutionError(errorClass="services", errorCode=code) from None
        # The callback runs before the answer: an operator who got Result(+) can rely on
        # the alarms engine knowing of the acknowledgement.
        if self.on_acknowledge is not None:
            try:
                self.on_acknowledge(acknowledgement)
            except Exception:  # the callback's failure must not break the device
                log.exception("on_acknowledge callback failed for %s", acknowledgement)
        await self.app.response(SimpleAckPDU(context=apdu))
        self._send_ack_notification(
            acknowledgement, {"normal": 2, "fault": 1}.get(acknowledgement.event_state, 0))

    def _send_ack_notification(self, acknowledgement: Acknowledgement, index: int) -> None:
        """Tell the recipients that transition ``index`` of the object was acknowledged."""
        point = acknowledgement.point
        events = self.events.objects[point]
        when = events.times[index]
        if when is not None:
            self._spawn(self._send_event(point, EventTransition(
                point=point, time=when, from_state=acknowledgement.event_state,
                to_state=acknowledgement.event_state, event_type="change-of-state",
                priority=events.priorities[index], ack_required=False,
                text=f"acknowledged by {acknowledgement.source}", transition=index,
            ), ack_of=acknowledgement))

    async def _event_information(self, apdu: GetEventInformationRequest) -> None:
        assert self.app is not None
        summaries = []
        rows = sorted(((self._event_object(point).objectIdentifier, events)
                       for point, events in self.events.summaries()), key=lambda r: r[0])
        last = apdu.lastReceivedObjectIdentifier
        for object_id, events in rows:
            if last is not None and object_id <= last:
                continue
            summaries.append(GetEventInformationEventSummary(
                objectIdentifier=object_id,
                eventState=events.state,
                acknowledgedTransitions=EventTransitionBits([int(a) for a in events.acked]),
                eventTimeStamps=SequenceOf(type(to_timestamp(None)))(
                    [to_timestamp(t) for t in events.times]),
                notifyType="alarm",
                eventEnable=EventTransitionBits([1, 1, 1]),
                eventPriorities=SequenceOf(Unsigned)(list(events.priorities)),
            ))
        await self.app.response(GetEventInformationACK(
            listOfEventSummaries=summaries, moreEvents=False, context=apdu))

    async def _alarm_summary(self, apdu: GetAlarmSummaryRequest) -> None:
        assert self.app is not None
        summaries = [
            GetAlarmSummaryAlarmSummary(
                objectIdentifier=self._event_object(point).objectIdentifier,
                alarmState=events.state,
                acknowledgedTransitions=EventTransitionBits([int(a) for a in events.acked]),
            )
            for point, events in self.events.alarms()
        ]
        await self.app.response(GetAlarmSummaryACK(listOfAlarmSummaries=summaries,
                                                   context=apdu))


def _host_port(text: str) -> str:
    """``ADDR:PORT`` (no prefix) of a BACnet/IP address, as BDT and FD entries take it."""
    address = parse_address(text)
    host, port = address.addrTuple
    return f"{host}:{port}"


def _change_condition(obj: Any, condition: _Condition, *, reliability: str | None = None,
                      event_state: str | None = None) -> None:
    """Set reliability or event state; tell COV detection when the status flags change.

    bacpypes3 computes status-flags from reliability, event-state and out-of-service,
    so no property monitor sees them change; its COV criteria watch status-flags, hence
    the monitors are called here the way its own property setter calls them.
    """
    before = condition.flags()
    if reliability is not None and reliability != condition.reliability:
        obj.reliability = reliability
        condition.reliability = reliability
    if event_state is not None and event_state != condition.event_state:
        obj.eventState = event_state
        condition.event_state = event_state
    after = condition.flags()
    if after != before:
        for monitor in obj._property_monitors["statusFlags"]:
            monitor(StatusFlags(before), StatusFlags(after))


def _destination(recipient: str, confirmed: bool) -> Destination:
    instance = device_recipient(recipient)
    return Destination(
        validDays=[1] * 7,
        fromTime=Time((0, 0, 0, 0)),
        toTime=Time((23, 59, 59, 99)),
        recipient=(Recipient(device=ObjectIdentifier(("device", instance)))
                   if instance is not None
                   else Recipient(address=DeviceAddress(parse_address(recipient)))),
        processIdentifier=0,
        issueConfirmedNotifications=confirmed,
        transitions=EventTransitionBits([1, 1, 1]),
    )


def _valid_now(destination: Destination, now: datetime) -> bool:
    if not destination.validDays[now.isoweekday() - 1]:
        return False
    current = (now.hour, now.minute, now.second, now.microsecond // 10000)
    return tuple(destination.fromTime) <= current <= tuple(destination.toTime)


def _event_values(transition: EventTransition, flags: StatusFlags) -> NotificationParameters:
    if transition.event_type == "out-of-range":
        return NotificationParameters(outOfRange=NotificationParametersOutOfRange(
            exceedingValue=float(transition.value or 0.0),
            statusFlags=flags,
            deadband=float(transition.deadband),
            exceededLimit=float(transition.limit or 0.0),
        ))
    return NotificationParameters(changeOfState=NotificationParametersChangeOfState(
        newState=PropertyStates(state=transition.to_state),
        statusFlags=flags,
    ))


def _log_record(time: datetime, value: float | None, fault: bool) -> LogRecord:
    datum = (LogRecordLogDatum(realValue=value) if value is not None
             else LogRecordLogDatum(nullValue=()))
    return LogRecord(timestamp=to_bacnet_datetime(time), logDatum=datum,
                     statusFlags=StatusFlags([0, int(fault), 0, 0]))

