"""Replay: samples through an engine, every deadline run at its own time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._engine import Engine
from ._errors import InputError, SampleError
from ._notifications import Notification
from ._parsing import brief, finite_float
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
    for sample in samples:
        if not isinstance(sample, tuple) or len(sample) != 3:
            raise SampleError(f"expected a (time, point, value) tuple, got {brief(sample)}")
        time, point, value = sample
        if engine is None:
            engine = Engine(rules, start_time=time)
        out.extend(engine.feed(point, value, time))
        last = engine.now
    if until is not None:
        end = finite_float(until)
        if end is None:
            raise InputError(f"{brief(until)} is not a finite number", source="--until")
        if last is not None and end < last:
            raise InputError(
                f"--until {end:g} is before the last sample at {last:g}", source="--until"
            )
        if engine is None:
            engine = Engine(rules, start_time=end)
        out.extend(engine.advance(end))
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
