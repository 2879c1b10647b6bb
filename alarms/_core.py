"""The engine's machinery: samples and time in, rule machine and life cycle, notifications out.

Time is always passed in (seconds, any monotonic base); nothing here reads a
clock. Every method that takes ``now`` first runs the delays that expired up
to ``now`` at their own deadlines, so the notifications a call returns are in
time order.

Hot path design: rules are indexed by point, and every point keeps an open
"quiet" interval of values that change no rule of that point (derived from
the rule table). A sample inside it costs a dictionary lookup, two stores and
a comparison, and returns a shared empty tuple.

Operator actions (:mod:`alarms._operations`) and save/restore
(:mod:`alarms._saved_state`) build on this class; :class:`alarms.Engine`
joins them.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterable
from typing import Any, cast

from ._alarm import AlarmRecord, PointRecord
from ._errors import LifecycleError, RuleError, SampleError, TimeError, TransitionError
from ._lifecycle import (
    ACTIVE_ACK_STATES,
    AckState,
    Announcement,
    LifecycleInput,
    lifecycle_transition,
)
from ._notifications import AlarmCleared, AlarmRaised, Notification, ThresholdInfo
from ._parsing import brief, finite_float
from ._rules import LimitRule, Rule, Severity, StaleRule, render_text
from ._state import CONDITION_ACTIVE_STATES, Action, Input, RuleState, transition
from ._status import AlarmStatus

__all__ = ["DEFAULT_MAX_SHELVE", "EngineCore"]

logger = logging.getLogger(__name__)

#: Longest shelving allowed unless the engine is built with another maximum (8 h).
DEFAULT_MAX_SHELVE = 8 * 3600.0

_INF = math.inf
_EMPTY: tuple[Notification, ...] = ()
# Timer kinds, the low part of a heap entry's tie-break order.
_PROCESS, _WATCHDOG, _SHELVE = 0, 1, 2
_ANNOUNCED = (AckState.UNACKNOWLEDGED, AckState.ACKNOWLEDGED)

# (deadline, rule index * 3 + timer kind, generation, alarm); generations are unique
_HeapEntry = tuple[float, int, int, AlarmRecord]


class EngineCore:
    """Samples, time and timers; the rule machine and the life cycle it drives.

    The public behaviour is documented on :class:`alarms.Engine`.
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
        self._points: dict[str, PointRecord] = {}
        self._alarms: dict[str, AlarmRecord] = {}
        self._order: list[AlarmRecord] = []
        self._check_rules(self._rules, 0)
        for rule in self._rules:
            self._add_record(rule)
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

    def add_rules(self, rules: Iterable[Rule]) -> None:
        """Watch more rules from now on (for example, devices found at run time).

        A new stale rule's watchdog starts from its point's latest sample, or, for a point
        never sampled, at its first sample. Raises :class:`RuleError` (adding none) for
        something that is not a rule or an alarm id the engine has already.
        """
        new = tuple(rules)
        self._check_rules(new, len(self._rules))
        self._rules = (*self._rules, *new)
        for rule in new:
            alarm = self._add_record(rule)
            point = alarm.point
            if alarm.is_stale and point.time is not None:
                self._queue_watchdog(alarm, point.time + alarm.limit)
            self._update_quiet(point)

    # -- public API: snapshots ----------------------------------------------------------------

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

    # -- internals: rules ----------------------------------------------------------------------

    def _check_rules(self, rules: tuple[Rule, ...], first_index: int) -> None:
        seen = set(self._alarms)
        for index, rule in enumerate(rules, first_index):
            if not isinstance(rule, (LimitRule, StaleRule)):
                raise RuleError(f"not a rule: {brief(rule)}", index=index)
            if rule.alarm_id in seen:
                raise RuleError(
                    f"duplicate alarm id {rule.alarm_id!r}; give each rule its own",
                    field="alarm_id",
                    index=index,
                )
            seen.add(rule.alarm_id)

    def _add_record(self, rule: Rule) -> AlarmRecord:
        point = self._points.get(rule.point)
        if point is None:
            point = self._points[rule.point] = PointRecord(rule.point)
        alarm = AlarmRecord(rule, len(self._order), point)
        point.alarms.append(alarm)
        self._alarms[rule.alarm_id] = alarm
        self._order.append(alarm)
        return alarm

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
        point: PointRecord,
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

    def _update_quiet(self, point: PointRecord) -> None:
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

    def _push(self, deadline: float, alarm: AlarmRecord, kind: int) -> int:
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

    def _queue_watchdog(self, alarm: AlarmRecord, deadline: float) -> None:
        alarm.watch_gen = self._push(deadline, alarm, _WATCHDOG)

    def _queue_shelve(self, alarm: AlarmRecord, deadline: float) -> None:
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

    def _step(self, alarm: AlarmRecord, event: Input, time: float, out: list[Notification]) -> None:
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

    def _reconcile(self, alarm: AlarmRecord, time: float, out: list[Notification]) -> None:
        """Bring the life cycle in line with the rule machine (when the alarm is visible)."""
        if alarm.hidden:
            return
        if alarm.state in CONDITION_ACTIVE_STATES:
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
        alarm: AlarmRecord,
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

    def _notification(self, alarm: AlarmRecord, time: float, *, raised: bool) -> Notification:
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

    # -- internals: lookups, deferred notifications, restored timers ------------------------

    def _defer(self, notifications: list[Notification]) -> None:
        if not notifications:
            return
        if not self._deferred:
            # an entry that sorts first makes the next feed/advance deliver them
            heapq.heappush(self._heap, cast("_HeapEntry", (-_INF, -1, 0, None)))
        self._deferred.extend(notifications)

    def _alarm(self, alarm_id: str, action: str) -> AlarmRecord:
        alarm = self._alarms.get(alarm_id) if isinstance(alarm_id, str) else None
        if alarm is None:
            raise LifecycleError("no rule has this alarm id", alarm_id=str(alarm_id), action=action)
        return alarm

    def _status(self, alarm: AlarmRecord) -> AlarmStatus:
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

    def _rearm(self, undelivered: list[Notification]) -> None:
        """After a restore: queue the saved notifications and every running timer again."""
        self._heap.clear()
        self._deferred.clear()
        self._defer(undelivered)
        for alarm in self._order:
            if alarm.deadline is not None:
                alarm.timer_gen = self._push(alarm.deadline, alarm, _PROCESS)
            if alarm.is_stale and alarm.state is RuleState.NORMAL and alarm.point.time is not None:
                self._queue_watchdog(alarm, alarm.point.time + alarm.limit)
            if alarm.shelve is not None:
                self._queue_shelve(alarm, alarm.shelve.until)
        for point in self._points.values():
            self._update_quiet(point)
