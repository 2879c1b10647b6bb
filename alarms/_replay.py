"""Replay: samples through an engine, every deadline run at its own time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._engine import Engine
from ._errors import InputError
from ._notifications import Notification
from ._rules import Rule

__all__ = ["replay", "replay_line"]


def replay(
    rules: Iterable[Rule],
    samples: Iterable[tuple[float, str, float]],
    *,
    until: float | None = None,
) -> list[Notification]:
    """Feed ``(time, point, value)`` samples in order and return every notification.

    Stale rules are armed at the first sample's time. After the last sample
    the engine advances to ``until`` (default: the last sample's time), which
    must not be earlier than the last sample.
    """
    engine: Engine | None = None
    rules = list(rules)
    out: list[Notification] = []
    last: float | None = None
    for time, point, value in samples:
        if engine is None:
            engine = Engine(rules, start_time=time)
        out.extend(engine.feed(point, value, time))
        last = time
    if until is not None:
        if last is not None and until < last:
            raise InputError(
                f"--until {until:g} is before the last sample at {last:g}", source="--until"
            )
        if engine is None:
            engine = Engine(rules, start_time=until)
        out.extend(engine.advance(until))
    return out


def replay_line(notification: Notification) -> dict[str, Any]:
    """The JSON line ``alarms replay --json`` prints for a notification."""
    return {
        "time": notification.event_time,
        "event": notification.event,
        "alarm_id": notification.alarm_id,
        "point": notification.point,
        "severity": notification.perceived_severity.value,
        "value": notification.observed_value,
        "notification_id": notification.notification_id,
        "correlated": list(notification.correlated_notifications),
        "text": notification.additional_text,
    }
