"""Shared helpers for the alarms tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from alarms import Engine, Notification, Rule


def run(
    rules: Sequence[Rule],
    samples: Iterable[tuple[float, float] | tuple[float, str, float]],
    *,
    until: float | None = None,
    start_time: float | None = None,
) -> list[Notification]:
    """Feed samples (``(t, value)`` for point ``"p"``, or ``(t, point, value)``), then advance."""
    engine = Engine(rules, start_time=start_time)
    out: list[Notification] = []
    for sample in samples:
        if len(sample) == 2:
            time, value = sample
            point = "p"
        else:
            time, point, value = sample
        out.extend(engine.feed(point, value, time))
    if until is not None:
        out.extend(engine.advance(until))
    return out


def brief(notifications: Iterable[Notification]) -> list[tuple[float, str, float | None]]:
    """(event time, event, observed value) of each notification."""
    return [(n.event_time, n.event, n.observed_value) for n in notifications]
