"""X.733-shaped alarm notifications and their JSON form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ._errors import StateFormatError
from ._parsing import brief, finite_float, load_json
from ._rules import EventType, Severity

__all__ = [
    "AlarmCleared",
    "AlarmRaised",
    "Notification",
    "ThresholdInfo",
    "notification_from_dict",
    "notification_from_json",
]


def _require_finite(value: object, field: str) -> None:
    if finite_float(value) is None:
        raise StateFormatError(f"must be a finite number, got {brief(value)}", field=field)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdInfo:
    """X.733 threshold information of a limit or stale alarm.

    ``triggered_threshold`` names the threshold (``"upper"``, ``"lower"`` or
    ``"timeout"``); ``threshold_level`` is its value and ``hysteresis`` the
    re-arm distance (X.733 expresses both as the level pair ``up(high, low)`` or
    ``down(low, high)``; ``direction`` says which). ``observed_value`` is the
    value the decision was taken on (for stale rules: seconds without a sample).
    ``arm_time`` is when the threshold was last re-armed (the previous clear),
    ``None`` if it never fired before.
    """

    triggered_threshold: str
    threshold_level: float
    hysteresis: float
    direction: Literal["up", "down"]
    observed_value: float
    arm_time: float | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("up", "down"):
            raise StateFormatError(
                f"must be 'up' or 'down', got {brief(self.direction)}", field="direction"
            )
        _require_finite(self.threshold_level, "threshold_level")
        _require_finite(self.hysteresis, "hysteresis")
        _require_finite(self.observed_value, "observed_value")
        if self.arm_time is not None:
            _require_finite(self.arm_time, "arm_time")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "triggered_threshold": self.triggered_threshold,
            "threshold_level": self.threshold_level,
            "hysteresis": self.hysteresis,
            "direction": self.direction,
            "observed_value": self.observed_value,
            "arm_time": self.arm_time,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """An X.733 alarm notification: an :class:`AlarmRaised` or an :class:`AlarmCleared`.

    ``notification_id`` grows monotonically per engine. ``event_time`` is in
    the caller's time base (the ``now`` passed to the engine). A clear carries
    perceived severity ``cleared`` and names its raise in
    ``correlated_notifications``. ``point`` is the managed object instance.
    """

    event: ClassVar[Literal["raised", "cleared"]]

    notification_id: int
    event_time: float
    event_type: EventType
    probable_cause: str
    specific_problem: str
    perceived_severity: Severity
    alarm_id: str
    alarm_class: str
    point: str
    threshold_info: ThresholdInfo | None = None
    correlated_notifications: tuple[int, ...] = ()
    additional_text: str = ""

    def __post_init__(self) -> None:
        if type(self) is Notification:
            raise TypeError("build an AlarmRaised or AlarmCleared, not a bare Notification")
        nid = self.notification_id
        if isinstance(nid, bool) or not isinstance(nid, int) or nid < 1:
            raise StateFormatError(
                f"must be an integer >= 1, got {brief(nid)}", field="notification_id"
            )
        _require_finite(self.event_time, "event_time")
        if not isinstance(self.event_type, EventType):
            raise StateFormatError(
                f"not an EventType: {brief(self.event_type)}", field="event_type"
            )
        if not isinstance(self.perceived_severity, Severity):
            raise StateFormatError(
                f"not a Severity: {brief(self.perceived_severity)}", field="perceived_severity"
            )
        for name in (
            "probable_cause",
            "specific_problem",
            "alarm_id",
            "alarm_class",
            "point",
            "additional_text",
        ):
            if not isinstance(getattr(self, name), str):
                raise StateFormatError(
                    f"must be a string, got {brief(getattr(self, name))}", field=name
                )
        for correlated in self.correlated_notifications:
            if isinstance(correlated, bool) or not isinstance(correlated, int) or correlated < 1:
                raise StateFormatError(
                    f"must hold integers >= 1, got {brief(correlated)}",
                    field="correlated_notifications",
                )

    @property
    def observed_value(self) -> float | None:
        """The observed value of the threshold info, if any."""
        return None if self.threshold_info is None else self.threshold_info.observed_value

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (snake_case X.733 attribute names plus ``event``)."""
        return {
            "event": self.event,
            "notification_id": self.notification_id,
            "event_time": self.event_time,
            "event_type": self.event_type.value,
            "probable_cause": self.probable_cause,
            "specific_problem": self.specific_problem,
            "perceived_severity": self.perceived_severity.value,
            "alarm_id": self.alarm_id,
            "alarm_class": self.alarm_class,
            "point": self.point,
            "threshold_info": (
                None if self.threshold_info is None else self.threshold_info.to_dict()
            ),
            "correlated_notifications": list(self.correlated_notifications),
            "additional_text": self.additional_text,
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as one line of JSON."""
        return json.dumps(self.to_dict(), separators=(", ", ": "))


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRaised(Notification):
    """An alarm was raised (X.733 notification with the rule's severity)."""

    event: ClassVar[Literal["raised", "cleared"]] = "raised"

    def __post_init__(self) -> None:
        Notification.__post_init__(self)
        if self.perceived_severity is Severity.CLEARED:
            raise StateFormatError(
                "a raise cannot have severity 'cleared'", field="perceived_severity"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmCleared(Notification):
    """An alarm was cleared (perceived severity ``cleared``; correlates to its raise)."""

    event: ClassVar[Literal["raised", "cleared"]] = "cleared"

    def __post_init__(self) -> None:
        Notification.__post_init__(self)
        if self.perceived_severity is not Severity.CLEARED:
            raise StateFormatError(
                "a clear must have severity 'cleared'", field="perceived_severity"
            )


def _get(data: Mapping[str, Any], key: str, types: type | tuple[type, ...], path: str) -> Any:
    if key not in data:
        raise StateFormatError("missing", field=f"{path}{key}")
    value = data[key]
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise StateFormatError(f"wrong type {type(value).__name__}", field=f"{path}{key}")
    if not isinstance(value, types):
        raise StateFormatError(f"wrong type {type(value).__name__}", field=f"{path}{key}")
    return value


def _enum_value(enum_type: Any, value: str, field: str) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        raise StateFormatError(f"unknown value {brief(value)}", field=field) from None


def notification_from_dict(data: Mapping[str, Any]) -> Notification:
    """Rebuild a notification from :meth:`Notification.to_dict` output.

    Raises :class:`alarms.StateFormatError` naming the field at fault.
    """
    if not isinstance(data, Mapping):
        raise StateFormatError(f"expected an object, got {type(data).__name__}")
    event = _get(data, "event", str, "")
    classes: dict[str, type[Notification]] = {"raised": AlarmRaised, "cleared": AlarmCleared}
    if event not in classes:
        raise StateFormatError(f"must be 'raised' or 'cleared', got {brief(event)}", field="event")
    info_data = data.get("threshold_info")
    info = None
    if info_data is not None:
        if not isinstance(info_data, Mapping):
            raise StateFormatError("expected an object or null", field="threshold_info")
        arm_time = info_data.get("arm_time")
        if arm_time is not None and (
            isinstance(arm_time, bool) or not isinstance(arm_time, (int, float))
        ):
            raise StateFormatError("expected a number or null", field="threshold_info.arm_time")
        info = ThresholdInfo(
            triggered_threshold=_get(info_data, "triggered_threshold", str, "threshold_info."),
            threshold_level=_get(info_data, "threshold_level", (int, float), "threshold_info."),
            hysteresis=_get(info_data, "hysteresis", (int, float), "threshold_info."),
            direction=_get(info_data, "direction", str, "threshold_info."),
            observed_value=_get(info_data, "observed_value", (int, float), "threshold_info."),
            arm_time=arm_time,
        )
    correlated = _get(data, "correlated_notifications", list, "")
    return classes[event](
        notification_id=_get(data, "notification_id", int, ""),
        event_time=_get(data, "event_time", (int, float), ""),
        event_type=_enum_value(EventType, _get(data, "event_type", str, ""), "event_type"),
        probable_cause=_get(data, "probable_cause", str, ""),
        specific_problem=_get(data, "specific_problem", str, ""),
        perceived_severity=_enum_value(
            Severity, _get(data, "perceived_severity", str, ""), "perceived_severity"
        ),
        alarm_id=_get(data, "alarm_id", str, ""),
        alarm_class=_get(data, "alarm_class", str, ""),
        point=_get(data, "point", str, ""),
        threshold_info=info,
        correlated_notifications=tuple(correlated),
        additional_text=_get(data, "additional_text", str, ""),
    )


def notification_from_json(text: str | bytes) -> Notification:
    """Parse the output of :meth:`Notification.to_json`.

    Raises :class:`alarms.StateFormatError` naming the field, or the offset
    in ``text`` when the text itself is not usable JSON.
    """
    return notification_from_dict(load_json(text))
