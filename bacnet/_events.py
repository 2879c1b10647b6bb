"""Alarms as BACnet events, as plain data: which event state each object is in, the
notification a raise or clear becomes, acknowledgements, and the summaries that
GetEventInformation and GetAlarmSummary return.

meterkit's alarms engine raises and clears; it reaches this module only through
:class:`AlarmNotice` (the gateway builds one from each notification) and the
acknowledgement callback (:class:`Acknowledgement`). No bacpypes3, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ._errors import ConfigurationError

__all__ = [
    "PRIORITY_BY_SEVERITY",
    "AckRefused",
    "Acknowledgement",
    "AlarmNotice",
    "EventBook",
    "EventClass",
    "EventTransition",
    "ObjectEvents",
]

TO_OFFNORMAL, TO_FAULT, TO_NORMAL = 0, 1, 2

PRIORITY_BY_SEVERITY: dict[str, int] = {
    "critical": 32,
    "major": 64,
    "minor": 128,
    "warning": 160,
    "indeterminate": 192,
}
"""X.733 perceived severity -> BACnet event priority (0 highest, 255 lowest)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmNotice:
    """An alarm raised or cleared, as the BACnet server takes it.

    ``alarm_id`` names the alarm (a clear names the alarm it clears); ``point`` the
    published point it concerns (``""``: the device itself). ``severity`` is an X.733
    perceived severity (``critical``, ``major``, ``minor``, ``warning``,
    ``indeterminate``). With ``limit`` and ``value`` the notification is an
    out-of-range event (``direction`` ``up``: high limit, ``down``: low limit),
    otherwise a change-of-state to offnormal. The gateway builds it from an
    ``alarms`` notification::

        AlarmNotice(alarm_id=n.alarm_id, point=n.point, raised=n.event == "raised",
                    time=..., severity=n.perceived_severity.value,
                    text=n.additional_text or n.specific_problem, ...)
    """

    alarm_id: str
    point: str
    raised: bool
    time: datetime
    severity: str = "major"
    text: str = ""
    ack_required: bool = True
    value: float | None = None
    limit: float | None = None
    direction: Literal["up", "down"] | None = None
    deadband: float = 0.0

    def __post_init__(self) -> None:
        if self.raised and self.severity not in PRIORITY_BY_SEVERITY:
            raise ConfigurationError(
                f"alarm {self.alarm_id!r}: severity {self.severity!r} is not one of "
                f"{', '.join(PRIORITY_BY_SEVERITY)}")
        if self.time.tzinfo is None:
            raise ConfigurationError(f"alarm {self.alarm_id!r}: time must be timezone-aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class Acknowledgement:
    """An operator's AcknowledgeAlarm, handed to the server's ``on_acknowledge`` callback.

    ``alarm_ids`` are the meterkit alarms of the acknowledged transition; ``source``
    the acknowledging operator (BACnet acknowledgment-source), ``time`` when they
    acknowledged, ``process`` their process identifier.
    """

    alarm_ids: tuple[str, ...]
    point: str
    event_state: str
    source: str
    time: datetime | None
    process: int


class AckRefused(Exception):
    """An AcknowledgeAlarm that does not match: ``code`` is the BACnet error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True, kw_only=True)
class EventTransition:
    """What to send for one raise or clear: an event notification's parameters."""

    point: str
    time: datetime
    from_state: str
    to_state: str
    event_type: Literal["out-of-range", "change-of-state"]
    priority: int
    ack_required: bool
    text: str
    value: float | None = None
    limit: float | None = None
    deadband: float = 0.0
    transition: int = TO_OFFNORMAL


@dataclass(slots=True)
class ObjectEvents:
    """The event state of one object: its active alarms and the three transitions'
    times and acknowledgement bits (to-offnormal, to-fault, to-normal)."""

    state: str = "normal"
    active: dict[str, AlarmNotice] = field(default_factory=dict)
    acked: list[bool] = field(default_factory=lambda: [True, True, True])
    times: list[datetime | None] = field(default_factory=lambda: [None, None, None])
    alarm_ids: list[tuple[str, ...]] = field(default_factory=lambda: [(), (), ()])
    priorities: list[int] = field(default_factory=lambda: [64, 64, 192])
    offnormal_state: str = "offnormal"  # the state the last to-offnormal went into


@dataclass(frozen=True, slots=True, kw_only=True)
class EventClass:
    """What a point's Notification Class says: priorities and acknowledgement per
    transition (to-offnormal, to-fault, to-normal)."""

    priority: tuple[int, int, int] = (64, 64, 192)
    ack_required: tuple[bool, bool, bool] = (True, True, False)


class EventBook:
    """Event states of the published points; pure bookkeeping, one instance per server.

    ``classes`` gives each point's :class:`EventClass` (``default`` for the others): a
    return to normal is notified with its to-normal priority and acknowledgement; a raise
    with the alarm's own priority (from its severity) and ``ack_required``.
    """

    def __init__(self, classes: Mapping[str, EventClass] | None = None, *,
                 default: EventClass | None = None) -> None:
        self.classes = dict(classes or {})
        self.default = default or EventClass()
        self.objects: dict[str, ObjectEvents] = {}

    def _events(self, point: str) -> ObjectEvents:
        events = self.objects.get(point)
        if events is None:
            events = ObjectEvents(priorities=list(self._class(point).priority))
            self.objects[point] = events
        return events

    def _class(self, point: str) -> EventClass:
        return self.classes.get(point, self.default)

    def record(self, notice: AlarmNotice) -> EventTransition | None:
        """Take a raise or clear; the transition to notify, or None when the object's
        event state does not change (a second alarm on an object already in alarm, a
        clear of an unknown alarm or while another alarm stays active)."""
        events = self._events(notice.point)
        if notice.raised:
            events.active[notice.alarm_id] = notice
            to_state = _offnormal_state(notice)
            if to_state == events.state:
                return None
            from_state, events.state = events.state, to_state
            events.offnormal_state = to_state
            priority = PRIORITY_BY_SEVERITY[notice.severity]
            self._mark(events, TO_OFFNORMAL, notice, priority, notice.ack_required)
            return EventTransition(
                point=notice.point, time=notice.time, from_state=from_state, to_state=to_state,
                event_type="out-of-range" if _is_limit(notice) else "change-of-state",
                priority=priority, ack_required=notice.ack_required, text=notice.text,
                value=notice.value, limit=notice.limit, deadband=notice.deadband,
                transition=TO_OFFNORMAL,
            )
        raised = events.active.pop(notice.alarm_id, None)
        if raised is None or events.state == "normal":
            return None
        if events.active:
            latest = max(events.active.values(), key=lambda n: n.time)
            if _offnormal_state(latest) == events.state:
                return None
        from_state, events.state = events.state, "normal"
        event_class = self._class(notice.point)
        priority, ack_required = event_class.priority[TO_NORMAL], event_class.ack_required[
            TO_NORMAL]
        self._mark(events, TO_NORMAL, notice, priority, ack_required)
        return EventTransition(
            point=notice.point, time=notice.time, from_state=from_state, to_state="normal",
            event_type="out-of-range" if _is_limit(raised) else "change-of-state",
            priority=priority, ack_required=ack_required,
            text=notice.text, value=notice.value if notice.value is not None else raised.value,
            limit=raised.limit, deadband=raised.deadband, transition=TO_NORMAL,
        )

    @staticmethod
    def _mark(events: ObjectEvents, transition: int, notice: AlarmNotice, priority: int,
              ack_required: bool) -> None:
        events.times[transition] = notice.time
        events.acked[transition] = not ack_required
        events.alarm_ids[transition] = (notice.alarm_id,)
        events.priorities[transition] = priority

    def acknowledge(self, point: str, event_state: str, time: datetime | None, *,
                    source: str, acknowledged_at: datetime | None, process: int
                    ) -> Acknowledgement:
        """Acknowledge the transition of ``point`` into ``event_state`` that happened at
        ``time`` (None: do not check the time stamp). Raises :class:`AckRefused` with
        the BACnet error code when nothing matches."""
        events = self.objects.get(point)
        if events is None:
            raise AckRefused("invalid-event-state")
        transition = TO_NORMAL if event_state == "normal" else (
            TO_FAULT if event_state == "fault" else TO_OFFNORMAL)
        if events.times[transition] is None or (
                transition == TO_OFFNORMAL and event_state != events.offnormal_state):
            raise AckRefused("invalid-event-state")
        recorded = events.times[transition]
        if time is not None and recorded is not None and _hundredths(recorded) != _hundredths(
                time):
            raise AckRefused("invalid-time-stamp")
        events.acked[transition] = True
        return Acknowledgement(alarm_ids=events.alarm_ids[transition], point=point,
                               event_state=event_state, source=source, time=acknowledged_at,
                               process=process)

    def restore(self, notice: AlarmNotice, *, acknowledged: bool) -> EventTransition | None:
        """Take a raise that was notified before a restart (the alarms engine restored it):
        the object's event state and transition as :meth:`record` sets them, acknowledged
        or not as the alarm was; the caller sends nothing for it."""
        transition = self.record(notice)
        if transition is not None and acknowledged:
            self.objects[notice.point].acked[transition.transition] = True
        return transition

    def acknowledge_alarm(self, alarm_id: str, acknowledged_at: datetime
                          ) -> list[tuple[str, int]]:
        """An acknowledgement of meterkit alarm ``alarm_id`` made elsewhere (the alarms
        engine's life cycle, e.g. on the web page) at ``acknowledged_at``: each
        unacknowledged transition of that alarm that happened by then is acknowledged.
        Returns the ``(point, transition)`` pairs acknowledged now (a later transition,
        such as a return to normal that needs its own acknowledgement, stays)."""
        done = []
        for point, events in self.objects.items():
            for index in (TO_OFFNORMAL, TO_FAULT, TO_NORMAL):
                when = events.times[index]
                if (not events.acked[index] and alarm_id in events.alarm_ids[index]
                        and when is not None and when <= acknowledged_at):
                    events.acked[index] = True
                    done.append((point, index))
        return done

    def unacknowledged_alarms(self) -> set[str]:
        """The meterkit alarms with a transition awaiting acknowledgement."""
        return {alarm_id for events in self.objects.values() for index in range(3)
                if not events.acked[index] for alarm_id in events.alarm_ids[index]}

    def state_acknowledged(self, point: str, transition: int) -> str:
        """The event state a transition of ``point`` went into (what its acknowledgement
        names)."""
        if transition == TO_NORMAL:
            return "normal"
        if transition == TO_FAULT:
            return "fault"
        return self.objects[point].offnormal_state

    def summaries(self) -> list[tuple[str, ObjectEvents]]:
        """Objects GetEventInformation lists: not normal, or a transition unacknowledged."""
        return [(point, events) for point, events in self.objects.items()
                if events.state != "normal" or not all(events.acked)]

    def alarms(self) -> list[tuple[str, ObjectEvents]]:
        """Objects GetAlarmSummary lists: in an alarm state now."""
        return [(point, events) for point, events in self.objects.items()
                if events.state != "normal"]


def _hundredths(time: datetime) -> datetime:
    """``time`` as a BACnet time stamp carries it: to the hundredth of a second (an
    operator acknowledges with the stamp the notification carried)."""
    return time.replace(microsecond=time.microsecond // 10000 * 10000)


def _is_limit(notice: AlarmNotice) -> bool:
    return notice.limit is not None and notice.value is not None


def _offnormal_state(notice: AlarmNotice) -> str:
    if _is_limit(notice) and notice.direction == "up":
        return "high-limit"
    if _is_limit(notice) and notice.direction == "down":
        return "low-limit"
    return "offnormal"

