"""The mutable state the engine keeps per point and per rule (internal)."""

from __future__ import annotations

import math

from ._lifecycle import AckState
from ._notifications import AlarmRaised
from ._rules import LimitRule, Rule, StaleRule
from ._state import Input, RuleState, quiet_inputs
from ._status import OperatorAction, ShelveInfo

__all__ = ["AlarmRecord", "PointRecord"]

_INF = math.inf
# A rule's sample inputs ordered from low to high values.
_UPPER_AXIS = (Input.CLEAR, Input.DEADBAND, Input.CONDITION)
_LOWER_AXIS = (Input.CONDITION, Input.DEADBAND, Input.CLEAR)


class PointRecord:
    """Per-point state: last sample and the quiet interval of its rules."""

    __slots__ = ("alarms", "hi", "lo", "name", "time", "value")

    def __init__(self, name: str) -> None:
        self.name = name
        self.value: float | None = None
        self.time: float | None = None
        self.alarms: list[AlarmRecord] = []
        self.lo = _INF
        self.hi = -_INF


class AlarmRecord:
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

    def __init__(self, rule: Rule, index: int, point: PointRecord) -> None:
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
