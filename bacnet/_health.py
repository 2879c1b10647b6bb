"""Per-device communication state for the poller, as plain data (no I/O, no clock).

A device is ``ok`` until ``failures_to_fail`` requests in a row fail, then ``failed``
until one succeeds. Each change of state is returned once, for the gateway to hand to
its alarms engine (a device-failure watchdog raises on ``failed`` and clears on ``ok``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from profiles import PointReading

from ._points import PointSpec

__all__ = [
    "BINARY_OBJECT_TYPES",
    "MULTI_STATE_OBJECT_TYPES",
    "STATE_TEXT_SUFFIX",
    "DeviceHealth",
    "DeviceStatus",
    "comm_failure",
    "reading_from_value",
    "state_text_reading",
]

BINARY_OBJECT_TYPES = frozenset({"binary-input", "binary-output", "binary-value"})
"""Object types whose present value (``active``/``inactive``) is read as a boolean."""

BINARY_PROPERTIES = frozenset({"present-value", "relinquish-default", "alarm-value",
                               "feedback-value"})
"""Properties of a binary object that hold a BinaryPV (read as True/False)."""

MULTI_STATE_OBJECT_TYPES = frozenset({"multi-state-input", "multi-state-output",
                                      "multi-state-value"})
"""Object types whose present value is a state number (1 .. number-of-states); their
state-text, where the device has it, gives the state's name (:func:`state_text_reading`)."""

STATE_TEXT_SUFFIX = "/state_text"
"""A multi-state point's state name is the reading ``<point>/state_text``."""

_BINARY_STATES = {"active": True, "inactive": False}


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStatus:
    """A device's communication state after a change: ``state`` ``ok`` or ``failed``,
    ``failures`` in a row, when it last answered, the last error's text."""

    device: str
    address: str
    state: Literal["ok", "failed"]
    failures: int
    last_ok: datetime | None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"device": self.device, "address": self.address, "state": self.state,
                "failures": self.failures,
                "last_ok": self.last_ok.isoformat() if self.last_ok else None,
                "error": self.error}


class DeviceHealth:
    """The communication state of one device."""

    def __init__(self, device: str, address: str, *, failures_to_fail: int = 1) -> None:
        if failures_to_fail < 1:
            raise ValueError("failures_to_fail must be at least 1")
        self.device = device
        self.address = address
        self.failures_to_fail = failures_to_fail
        self.state: Literal["ok", "failed"] = "ok"
        self.failures = 0
        self.last_ok: datetime | None = None

    def answered(self, now: datetime) -> DeviceStatus | None:
        """The device answered; its new status when that ends a failure."""
        self.failures = 0
        self.last_ok = now
        if self.state == "failed":
            self.state = "ok"
            return self._status("")
        return None

    def failed(self, error: str) -> DeviceStatus | None:
        """A request to the device failed; its new status when that makes it failed."""
        self.failures += 1
        if self.state == "ok" and self.failures >= self.failures_to_fail:
            self.state = "failed"
            return self._status(error)
        return None

    def _status(self, error: str) -> DeviceStatus:
        return DeviceStatus(device=self.device, address=self.address, state=self.state,
                            failures=self.failures, last_ok=self.last_ok, error=error)


def reading_from_value(spec: PointSpec, value: Any, status_flags: Any, time: datetime
                       ) -> PointReading:
    """A meterkit reading of a point from what the device answered.

    ``value`` is the JSON form of the property (a REAL stays a float; an integer an int,
    so a multi-state object's state is its number; the present value of a binary object,
    ``active`` or ``inactive``, becomes True or False; other enumerations stay text),
    ``status_flags`` the object's status
    flags as a list of 0/1 or None. A refused property (``{"error": ...}``) gives no value
    and quality ``invalid``; the fault flag quality ``invalid``; out-of-service
    ``estimated``.
    """
    quality: list[str] = []
    result: Decimal | int | float | str | bool | None
    if isinstance(value, dict):
        result = None
        quality.append("invalid")
    elif spec.object_type in BINARY_OBJECT_TYPES and spec.property_name in BINARY_PROPERTIES \
            and value in _BINARY_STATES:
        result = _BINARY_STATES[value]
    elif isinstance(value, (bool, int, float, str)):
        result = value
    else:
        result = str(value)
    if isinstance(status_flags, list) and len(status_flags) == 4:
        if status_flags[1] and "invalid" not in quality:
            quality.append("invalid")
        if status_flags[3]:
            quality.append("estimated")
    return PointReading(point=spec.point, time=time, value=result, unit=spec.unit,
                        quantity=spec.quantity, quality=tuple(quality))


def comm_failure(spec: PointSpec, time: datetime) -> PointReading:
    """The reading of a point whose device did not answer."""
    return PointReading(point=spec.point, time=time, value=None, unit=spec.unit,
                        quantity=spec.quantity, quality=("comm_failure",))


def state_text_reading(reading: PointReading, texts: Sequence[str]) -> PointReading | None:
    """The companion reading ``<point>/state_text`` of a multi-state reading: the name
    of its state from the object's state-text (state 1 is ``texts[0]``); None when the
    reading has no state number or the device gave no text for it."""
    state = reading.value
    if isinstance(state, bool) or not isinstance(state, int) or not 1 <= state <= len(texts):
        return None
    return PointReading(point=reading.point + STATE_TEXT_SUFFIX, time=reading.time,
                        value=texts[state - 1], unit="", quantity="state text",
                        quality=reading.quality)
