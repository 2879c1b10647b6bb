"""The ISA-18.2 operator actions on an engine: acknowledge, reset, shelve, suppress,
out of service.

Each action first runs the deadlines up to ``now`` (as every call with a time
does), then changes the alarm; a refused action raises
:class:`alarms.LifecycleError` and loses no notification of those deadlines.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from ._alarm import AlarmRecord
from ._core import EngineCore
from ._errors import LifecycleError
from ._lifecycle import LifecycleInput
from ._notifications import Notification
from ._parsing import brief
from ._state import CONDITION_ACTIVE_STATES
from ._status import OperatorAction, ShelveInfo

__all__ = ["OperatorActions"]

logger = logging.getLogger(__name__)


class OperatorActions(EngineCore):
    """The operator actions of :class:`alarms.Engine`."""

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
            if one_shot and alarm.state not in CONDITION_ACTIVE_STATES:
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

    def _visible_alarm(self, alarm_id: str, action: str) -> AlarmRecord:
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

    def _note(self, alarm: AlarmRecord, action: str, now: float, reason: str) -> None:
        alarm.last_action = OperatorAction(action=action, time=self._now, reason=str(reason))
        logger.info("%s %s at %s: %s", action, alarm.rule.alarm_id, self._now, reason)
