"""Shared helpers of the history tests: times and readings built by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import alarms
from gateway.history import PointReading

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    """T0 plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


def counter_readings(point: str, count: int, *, step_minutes: int = 15,
                     start: float = 0, increment: str = "0.25") -> list[PointReading]:
    """A kWh counter read every ``step_minutes``, growing by ``increment`` per reading."""
    return [PointReading(point, at(start + i * step_minutes), Decimal(increment) * i, "kWh",
                         "energy") for i in range(count)]


def raised(alarm_id: str, point: str, notification_id: int) -> alarms.AlarmRaised:
    """A raise of a limit alarm."""
    return alarms.AlarmRaised(
        notification_id=notification_id, event_time=float(notification_id),
        event_type=alarms.EventType.QUALITY_OF_SERVICE, probable_cause="thresholdCrossed",
        specific_problem="upper limit", perceived_severity=alarms.Severity.MAJOR,
        alarm_id=alarm_id, alarm_class="limit", point=point)


def cleared(alarm_id: str, point: str, notification_id: int, raise_id: int) -> alarms.AlarmCleared:
    """The clear of a raise."""
    return alarms.AlarmCleared(
        notification_id=notification_id, event_time=float(notification_id),
        event_type=alarms.EventType.QUALITY_OF_SERVICE, probable_cause="thresholdCrossed",
        specific_problem="upper limit", perceived_severity=alarms.Severity.CLEARED,
        alarm_id=alarm_id, alarm_class="limit", point=point,
        correlated_notifications=(raise_id,))


@dataclass(frozen=True)
class LooseReading:
    """A reading that checks nothing itself (the protocol allows any such object)."""

    point: object
    time: object
    value: object
    unit: object = ""
    quantity: object = ""
    quality: object = ()
