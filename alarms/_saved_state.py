"""Save and restore a whole engine as JSON-ready data, running delays included."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from ._core import DEFAULT_MAX_SHELVE, EngineCore
from ._errors import StateFormatError
from ._lifecycle import AckState
from ._notifications import AlarmRaised, notification_from_dict
from ._parsing import brief, finite_float, load_json
from ._rules import Rule
from ._state import RuleState
from ._status import OperatorAction, ShelveInfo

__all__ = ["STATE_FORMAT", "SavedState"]

logger = logging.getLogger(__name__)

#: Identifies the dictionaries written by :meth:`Engine.save_state`.
STATE_FORMAT = "meterkit.alarms.state"
_STATE_VERSION = 1

_Restored = TypeVar("_Restored", bound="SavedState")


class SavedState(EngineCore):
    """:meth:`save_state` and :meth:`from_state` of :class:`alarms.Engine`."""

    def save_state(self) -> dict[str, Any]:
        """The whole engine state as JSON-ready data, running delays included.

        Rebuild with :meth:`from_state` and the same rules: the restored engine
        produces the same future notifications as this one.
        """
        return {
            "format": STATE_FORMAT,
            "version": _STATE_VERSION,
            "now": self.now,
            "next_notification_id": self._next_id,
            "undelivered": [notification.to_dict() for notification in self._deferred],
            "points": {
                name: {"value": point.value, "time": point.time}
                for name, point in self._points.items()
            },
            "alarms": {
                alarm.rule.alarm_id: {
                    "condition": alarm.state.value,
                    "since": alarm.since,
                    "deadline": alarm.deadline,
                    "state": alarm.ack.value,
                    "arm_time": alarm.arm_time,
                    "observed": alarm.observed,
                    "raised": None if alarm.raised is None else alarm.raised.to_dict(),
                    "shelved": None if alarm.shelve is None else alarm.shelve.to_dict(),
                    "suppressed": alarm.suppressed,
                    "out_of_service": alarm.out_of_service,
                    "last_action": (
                        None if alarm.last_action is None else alarm.last_action.to_dict()
                    ),
                }
                for alarm in self._order
            },
        }

    @classmethod
    def from_state(
        cls: type[_Restored],
        rules: Iterable[Rule],
        state: Mapping[str, Any] | str | bytes,
        *,
        max_shelve: float = DEFAULT_MAX_SHELVE,
        strict: bool = True,
    ) -> _Restored:
        """Rebuild an engine from :meth:`save_state` output, as data or as JSON text.

        JSON text is read within bounds (size, nesting, number length); a
        fault in it raises :class:`StateFormatError` with its ``offset``.
        Alarms of rules absent from the saved state start normal. Saved alarms
        without a rule raise :class:`StateFormatError` when ``strict``, else
        they are dropped with a warning in the log.
        """
        engine = cls(rules, max_shelve=max_shelve)
        engine._load(load_json(state) if isinstance(state, (str, bytes)) else state, strict)
        return engine

    # -- internals: restore --------------------------------------------------------------------

    def _load(self, state: Mapping[str, Any], strict: bool) -> None:
        reader = _StateReader(state)
        if reader.get(state, "format", str) != STATE_FORMAT:
            raise StateFormatError(f"not a {STATE_FORMAT} document", field="format")
        version = reader.get(state, "version", int)
        if version != _STATE_VERSION:
            raise StateFormatError(f"unsupported version {version}", field="version")
        now = reader.number(state, "now", optional=True)
        self._now = -math.inf if now is None else now
        self._next_id = reader.get(state, "next_notification_id", int)
        if self._next_id < 1:
            raise StateFormatError("must be >= 1", field="next_notification_id")
        points = reader.get(state, "points", dict)
        for name, data in points.items():
            point = self._points.get(name)
            path = f"points.{name}"
            if point is None:
                continue  # a point no rule watches any more
            if not isinstance(data, Mapping):
                raise StateFormatError("expected an object", field=path)
            point.value = reader.number(data, "value", optional=True, path=path)
            point.time = reader.number(data, "time", optional=True, path=path)
        alarms = reader.get(state, "alarms", dict)
        for alarm_id, data in alarms.items():
            path = f"alarms.{alarm_id}"
            alarm = self._alarms.get(alarm_id)
            if alarm is None:
                if strict:
                    raise StateFormatError("no rule has this alarm id", field=path)
                logger.warning("dropping saved state of unknown alarm %s", alarm_id)
                continue
            if not isinstance(data, Mapping):
                raise StateFormatError("expected an object", field=path)
            alarm.state = reader.enum(RuleState, data, "condition", path)
            alarm.ack = reader.enum(AckState, data, "state", path)
            alarm.since = reader.number(data, "since", optional=True, path=path)
            alarm.deadline = reader.number(data, "deadline", optional=True, path=path)
            alarm.arm_time = reader.number(data, "arm_time", optional=True, path=path)
            observed = reader.number(data, "observed", path=path)
            assert observed is not None
            alarm.observed = observed
            pending = alarm.state in (RuleState.RAISE_PENDING, RuleState.CLEAR_PENDING)
            if pending != (alarm.deadline is not None) or pending != (alarm.since is not None):
                raise StateFormatError(
                    "a deadline and its start are present exactly while a delay runs",
                    field=f"{path}.deadline",
                )
            raised = data.get("raised")
            if raised is not None:
                notification = notification_from_dict(raised)
                if not isinstance(notification, AlarmRaised):
                    raise StateFormatError("expected a raise", field=f"{path}.raised")
                alarm.raised = notification
            busy = alarm.ack is not AckState.NORMAL or alarm.state is not RuleState.NORMAL
            if busy and not alarm.is_stale and alarm.point.value is None:
                raise StateFormatError(
                    "a limit alarm that is not normal needs its point's last value",
                    field=f"points.{alarm.rule.point}.value",
                )
            if alarm.ack is not AckState.NORMAL and alarm.raised is None:
                raise StateFormatError(
                    "an active or unacknowledged alarm needs its raise", field=f"{path}.raised"
                )
            shelved = data.get("shelved")
            if shelved is not None:
                spath = f"{path}.shelved"
                if not isinstance(shelved, Mapping):
                    raise StateFormatError("expected an object or null", field=spath)
                kind = reader.get(shelved, "kind", str, spath)
                if kind not in ("timed", "one_shot"):
                    raise StateFormatError(
                        f"unknown shelve kind {brief(kind)}", field=f"{spath}.kind"
                    )
                since = reader.number(shelved, "since", path=spath)
                until = reader.number(shelved, "until", path=spath)
                assert since is not None and until is not None
                alarm.shelve = ShelveInfo(
                    kind=kind,
                    since=since,
                    until=until,
                    reason=reader.get(shelved, "reason", str, spath),
                )
            alarm.suppressed = reader.optional_text(data, "suppressed", path)
            alarm.out_of_service = reader.optional_text(data, "out_of_service", path)
            last = data.get("last_action")
            if last is not None:
                lpath = f"{path}.last_action"
                if not isinstance(last, Mapping):
                    raise StateFormatError("expected an object or null", field=lpath)
                time = reader.number(last, "time", path=lpath)
                assert time is not None
                alarm.last_action = OperatorAction(
                    action=reader.get(last, "action", str, lpath),
                    time=time,
                    reason=reader.get(last, "reason", str, lpath),
                )
        undelivered = reader.get(state, "undelivered", list)
        self._rearm([notification_from_dict(item) for item in undelivered])


class _StateReader:
    """Typed access to saved state with errors that name the field."""

    def __init__(self, root: object) -> None:
        if not isinstance(root, Mapping):
            raise StateFormatError(f"expected an object, got {type(root).__name__}")

    @staticmethod
    def get(data: Mapping[str, Any], key: str, kind: type, path: str = "") -> Any:
        field = f"{path}.{key}" if path else key
        if key not in data:
            raise StateFormatError("missing", field=field)
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise StateFormatError(f"expected {kind.__name__}, got {brief(value)}", field=field)
        return value

    @staticmethod
    def number(
        data: Mapping[str, Any], key: str, *, optional: bool = False, path: str = ""
    ) -> float | None:
        field = f"{path}.{key}" if path else key
        if key not in data:
            raise StateFormatError("missing", field=field)
        value = data[key]
        if value is None and optional:
            return None
        number = finite_float(value)
        if number is None:
            raise StateFormatError(f"expected a finite number, got {brief(value)}", field=field)
        return number

    @staticmethod
    def enum(enum_type: Any, data: Mapping[str, Any], key: str, path: str) -> Any:
        value = _StateReader.get(data, key, str, path)
        try:
            return enum_type(value)
        except ValueError:
            raise StateFormatError(f"unknown value {brief(value)}", field=f"{path}.{key}") from None

    @staticmethod
    def optional_text(data: Mapping[str, Any], key: str, path: str) -> str | None:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise StateFormatError(
                f"expected a string or null, got {brief(value)}", field=f"{path}.{key}"
            )
        return value
