"""Rule definitions: limit rules (upper, lower) and stale (device failure) rules."""

from __future__ import annotations

import enum
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._errors import RuleError
from ._parsing import brief, finite_float

__all__ = [
    "LIMIT_PLACEHOLDERS",
    "RULE_SEVERITIES",
    "STALE_PLACEHOLDERS",
    "EventType",
    "LimitRule",
    "Rule",
    "Severity",
    "StaleRule",
    "render_text",
]


class Severity(enum.Enum):
    """X.733 perceived severity; rules use the four alarm levels, clears use ``CLEARED``."""

    CLEARED = "cleared"
    INDETERMINATE = "indeterminate"
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


#: Severities a rule may carry (ISA-18.2 priorities mapped onto X.733 levels).
RULE_SEVERITIES: frozenset[Severity] = frozenset(
    {Severity.WARNING, Severity.MINOR, Severity.MAJOR, Severity.CRITICAL}
)


class EventType(enum.Enum):
    """X.733 event types of alarm notifications."""

    COMMUNICATIONS = "communicationsAlarm"
    QUALITY_OF_SERVICE = "qualityOfServiceAlarm"
    PROCESSING_ERROR = "processingErrorAlarm"
    EQUIPMENT = "equipmentAlarm"
    ENVIRONMENTAL = "environmentalAlarm"


_COMMON_PLACEHOLDERS = (
    "value",
    "limit",
    "point",
    "alarm_id",
    "alarm_class",
    "severity",
    "kind",
    "time",
    "event",
)
#: Placeholders allowed in the texts of limit rules.
LIMIT_PLACEHOLDERS: tuple[str, ...] = (*_COMMON_PLACEHOLDERS, "hysteresis")
#: Placeholders allowed in the texts of stale rules (``value`` is the age in seconds).
STALE_PLACEHOLDERS: tuple[str, ...] = (*_COMMON_PLACEHOLDERS, "timeout")

_FORMATTER = string.Formatter()
#: Largest width or precision in a text template's format spec: a notification
#: text is one line, and ``{value:>999999999}`` would render a gigabyte.
MAX_SPEC_NUMBER = 200
_DIGITS = re.compile(r"[0-9]+")


def _check_template(
    template: object, field: str, allowed: tuple[str, ...], sample: Mapping[str, object]
) -> None:
    if not isinstance(template, str):
        raise RuleError(f"must be a string, got {type(template).__name__}", field=field)
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise RuleError(f"bad template {template!r}: {exc}", field=field) from None
    for _literal, name, spec, _conversion in parsed:
        if name is None:
            continue
        if name not in allowed:
            raise RuleError(
                f"unknown placeholder {{{name}}} in {template!r}; "
                f"allowed: {', '.join('{' + p + '}' for p in allowed)}",
                field=field,
            )
        if spec and "{" in spec:
            raise RuleError(f"nested placeholders are not allowed in {template!r}", field=field)
        if spec and any(
            len(digits) > 3 or int(digits) > MAX_SPEC_NUMBER for digits in _DIGITS.findall(spec)
        ):
            raise RuleError(
                f"format {{{name}:{spec}}}: widths and precisions go up to {MAX_SPEC_NUMBER}",
                field=field,
            )
    try:
        template.format_map(sample)
    except (ValueError, TypeError) as exc:
        raise RuleError(f"template {template!r} does not render: {exc}", field=field) from None


def render_text(template: str, values: Mapping[str, object]) -> str:
    """Fill a rule text template; ``values`` must hold every allowed placeholder."""
    return template.format_map(values)


def _finite(
    value: object, field: str, *, minimum: float | None = None, positive: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RuleError(f"must be a number, got {brief(value)}", field=field)
    number = finite_float(value)
    if number is None:
        raise RuleError(f"must be finite, got {brief(value)}", field=field)
    if minimum is not None and number < minimum:
        raise RuleError(f"must be >= {minimum:g}, got {brief(value)}", field=field)
    if positive and number <= 0:
        raise RuleError(f"must be > 0, got {brief(value)}", field=field)
    return number


def _enum(enum_type: type[enum.Enum], value: object, field: str) -> Any:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        choices = ", ".join(str(member.value) for member in enum_type)
        raise RuleError(
            f"unknown value {brief(value)}; expected one of: {choices}", field=field
        ) from None


def _text(value: object, field: str, *, empty_ok: bool = True) -> str:
    if not isinstance(value, str):
        raise RuleError(f"must be a string, got {brief(value)}", field=field)
    if not empty_ok and not value:
        raise RuleError("must not be empty", field=field)
    return value


def _sample_values(kind: str, allowed: tuple[str, ...]) -> dict[str, object]:
    sample: dict[str, object] = {
        "value": 1.5,
        "limit": 2.0,
        "hysteresis": 0.5,
        "timeout": 60.0,
        "point": "p",
        "alarm_id": "a",
        "alarm_class": "c",
        "severity": "major",
        "kind": kind,
        "time": 0.0,
        "event": "raised",
    }
    return {name: sample[name] for name in allowed}


_LIMIT_DEFAULT_TEXTS = {
    "upper": (
        "{point}: {value} crossed the upper limit {limit}",
        "{point}: {value} back below the upper limit {limit}",
    ),
    "lower": (
        "{point}: {value} crossed the lower limit {limit}",
        "{point}: {value} back above the lower limit {limit}",
    ),
}


def _check_common(rule: LimitRule | StaleRule) -> None:
    """Check and normalise the fields every rule kind has (severity, event type, ids)."""
    put = object.__setattr__
    severity = _enum(Severity, rule.severity, "severity")
    if severity not in RULE_SEVERITIES:
        raise RuleError(
            f"{severity.value!r} is not an alarm severity; use warning, minor, major or critical",
            field="severity",
        )
    put(rule, "severity", severity)
    put(rule, "event_type", _enum(EventType, rule.event_type, "event_type"))
    _text(rule.probable_cause, "probable_cause", empty_ok=False)
    put(rule, "alarm_id", _text(rule.alarm_id, "alarm_id") or f"{rule.point}.{rule.kind}")
    _text(rule.alarm_class, "alarm_class")


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitRule:
    """A limit on one point: ``kind="upper"`` or ``"lower"``.

    An upper rule's condition holds while ``value >= limit`` (``value > limit``
    when ``inclusive`` is false); it raises once the condition has held
    continuously for ``raise_delay`` seconds and clears once
    ``value < limit - hysteresis`` (``<=`` when not inclusive) has held for
    ``clear_delay`` seconds. A lower rule mirrors it (``value <= limit``, clears
    on ``value > limit + hysteresis``). High-high and low-low limits are simply
    further rules with their own ``alarm_id``.

    ``alarm_id`` defaults to ``"<point>.<kind>"``; ``specific_problem`` to
    ``"<kind> limit"``. ``raise_text`` and ``clear_text`` are templates with the
    placeholders in :data:`LIMIT_PLACEHOLDERS`. A ``latch`` rule stays in alarm
    after its condition returns to normal until :meth:`alarms.Engine.reset`.
    """

    point: str
    kind: Literal["upper", "lower"]
    limit: float
    hysteresis: float = 0.0
    raise_delay: float = 0.0
    clear_delay: float = 0.0
    inclusive: bool = True
    severity: Severity = Severity.WARNING
    alarm_id: str = ""
    alarm_class: str = ""
    raise_text: str = ""
    clear_text: str = ""
    event_type: EventType = EventType.QUALITY_OF_SERVICE
    probable_cause: str = "thresholdCrossed"
    specific_problem: str = ""
    latch: bool = False

    def __post_init__(self) -> None:
        put = object.__setattr__
        _text(self.point, "point", empty_ok=False)
        if self.kind not in ("upper", "lower"):
            raise RuleError(f"must be 'upper' or 'lower', got {brief(self.kind)}", field="kind")
        put(self, "limit", _finite(self.limit, "limit"))
        put(self, "hysteresis", _finite(self.hysteresis, "hysteresis", minimum=0.0))
        put(self, "raise_delay", _finite(self.raise_delay, "raise_delay", minimum=0.0))
        put(self, "clear_delay", _finite(self.clear_delay, "clear_delay", minimum=0.0))
        for flag in ("inclusive", "latch"):
            if not isinstance(getattr(self, flag), bool):
                raise RuleError(
                    f"must be true or false, got {brief(getattr(self, flag))}", field=flag
                )
        _check_common(self)
        put(
            self,
            "specific_problem",
            _text(self.specific_problem, "specific_problem") or f"{self.kind} limit",
        )
        raise_default, clear_default = _LIMIT_DEFAULT_TEXTS[self.kind]
        put(self, "raise_text", _text(self.raise_text, "raise_text") or raise_default)
        put(self, "clear_text", _text(self.clear_text, "clear_text") or clear_default)
        sample = _sample_values(self.kind, LIMIT_PLACEHOLDERS)
        _check_template(self.raise_text, "raise_text", LIMIT_PLACEHOLDERS, sample)
        _check_template(self.clear_text, "clear_text", LIMIT_PLACEHOLDERS, sample)

    def condition(self, value: float) -> bool:
        """Whether the alarm condition holds for ``value``."""
        if self.kind == "upper":
            return value >= self.limit if self.inclusive else value > self.limit
        return value <= self.limit if self.inclusive else value < self.limit

    def clear_condition(self, value: float) -> bool:
        """Whether the clear condition (beyond the hysteresis) holds for ``value``."""
        if self.kind == "upper":
            threshold = self.limit - self.hysteresis
            return value < threshold if self.inclusive else value <= threshold
        threshold = self.limit + self.hysteresis
        return value > threshold if self.inclusive else value >= threshold

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain data (the keys of a ``[[rule]]`` table)."""
        return {
            "point": self.point,
            "kind": self.kind,
            "limit": self.limit,
            "hysteresis": self.hysteresis,
            "raise_delay": self.raise_delay,
            "clear_delay": self.clear_delay,
            "inclusive": self.inclusive,
            "severity": self.severity.value,
            "alarm_id": self.alarm_id,
            "alarm_class": self.alarm_class,
            "raise_text": self.raise_text,
            "clear_text": self.clear_text,
            "event_type": self.event_type.value,
            "probable_cause": self.probable_cause,
            "specific_problem": self.specific_problem,
            "latch": self.latch,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class StaleRule:
    """Device failure: no sample of ``point`` for ``timeout`` seconds.

    Raises a ``communicationsAlarm`` with probable cause ``lossOfSignal`` at
    last sample + ``timeout``; the next sample clears it. ``alarm_id`` defaults
    to ``"<point>.stale"``. Texts use the placeholders in
    :data:`STALE_PLACEHOLDERS`; there ``value`` is the age of the last sample.
    """

    point: str
    timeout: float
    severity: Severity = Severity.WARNING
    alarm_id: str = ""
    alarm_class: str = ""
    raise_text: str = ""
    clear_text: str = ""
    event_type: EventType = EventType.COMMUNICATIONS
    probable_cause: str = "lossOfSignal"
    specific_problem: str = "no data"
    latch: bool = False

    @property
    def kind(self) -> Literal["stale"]:
        """Always ``"stale"``."""
        return "stale"

    def __post_init__(self) -> None:
        put = object.__setattr__
        _text(self.point, "point", empty_ok=False)
        put(self, "timeout", _finite(self.timeout, "timeout", positive=True))
        if not isinstance(self.latch, bool):
            raise RuleError(f"must be true or false, got {brief(self.latch)}", field="latch")
        _check_common(self)
        _text(self.specific_problem, "specific_problem")
        put(
            self,
            "raise_text",
            _text(self.raise_text, "raise_text") or "{point}: no data for {timeout} s",
        )
        put(
            self,
            "clear_text",
            _text(self.clear_text, "clear_text") or "{point}: data again after {value} s",
        )
        sample = _sample_values("stale", STALE_PLACEHOLDERS)
        _check_template(self.raise_text, "raise_text", STALE_PLACEHOLDERS, sample)
        _check_template(self.clear_text, "clear_text", STALE_PLACEHOLDERS, sample)

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain data (the keys of a ``[[rule]]`` table)."""
        return {
            "point": self.point,
            "kind": "stale",
            "timeout": self.timeout,
            "severity": self.severity.value,
            "alarm_id": self.alarm_id,
            "alarm_class": self.alarm_class,
            "raise_text": self.raise_text,
            "clear_text": self.clear_text,
            "event_type": self.event_type.value,
            "probable_cause": self.probable_cause,
            "specific_problem": self.specific_problem,
            "latch": self.latch,
        }


#: Any rule the engine accepts.
Rule = LimitRule | StaleRule
