"""The sans-IO alarm engine: samples and time in, X.733 notifications out.

Time is always passed in (seconds, any monotonic base); nothing here reads a
clock. Every method that takes ``now`` first runs the delays that expired up
to ``now`` at their own deadlines, so the notifications a call returns are in
time order.

Hot path design: rules are indexed by point, and every point keeps an open
"quiet" interval of values that change no rule of that point (derived from
the rule table). A sample inside it costs a dictionary lookup, two stores and
a comparison, and returns a shared empty tuple.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from ._errors import (
    LifecycleError,
    RuleError,
    SampleError,
    StateFormatError,
    TimeError,
    TransitionError,
)
from ._lifecycle import (
    ACTIVE_ACK_STATES,
    AckState,
    Announcement,
    LifecycleInput,
    lifecycle_transition,
)
from ._notifications import (
    AlarmCleared,
    AlarmRaised,
    Notification,
    ThresholdInfo,
    notification_from_dict,
)
from ._parsing import brief, finite_float, load_json
from ._rules import LimitRule, Rule, Severity, StaleRule, render_text
from ._state import Action, Input, RuleState, quiet_inputs, transition

__all__ = [
    "DEFAULT_MAX_SHELVE",
    "STATE_FORMAT",
    "AlarmStatus",
    "Engine",
    "OperatorAction",
    "ShelveInfo",
]

logger = logging.getLogger(__name__)

#: Longest shelving allowed unless the engine is built with another maximum (8 h).
DEFAULT_MAX_SHELVE = 8 * 3600.0
#: Identifies the dictionaries written by :meth:`Engine.save_state`.
STATE_FORMAT = "meterkit.alarms.state"
_STATE_VERSION = 1

_INF = math.inf
_EMPTY: tuple[Notification, ...] = ()
# Timer kinds, the low part of a heap entry's tie-break order.
_PROCESS, _WATCHDOG, _SHELVE = 0, 1, 2
_ACTIVE_STATES = (RuleState.ACTIVE, RuleState.CLEAR_PENDING)
_ANNOUNCED = (AckState.UNACKNOWLEDGED, AckState.ACKNOWLEDGED)
# A rule's sample inputs ordered from low to high values.
_UPPER_AXIS = (Input.CLEAR, Input.DEADBAND, Input.CONDITION)
_LOWER_AXIS = (Input.CONDITION, Input.DEADBAND, Input.CLEAR)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShelveInfo:
    """How an alarm is shelved: ``kind`` is ``"timed"`` or ``"one_shot"``.

    A one-shot shelve also ends when the alarm clears; both end at ``until``
    at the latest.
    """

    kind: Literal["timed", "one_shot"]
    since: float
    until: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"kind": self.kind, "since": self.since, "until": self.until, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorAction:
    """The last operator action on an alarm, with its reason."""

    action: str
    time: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"action": self.action, "time": self.time, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmStatus:
    """A snapshot of one alarm.

    ``condition`` is the rule machine's state, ``state`` the ISA-18.2 state;
    ``active`` says whether subscribers have seen a raise without its clear.
    ``raised`` is that raise (or the last one, while awaiting acknowledgement).
    ``pending_deadline`` is when a running raise or clear delay expires.
    """

    alarm_id: str
    point: str
    kind: Literal["upper", "lower", "stale"]
    severity: Severity
    alarm_class: str
    condition: RuleState
    state: AckState
    active: bool
    raised: AlarmRaised | None
    shelved: ShelveInfo | None
    suppressed: str | None
    out_of_service: str | None
    last_action: OperatorAction | None
    pending_deadline: float | None

    @property
    def acknowledged(self) -> bool:
        """True unless the alarm awaits an acknowledgement."""
        return self.state not in (
            AckState.UNACKNOWLEDGED,
            AckState.RTN_UNACKNOWLEDGED,
            AckState.LATCHED_UNACKNOWLEDGED,
        )

    @property
    def latched(self) -> bool:
        """True while a latched alarm awaits its reset."""
        return self.state in (AckState.LATCHED_UNACKNOWLEDGED, AckState.LATCHED_ACKNOWLEDGED)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "alarm_id": self.alarm_id,
            "point": self.point,
            "kind": self.kind,
            "severity": self.severity.value,
            "alarm_class": self.alarm_class,
            "condition": self.condition.value,
            "state": self.state.value,
            "active": self.active,
            "acknowledged": self.acknowledged,
            "latched": self.latched,
            "raised": None if self.raised is None else self.raised.to_dict(),
            "shelved": None if self.shelved is None else self.shelved.to_dict(),
            "suppressed": self.suppressed,
            "out_of_service": self.out_of_service,
            "last_action": None if self.last_action is None else self.last_action.to_dict(),
            "pending_deadline": self.pending_deadline,
        }


class _Point:
    """Per-point state: last sample and the quiet interval of its rules."""

    __slots__ = ("alarms", "hi", "lo", "name", "time", "value")

    def __init__(self, name: str) -> None:
        self.name = name
        self.value: float | None = None
        self.time: float | None = None
        self.alarms: list[_Alarm] = []
        self.lo = _INF
        self.hi = -_INF


class _Alarm:
    """Mutable per-rule state; one per rule, keyed by alarm id."""

    __slots__ = (
        "ack",
        "arm_time",
        "b_clear",
        "clear_delay",
        "deadline",
        "index",
        "is_stale",
        "last_action",
        "limit",
        "observed",
        "out_of_service",
        "point",
        "raise_delay",
        "raised",
        "rule",
        "shelve",
        "shelve_gen",
        "since",
        "state",
        "suppressed",
        "timer_gen",
        "upper",
        "watch_gen",
    )

    def __init__(self, rule: Rule, index: int, point: _Point) -> None:
        self.rule = rule
        self.index = index
        self.point = point
        self.state = RuleState.NORMAL
        self.ack = AckState.NORMAL
        self.since: float | None = None
        self.deadline: float | None = None
        self.timer_gen = 0
        self.watch_gen = 0
        self.shelve_gen = 0
        self.arm_time: float | None = None
        self.observed = 0.0
        self.raised: AlarmRaised | None = None
        self.shelve: ShelveInfo | None = None
        self.suppressed: str | None = None
        self.out_of_service: str | None = None
        self.last_action: OperatorAction | None = None
        if isinstance(rule, StaleRule):
            self.is_stale = True
            self.upper = True
            self.limit = rule.timeout
            self.b_clear = rule.timeout
            self.raise_delay = 0.0
            self.clear_delay = 0.0
        else:
            self.is_stale = False
            self.upper = rule.kind == "upper"
            self.limit = rule.limit
            hysteresis = rule.hysteresis
            self.b_clear = rule.limit - hysteresis if self.upper else rule.limit + hysteresis
            self.raise_delay = rule.raise_delay
            self.clear_delay = rule.clear_delay

    @property
    def hidden(self) -> bool:
        return (
            self.shelve is not None
            or self.suppressed is not None
            or (self.out_of_service is not None)
        )

    def classify(self, value: float) -> Input:
        """Which table input a sample value is for this limit rule."""
        rule = self.rule
        assert isinstance(rule, LimitRule)
        if self.upper:
            if rule.inclusive:
                if value >= self.limit:
                    return Input.CONDITION
                return Input.CLEAR if value < self.b_clear else Input.DEADBAND
            if value > self.limit:
                return Input.CONDITION
            return Input.CLEAR if value <= self.b_clear else Input.DEADBAND
        if rule.inclusive:
            if value <= self.limit:
                return Input.CONDITION
            return Input.CLEAR if value > self.b_clear else Input.DEADBAND
        if value < self.limit:
            return Input.CONDITION
        return Input.CLEAR if value >= self.b_clear else Input.DEADBAND

    def quiet_interval(self) -> tuple[float, float]:
        """Open interval of values that leave this limit rule untouched."""
        axis = _UPPER_AXIS if self.upper else _LOWER_AXIS
        low_b, high_b = (self.b_clear, self.limit) if self.upper else (self.limit, self.b_clear)
        quiet = quiet_inputs(self.state)
        flags = [event in quiet for event in axis]
        if not any(flags):
            return _INF, -_INF
        first = flags.index(True)
        last = len(flags) - 1 - flags[::-1].index(True)
        if not all(flags[first : last + 1]):  # not contiguous: stay exact, never skip
            return _INF, -_INF
        bounds = (-_INF, low_b, high_b, _INF)
        return bounds[first], bounds[last + 1]


# (deadline, rule index * 3 + timer kind, generation, alarm); generations are unique
_HeapEntry = tuple[float, int, int, _Alarm]


class Engine:
    """Alarm engine over a list of rules (see :class:`LimitRule`, :class:`StaleRule`).

    ``feed(point, value, now)`` and ``advance(now)`` return the notifications
    due, ``next_deadline()`` says when ``advance`` must be called next. Samples
    of points without rules are ignored. ``start_time`` arms the stale rules of
    points never seen (otherwise a stale rule arms at the point's first sample).
    ``max_shelve`` bounds shelving, in seconds.
    """

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        start_time: float | None = None,
        max_shelve: float = DEFAULT_MAX_SHELVE,
    ) -> None:
        self._rules: tuple[Rule, ...] = tuple(rules)
        shelve_limit = finite_float(max_shelve)
        if shelve_limit is None or shelve_limit <= 0:
            raise RuleError(
                f"must be a positive number, got {brief(max_shelve)}", field="max_shelve"
            )
        self._max_shelve = shelve_limit
        self._points: dict[str, _Point] = {}
        self._alarms: dict[str, _Alarm] = {}
        self._order: list[_Alarm] = []
        for index, rule in enumerate(self._rules):
            if not isinstance(rule, (LimitRule, StaleRule)):
                raise RuleError(f"not a rule: {brief(rule)}", index=index)
            if rule.alarm_id in self._alarms:
                raise RuleError(
                    f"duplicate alarm id {rule.alarm_id!r}; give each rule its own",
                    field="alarm_id",
                    index=index,
                )
            point = self._points.get(rule.point)
            if point is None:
                point = self._points[rule.point] = _Point(rule.point)
            alarm = _Alarm(rule, index, point)
            point.alarms.append(alarm)
            self._alarms[rule.alarm_id] = alarm
            self._order.append(alarm)
        self._heap: list[_HeapEntry] = []
        self._gen = 0
        self._deferred: list[Notification] = []
        self._next_id = 1
        self._now = -_INF
        if start_time is not None:
            self._now = self._check_time(start_time)
            for point in self._points.values():
                point.time = self._now
        for point in self._points.values():
            for alarm in point.alarms:
                if alarm.is_stale and point.time is not None:
                    self._queue_watchdog(alarm, point.time + alarm.limit)
            self._update_quiet(point)

    # -- public API: samples and time -------------------------------------------------------

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, in the order given."""
        return self._rules

    @property
    def now(self) -> float | None:
        """The latest time passed in (``None`` before the first call)."""
        return None if self._now == -_INF else self._now

    def feed(self, point: str, value: float, now: float) -> tuple[Notification, ...]:
        """Apply one sample of ``point`` taken at ``now``.

        Delays expiring before ``now`` run first, at their own times; then the
        sample; then delays expiring at ``now`` (so a delay of 0 acts on the
        sample itself, and a sample exactly at a deadline is seen by it).
        Raises :class:`SampleError` for a value that is not a finite number and
        :class:`TimeError` when ``now`` is earlier than a previous call.
        """
        if type(now) is not float or not self._now <= now < _INF:
            now = self._check_time(now)
        # validate everything before anything changes, so an error loses nothing
        try:
            entry = self._points.get(point)
        except TypeError:
            raise SampleError(f"point must be a string, got {brief(point)}", point=point) from None
        if entry is not None:
            if type(value) is not float:
                value = self._coerce(point, value)
            if not -_INF < value < _INF:  # also false for NaN; allocates nothing
                raise SampleError(
                    f"value of {brief(point)} must be finite, got {brief(value)}", point=point
                )
        self._now = now
        heap = self._heap
        out: list[Notification] | None = None
        if heap and heap[0][0] < now:
            out = []
            self._run_due(now, False, out)
        if entry is not None:
            previous = entry.time
            entry.value = value
            entry.time = now
            if not entry.lo < value < entry.hi:
                if out is None:
                    out = []
                self._apply_sample(entry, value, now, previous, out)
        if heap and heap[0][0] <= now:
            if out is None:
                out = []
            self._run_due(now, True, out)
        return tuple(out) if out else _EMPTY

    def advance(self, now: float) -> tuple[Notification, ...]:
        """Run every delay that expires at or before ``now``, each at its own time."""
        now = self._now = self._check_time(now)
        if self._heap and self._heap[0][0] <= now:
            out: list[Notification] = []
            self._run_due(self._now, True, out)
            return tuple(out)
        return _EMPTY

    def next_deadline(self) -> float | None:
        """When the next delay, watchdog or shelve expires (``None``: nothing runs)."""
        heap = self._heap
        while heap:
            deadline, order, gen, alarm = heap[0]
            if order < 0:
                return self.now  # notifications of a refused action wait for delivery
            kind = order % 3
            if kind == _PROCESS and alarm.timer_gen == gen:
                return deadline
            if kind == _SHELVE and alarm.shelve_gen == gen:
                return deadline
            if kind == _WATCHDOG and alarm.watch_gen == gen:
                assert alarm.point.time is not None
                true_deadline = alarm.point.time + alarm.limit
                if true_deadline <= deadline:
                    return deadline
                heapq.heappop(heap)
                self._queue_watchdog(alarm, true_deadline)
                continue
            heapq.heappop(heap)
        return None

    # -- public API: ISA-18.2 life cycle ---------------------------------------------------

    def acknowledge(
        self, alarm_id: str, now: float, *, reason: str = ""
    ) -> tuple[Notification, ...]:
        """Acknowledge an alarm (unacknowledged -> acknowledged, or returned -> normal)."""
        with self._operation(now) as out:
            alarm = self._visible_alarm(alarm_id, "acknowledge")
            self._lifecycle(alarm, LifecycleInput.ACKNOWLEDGE, now, out, "acknowledge")
            self._note(alarm, "acknowledge", now, reason)
            return tuple(out)

    def reset(self, alarm_id: str, now: float, *, reason: str = "") -> tuple[Notification, ...]:
        """Reset a latched alarm whose condition has returned to normal; returns its clear."""
        with self._operation(now) as out:
            alarm = self._visible_alarm(alarm_id, "reset")
            self._lifecycle(alarm, LifecycleInput.RESET, now, out, "reset")
            self._note(alarm, "reset", now, reason)
            return tuple(out)

    def shelve(
        self,
        alarm_id: str,
        now: float,
        *,
        reason: str,
        duration: float | None = None,
        one_shot: bool = False,
    ) -> tuple[Notification, ...]:
        """Shelve an alarm: hold back its notifications for a while.

        Timed (``duration`` seconds, at most the engine's maximum) or one-shot
        (until the alarm clears, at most ``duration`` or the maximum; the alarm
        must be active). Notifications withheld meanwhile are caught up when
        the shelve ends.
        """
        with self._operation(now) as out:
            alarm = self._alarm(alarm_id, "shelve")
            self._require_reason(reason, alarm_id, "shelve")
            if alarm.shelve is not None:
                raise LifecycleError(
                    "already shelved; unshelve it first", alarm_id=alarm_id, action="shelve"
                )
            if duration is None:
                if not one_shot:
                    raise LifecycleError(
                        "give a duration or one_shot=True", alarm_id=alarm_id, action="shelve"
                    )
                duration = self._max_shelve
            if (
                isinstance(duration, bool)
                or not isinstance(duration, (int, float))
                or not (0 < duration <= self._max_shelve)
            ):
                raise LifecycleError(
                    f"duration must be > 0 and <= the maximum {self._max_shelve:g} s, "
                    f"got {brief(duration)}",
                    alarm_id=alarm_id,
                    action="shelve",
                )
            if one_shot and alarm.state not in _ACTIVE_STATES:
                raise LifecycleError(
                    "one-shot shelving needs an active alarm", alarm_id=alarm_id, action="shelve"
                )
            until = self._now + float(duration)
            alarm.shelve = ShelveInfo(
                kind="one_shot" if one_shot else "timed",
                since=self._now,
                until=until,
                reason=reason,
            )
            self._queue_shelve(alarm, until)
            self._note(alarm, "shelve", now, reason)
            return tuple(out)

    def unshelve(self, alarm_id: str, now: float, *, reason: str = "") -> tuple[Notification, ...]:
        """End a shelve early; returns the notifications held back meanwhile."""
        with self._operation(now) as out:
            alarm = self._alarm(alarm_id, "unshelve")
            if alarm.shelve is None:
                raise LifecycleError("not shelved", alarm_id=alarm_id, action="unshelve")
            alarm.shelve = None
            alarm.shelve_gen = 0
            self._note(alarm, "unshelve", now, reason)
            self._reconcile(alarm, self._now, out)
            return tuple(out)

    def suppress(self, alarm_id: str, now: float, *, reason: str) -> tuple[Notification, ...]:
        """Suppress an alarm by design (for example while its equipment is stopped)."""
        with self._operation(now) as out:
            alarm = self._alarm(alarm_id, "suppress")
            self._require_reason(reason, alarm_id, "suppress")
            if alarm.suppressed is not None:
                raise LifecycleError("already suppressed", alarm_id=alarm_id, action="suppress")
            alarm.suppressed = reason
            self._note(alarm, "suppress", now, reason)
            return tuple(out)

    def unsuppress(
        self, alarm_id: str, now: float, *, reason: str = ""
    ) -> tuple[Notification, ...]:
        """End a suppression; returns the notifications held back meanwhile."""
        with self._operation(now) as out:
            alarm = self._alarm(alarm_id, "unsuppress")
            if alarm.suppressed is None:
                raise LifecycleError("not suppressed", alarm_id=alarm_id, action="unsuppress")
            alarm.suppressed = None
            self._note(alarm, "unsuppress", now, reason)
            self._reconcile(alarm, self._now, out)
            return tuple(out)

    def remove_from_service(
        self, alarm_id: str, now: float, *, reason: str
    ) -> tuple[Notification, ...]:
        """Take an alarm out of service (maintenance); its notifications are held back."""
        with self._operation(now) as out:
            alarm = self._alarm(alarm_id, "remove_from_service")
            self._require_reason(reason, alarm_id, "remove_from_service")
            if alarm.out_of_service is not None:
                raise LifecycleError(
                    "already out of service", alarm_id=alarm_id, action="remove_from_service"
                )
            alarm.out_of_service = reason
            self._note(alarm, "remove_from_service", now, reason)
            return tuple(out)

    def return_to_service(
        self, alarm_id: str, now: float, *, reason: str = ""
    ) -> tuple[Notification, ...]:
        """Return an alarm to service; returns the notifications held back meanwhile."""
        with self._operation(now) as out:
            alarm = self._alarm(alarm_id, "return_to_service")
            if alarm.out_of_service is None:
                raise LifecycleError(
                    "not out of service", alarm_id=alarm_id, action="return_to_service"
                )
            alarm.out_of_service = None
            self._note(alarm, "return_to_service", now, reason)
            self._reconcile(alarm, self._now, out)
            return tuple(out)

    # -- public API: snapshots and state ------------------------------------------------------

    def status(self, alarm_id: str) -> AlarmStatus:
        """The snapshot of one alarm; raises :class:`LifecycleError` for an unknown id."""
        return self._status(self._alarm(alarm_id, "status"))

    def alarms(self) -> list[AlarmStatus]:
        """Snapshots of every alarm, in rule order."""
        return [self._status(alarm) for alarm in self._order]

    def active_alarms(self) -> list[AlarmStatus]:
        """The alarm summary for late subscribers.

        Every alarm that is active (a raise went out without its clear) or
        awaits an acknowledgement, ordered by its raise's notification id.
        """
        found = [alarm for alarm in self._order if alarm.ack is not AckState.NORMAL]
        found.sort(key=lambda alarm: alarm.raised.notification_id if alarm.raised else 0)
        return [self._status(alarm) for alarm in found]

    def save_state(self) -> dict[str, Any]:
        """The whole engine state as JSON-ready data, running delays included.

        Rebuild with :meth:`from_state` and the same rules: the restored engine
        produces the same future notifications as this one.
        """
        return {
            "format": STATE_FORMAT,
            "version": _STATE_VERSION,
            "now": self.now,
            "next_notification_id": self._next_id,
            "undelivered": [notification.to_dict() for notification in self._deferred],
            "points": {
                name: {"value": point.value, "time": point.time}
                for name, point in self._points.items()
            },
            "alarms": {
                alarm.rule.alarm_id: {
                    "condition": alarm.state.value,
                    "since": alarm.since,
                    "deadline": alarm.deadline,
                    "state": alarm.ack.value,
                    "arm_time": alarm.arm_time,
                    "observed": alarm.observed,
                    "raised": None if alarm.raised is None else alarm.raised.to_dict(),
                    "shelved": None if alarm.shelve is None else alarm.shelve.to_dict(),
                    "suppressed": alarm.suppressed,
                    "out_of_service": alarm.out_of_service,
                    "last_action": (
                        None if alarm.last_action is None else alarm.last_action.to_dict()
                    ),
                }
                for alarm in self._order
            },
        }

    @classmethod
    def from_state(
        cls,
        rules: Iterable[Rule],
        state: Mapping[str, Any] | str | bytes,
        *,
        max_shelve: float = DEFAULT_MAX_SHELVE,
        strict: bool = True,
    ) -> Engine:
        """Rebuild an engine from :meth:`save_state` output, as data or as JSON text.

        JSON text is read within bounds (size, nesting, number length); a
        fault in it raises :class:`StateFormatError` with its ``offset``.
        Alarms of rules absent from the saved state start normal. Saved alarms
        without a rule raise :class:`StateFormatError` when ``strict``, else
        they are dropped with a warning in the log.
        """
        engine = cls(rules, max_shelve=max_shelve)
        engine._load(load_json(state) if isinstance(state, (str, bytes)) else state, strict)
        return engine

    # -- internals: time and samples ---------------------------------------------------------

    def _check_time(self, now: object) -> float:
        """``now`` as a float, if it is a finite number not before the engine time."""
        time = finite_float(now)
        if time is None:
            raise TimeError(
                f"time must be a finite number, got {brief(now)}", now=now, engine_time=self.now
            )
        if time < self._now:
            raise TimeError(
                f"time went backwards: {brief(now)} is before the engine time {self._now!r}",
                now=now,
                engine_time=self.now,
            )
        return time

    @staticmethod
    def _coerce(point: str, value: object) -> float:
        if isinstance(value, bool):
            raise SampleError(
                f"value of {brief(point)} must be a number, got {brief(value)}", point=point
            )
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            raise SampleError(
                f"value of {brief(point)} must be a number, got {brief(value)}", point=point
            ) from None

    def _apply_sample(
        self,
        point: _Point,
        value: float,
        now: float,
        previous: float | None,
        out: list[Notification],
    ) -> None:
        for alarm in point.alarms:
            if alarm.is_stale:
                if alarm.state is not RuleState.NORMAL:
                    alarm.observed = 0.0 if previous is None else float(now - previous)
                self._step(alarm, Input.CLEAR, now, out)
                if alarm.state is RuleState.NORMAL and alarm.watch_gen == 0:
                    self._queue_watchdog(alarm, now + alarm.limit)
            else:
                self._step(alarm, alarm.classify(value), now, out)
        self._update_quiet(point)

    def _update_quiet(self, point: _Point) -> None:
        lo, hi = -_INF, _INF
        for alarm in point.alarms:
            if alarm.is_stale:
                if alarm.state is not RuleState.NORMAL or alarm.watch_gen == 0:
                    lo, hi = _INF, -_INF
                continue
            alarm_lo, alarm_hi = alarm.quiet_interval()
            lo = max(lo, alarm_lo)
            hi = min(hi, alarm_hi)
        point.lo, point.hi = lo, hi

    # -- internals: timers -------------------------------------------------------------------

    def _push(self, deadline: float, alarm: _Alarm, kind: int) -> int:
        self._gen += 1
        heap = self._heap
        if len(heap) > 4 * len(self._order) + 64:
            self._compact()
        heapq.heappush(heap, (deadline, alarm.index * 3 + kind, self._gen, alarm))
        return self._gen

    def _compact(self) -> None:
        # Cancelled entries stay in the heap until popped; bound their number.
        live = []
        for entry in self._heap:
            _, order, gen, alarm = entry
            kind = order % 3
            if (
                order < 0
                or (kind == _PROCESS and alarm.timer_gen == gen)
                or (kind == _WATCHDOG and alarm.watch_gen == gen)
                or (kind == _SHELVE and alarm.shelve_gen == gen)
            ):
                live.append(entry)
        heapq.heapify(live)
        self._heap[:] = live

    def _queue_watchdog(self, alarm: _Alarm, deadline: float) -> None:
        alarm.watch_gen = self._push(deadline, alarm, _WATCHDOG)

    def _queue_shelve(self, alarm: _Alarm, deadline: float) -> None:
        alarm.shelve_gen = self._push(deadline, alarm, _SHELVE)

    def _run_due(self, now: float, inclusive: bool, out: list[Notification]) -> None:
        heap = self._heap
        while heap:
            deadline = heap[0][0]
            if deadline > now or (deadline == now and not inclusive):
                return
            _, order, gen, alarm = heapq.heappop(heap)
            if order < 0:
                out.extend(self._deferred)
                self._deferred.clear()
                continue
            kind = order % 3
            if kind == _PROCESS:
                if alarm.timer_gen != gen:
                    continue
                alarm.timer_gen = 0
                self._step(alarm, Input.DEADLINE, deadline, out)
                self._update_quiet(alarm.point)
            elif kind == _WATCHDOG:
                if alarm.watch_gen != gen:
                    continue
                alarm.watch_gen = 0
                last = alarm.point.time
                assert last is not None
                if last + alarm.limit > deadline:
                    # a sample came meanwhile: the watchdog moved on (queued lazily)
                    self._queue_watchdog(alarm, last + alarm.limit)
                    continue
                alarm.observed = float(deadline - last)
                self._step(alarm, Input.CONDITION, deadline, out)
                self._update_quiet(alarm.point)
            else:
                if alarm.shelve_gen != gen:
                    continue
                alarm.shelve_gen = 0
                alarm.shelve = None
                logger.info("shelve of %s expired at %s", alarm.rule.alarm_id, deadline)
                self._reconcile(alarm, deadline, out)

    # -- internals: the rule machine and the life cycle -----------------------------------------

    def _step(self, alarm: _Alarm, event: Input, time: float, out: list[Notification]) -> None:
        alarm.state, action = transition(alarm.state, event)
        if action is Action.NONE:
            return
        if action is Action.START_RAISE_DELAY:
            alarm.since = time
            alarm.deadline = time + alarm.raise_delay
            alarm.timer_gen = self._push(alarm.deadline, alarm, _PROCESS)
        elif action is Action.START_CLEAR_DELAY:
            alarm.since = time
            alarm.deadline = time + alarm.clear_delay
            alarm.timer_gen = self._push(alarm.deadline, alarm, _PROCESS)
        elif action is Action.CANCEL_RAISE or action is Action.CANCEL_CLEAR:
            alarm.since = alarm.deadline = None
            alarm.timer_gen = 0
        elif action is Action.RAISE:
            alarm.since = alarm.deadline = None
            if not alarm.hidden:
                self._reconcile(alarm, time, out)
        else:  # Action.CLEAR
            alarm.since = alarm.deadline = None
            alarm.arm_time = time
            if alarm.is_stale and alarm.watch_gen == 0 and alarm.point.time is not None:
                self._queue_watchdog(alarm, alarm.point.time + alarm.limit)
            if alarm.shelve is not None and alarm.shelve.kind == "one_shot":
                alarm.shelve = None
                alarm.shelve_gen = 0
            if not alarm.hidden:
                self._reconcile(alarm, time, out)

    def _reconcile(self, alarm: _Alarm, time: float, out: list[Notification]) -> None:
        """Bring the life cycle in line with the rule machine (when the alarm is visible)."""
        if alarm.hidden:
            return
        if alarm.state in _ACTIVE_STATES:
            if alarm.ack in _ANNOUNCED:
                return
            event = LifecycleInput.RAISE
        else:
            if alarm.ack not in _ANNOUNCED:
                return
            event = LifecycleInput.CLEAR_LATCHED if alarm.rule.latch else LifecycleInput.CLEAR
        self._lifecycle(alarm, event, time, out, None)

    def _lifecycle(
        self,
        alarm: _Alarm,
        event: LifecycleInput,
        time: float,
        out: list[Notification],
        action: str | None,
    ) -> None:
        try:
            alarm.ack, announcement = lifecycle_transition(alarm.ack, event)
        except TransitionError as exc:
            if action is None:
                raise
            raise LifecycleError(
                f"not possible in state {alarm.ack.value} ({exc})",
                alarm_id=alarm.rule.alarm_id,
                action=action,
            ) from None
        if announcement is Announcement.RAISED:
            out.append(self._notification(alarm, time, raised=True))
        elif announcement is Announcement.CLEARED:
            out.append(self._notification(alarm, time, raised=False))

    def _notification(self, alarm: _Alarm, time: float, *, raised: bool) -> Notification:
        time = float(time)
        rule = alarm.rule
        point = alarm.point
        if alarm.is_stale:
            observed = alarm.observed
            info = ThresholdInfo(
                triggered_threshold="timeout",
                threshold_level=alarm.limit,
                hysteresis=0.0,
                direction="up",
                observed_value=observed,
                arm_time=alarm.arm_time,
            )
            values: dict[str, object] = {"timeout": alarm.limit}
        else:
            assert isinstance(rule, LimitRule) and point.value is not None
            observed = point.value
            info = ThresholdInfo(
                triggered_threshold=rule.kind,
                threshold_level=rule.limit,
                hysteresis=rule.hysteresis,
                direction="up" if alarm.upper else "down",
                observed_value=observed,
                arm_time=alarm.arm_time,
            )
            values = {"hysteresis": rule.hysteresis}
        values.update(
            value=observed,
            limit=alarm.limit,
            point=rule.point,
            alarm_id=rule.alarm_id,
            alarm_class=rule.alarm_class,
            severity=rule.severity.value,
            kind=rule.kind,
            time=time,
            event="raised" if raised else "cleared",
        )
        nid = self._next_id
        self._next_id += 1
        common: dict[str, Any] = {
            "notification_id": nid,
            "event_time": time,
            "event_type": rule.event_type,
            "probable_cause": rule.probable_cause,
            "specific_problem": rule.specific_problem,
            "alarm_id": rule.alarm_id,
            "alarm_class": rule.alarm_class,
            "point": rule.point,
            "threshold_info": info,
        }
        if raised:
            notification = AlarmRaised(
                perceived_severity=rule.severity,
                additional_text=render_text(rule.raise_text, values),
                **common,
            )
            alarm.raised = notification
            logger.info("raised %s at %s (notification %d)", rule.alarm_id, time, nid)
            return notification
        assert alarm.raised is not None
        logger.info("cleared %s at %s (notification %d)", rule.alarm_id, time, nid)
        return AlarmCleared(
            perceived_severity=Severity.CLEARED,
            correlated_notifications=(alarm.raised.notification_id,),
            additional_text=render_text(rule.clear_text, values),
            **common,
        )

    # -- internals: operator actions ---------------------------------------------------------

    @contextlib.contextmanager
    def _operation(self, now: float) -> Iterator[list[Notification]]:
        """Run the deadlines up to ``now``, then the operator action in the block.

        When the action is refused, the notifications of those deadlines are
        not lost: they wait for the next call (see :meth:`_defer`).
        """
        self._now = self._check_time(now)
        out: list[Notification] = []
        self._run_due(self._now, True, out)
        try:
            yield out
        except LifecycleError:
            self._defer(out)
            raise

    def _defer(self, notifications: list[Notification]) -> None:
        if not notifications:
            return
        if not self._deferred:
            # an entry that sorts first makes the next feed/advance deliver them
            heapq.heappush(self._heap, cast("_HeapEntry", (-_INF, -1, 0, None)))
        self._deferred.extend(notifications)

    def _alarm(self, alarm_id: str, action: str) -> _Alarm:
        alarm = self._alarms.get(alarm_id) if isinstance(alarm_id, str) else None
        if alarm is None:
            raise LifecycleError("no rule has this alarm id", alarm_id=str(alarm_id), action=action)
        return alarm

    def _visible_alarm(self, alarm_id: str, action: str) -> _Alarm:
        alarm = self._alarm(alarm_id, action)
        if alarm.hidden:
            raise LifecycleError(
                "the alarm is shelved, suppressed or out of service",
                alarm_id=alarm_id,
                action=action,
            )
        return alarm

    @staticmethod
    def _require_reason(reason: object, alarm_id: str, action: str) -> None:
        if not isinstance(reason, str) or not reason.strip():
            raise LifecycleError("a reason is required", alarm_id=alarm_id, action=action)

    def _note(self, alarm: _Alarm, action: str, now: float, reason: str) -> None:
        alarm.last_action = OperatorAction(action=action, time=self._now, reason=str(reason))
        logger.info("%s %s at %s: %s", action, alarm.rule.alarm_id, self._now, reason)

    def _status(self, alarm: _Alarm) -> AlarmStatus:
        rule = alarm.rule
        return AlarmStatus(
            alarm_id=rule.alarm_id,
            point=rule.point,
            kind=rule.kind,
            severity=rule.severity,
            alarm_class=rule.alarm_class,
            condition=alarm.state,
            state=alarm.ack,
            active=alarm.ack in ACTIVE_ACK_STATES,
            raised=alarm.raised if alarm.ack is not AckState.NORMAL else None,
            shelved=alarm.shelve,
            suppressed=alarm.suppressed,
            out_of_service=alarm.out_of_service,
            last_action=alarm.last_action,
            pending_deadline=alarm.deadline,
        )

    # -- internals: restore --------------------------------------------------------------------

    def _load(self, state: Mapping[str, Any], strict: bool) -> None:
        reader = _StateReader(state)
        if reader.get(state, "format", str) != STATE_FORMAT:
            raise StateFormatError(f"not a {STATE_FORMAT} document", field="format")
        version = reader.get(state, "version", int)
        if version != _STATE_VERSION:
            raise StateFormatError(f"unsupported version {version}", field="version")
        now = reader.number(state, "now", optional=True)
        self._now = -_INF if now is None else now
        self._next_id = reader.get(state, "next_notification_id", int)
        if self._next_id < 1:
            raise StateFormatError("must be >= 1", field="next_notification_id")
        points = reader.get(state, "points", dict)
        for name, data in points.items():
            point = self._points.get(name)
            path = f"points.{name}"
            if point is None:
                continue  # a point no rule watches any more
            if not isinstance(data, Mapping):
                raise StateFormatError("expected an object", field=path)
            point.value = reader.number(data, "value", optional=True, path=path)
            point.time = reader.number(data, "time", optional=True, path=path)
        alarms = reader.get(state, "alarms", dict)
        for alarm_id, data in alarms.items():
            path = f"alarms.{alarm_id}"
            alarm = self._alarms.get(alarm_id)
            if alarm is None:
                if strict:
                    raise StateFormatError("no rule has this alarm id", field=path)
                logger.warning("dropping saved state of unknown alarm %s", alarm_id)
                continue
            if not isinstance(data, Mapping):
                raise StateFormatError("expected an object", field=path)
            alarm.state = reader.enum(RuleState, data, "condition", path)
            alarm.ack = reader.enum(AckState, data, "state", path)
            alarm.since = reader.number(data, "since", optional=True, path=path)
            alarm.deadline = reader.number(data, "deadline", optional=True, path=path)
            alarm.arm_time = reader.number(data, "arm_time", optional=True, path=path)
            observed = reader.number(data, "observed", path=path)
            assert observed is not None
            alarm.observed = observed
            pending = alarm.state in (RuleState.RAISE_PENDING, RuleState.CLEAR_PENDING)
            if pending != (alarm.deadline is not None) or pending != (alarm.since is not None):
                raise StateFormatError(
                    "a deadline and its start are present exactly while a delay runs",
                    field=f"{path}.deadline",
                )
            raised = data.get("raised")
            if raised is not None:
                notification = notification_from_dict(raised)
                if not isinstance(notification, AlarmRaised):
                    raise StateFormatError("expected a raise", field=f"{path}.raised")
                alarm.raised = notification
            busy = alarm.ack is not AckState.NORMAL or alarm.state is not RuleState.NORMAL
            if busy and not alarm.is_stale and alarm.point.value is None:
                raise StateFormatError(
                    "a limit alarm that is not normal needs its point's last value",
                    field=f"points.{alarm.rule.point}.value",
                )
            if alarm.ack is not AckState.NORMAL and alarm.raised is None:
                raise StateFormatError(
                    "an active or unacknowledged alarm needs its raise", field=f"{path}.raised"
                )
            shelved = data.get("shelved")
            if shelved is not None:
                spath = f"{path}.shelved"
                if not isinstance(shelved, Mapping):
                    raise StateFormatError("expected an object or null", field=spath)
                kind = reader.get(shelved, "kind", str, spath)
                if kind not in ("timed", "one_shot"):
                    raise StateFormatError(
                        f"unknown shelve kind {brief(kind)}", field=f"{spath}.kind"
                    )
                since = reader.number(shelved, "since", path=spath)
                until = reader.number(shelved, "until", path=spath)
                assert since is not None and until is not None
                alarm.shelve = ShelveInfo(
                    kind=kind,
                    since=since,
                    until=until,
                    reason=reader.get(shelved, "reason", str, spath),
                )
            alarm.suppressed = reader.optional_text(data, "suppressed", path)
            alarm.out_of_service = reader.optional_text(data, "out_of_service", path)
            last = data.get("last_action")
            if last is not None:
                lpath = f"{path}.last_action"
                if not isinstance(last, Mapping):
                    raise StateFormatError("expected an object or null", field=lpath)
                time = reader.number(last, "time", path=lpath)
                assert time is not None
                alarm.last_action = OperatorAction(
                    action=reader.get(last, "action", str, lpath),
                    time=time,
                    reason=reader.get(last, "reason", str, lpath),
                )
        undelivered = reader.get(state, "undelivered", list)
        self._heap.clear()
        self._deferred.clear()
        self._defer([notification_from_dict(item) for item in undelivered])
        for alarm in self._order:
            if alarm.deadline is not None:
                alarm.timer_gen = self._push(alarm.deadline, alarm, _PROCESS)
            if alarm.is_stale and alarm.state is RuleState.NORMAL and alarm.point.time is not None:
                self._queue_watchdog(alarm, alarm.point.time + alarm.limit)
            if alarm.shelve is not None:
                self._queue_shelve(alarm, alarm.shelve.until)
        for point in self._points.values():
            self._update_quiet(point)


class _StateReader:
    """Typed access to saved state with errors that name the field."""

    def __init__(self, root: object) -> None:
        if not isinstance(root, Mapping):
            raise StateFormatError(f"expected an object, got {type(root).__name__}")

    @staticmethod
    def get(data: Mapping[str, Any], key: str, kind: type, path: str = "") -> Any:
        field = f"{path}.{key}" if path else key
        if key not in data:
            raise StateFormatError("missing", field=field)
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise StateFormatError(f"expected {kind.__name__}, got {brief(value)}", field=field)
        return value

    @staticmethod
    def number(
        data: Mapping[str, Any], key: str, *, optional: bool = False, path: str = ""
    ) -> float | None:
        field = f"{path}.{key}" if path else key
        if key not in data:
            raise StateFormatError("missing", field=field)
        value = data[key]
        if value is None and optional:
            return None
        number = finite_float(value)
        if number is None:
            raise StateFormatError(f"expected a finite number, got {brief(value)}", field=field)
        return number

    @staticmethod
    def enum(enum_type: Any, data: Mapping[str, Any], key: str, path: str) -> Any:
        value = _StateReader.get(data, key, str, path)
        try:
            return enum_type(value)
        except ValueError:
            raise StateFormatError(f"unknown value {brief(value)}", field=f"{path}.{key}") from None

    @staticmethod
    def optional_text(data: Mapping[str, Any], key: str, path: str) -> str | None:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise StateFormatError(
                f"expected a string or null, got {brief(value)}", field=f"{path}.{key}"
            )
        return value
