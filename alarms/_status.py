"""Snapshots of an alarm: what a subscriber or an operator display shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ._lifecycle import AckState
from ._notifications import AlarmRaised
from ._rules import Severity
from ._state import RuleState

__all__ = ["AlarmStatus", "OperatorAction", "ShelveInfo"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ShelveInfo:
    """How an alarm is shelved: ``kind`` is ``"timed"`` or ``"one_shot"``.

    A one-shot shelve also ends when the alarm clears; both end at ``until``
    at the latest.
    """

    kind: Literal["timed", "one_shot"]
    since: float
    until: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"kind": self.kind, "since": self.since, "until": self.until, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorAction:
    """The last operator action on an alarm, with its reason."""

    action: str
    time: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"action": self.action, "time": self.time, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmStatus:
    """A snapshot of one alarm.

    ``condition`` is the rule machine's state, ``state`` the ISA-18.2 state;
    ``active`` says whether subscribers have seen a raise without its clear.
    ``raised`` is that raise (or the last one, while awaiting acknowledgement).
    ``pending_deadline`` is when a running raise or clear delay expires.
    """

    alarm_id: str
    point: str
    kind: Literal["upper", "lower", "stale"]
    severity: Severity
    alarm_class: str
    condition: RuleState
    state: AckState
    active: bool
    raised: AlarmRaised | None
    shelved: ShelveInfo | None
    suppressed: str | None
    out_of_service: str | None
    last_action: OperatorAction | None
    pending_deadline: float | None

    @property
    def acknowledged(self) -> bool:
        """True unless the alarm awaits an acknowledgement."""
        return self.state not in (
            AckState.UNACKNOWLEDGED,
            AckState.RTN_UNACKNOWLEDGED,
            AckState.LATCHED_UNACKNOWLEDGED,
        )

    @property
    def latched(self) -> bool:
        """True while a latched alarm awaits its reset."""
        return self.state in (AckState.LATCHED_UNACKNOWLEDGED, AckState.LATCHED_ACKNOWLEDGED)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "alarm_id": self.alarm_id,
            "point": self.point,
            "kind": self.kind,
            "severity": self.severity.value,
            "alarm_class": self.alarm_class,
            "condition": self.condition.value,
            "state": self.state.value,
            "active": self.active,
            "acknowledged": self.acknowledged,
            "latched": self.latched,
            "raised": None if self.raised is None else self.raised.to_dict(),
            "shelved": None if self.shelved is None else self.shelved.to_dict(),
            "suppressed": self.suppressed,
            "out_of_service": self.out_of_service,
            "last_action": None if self.last_action is None else self.last_action.to_dict(),
            "pending_deadline": self.pending_deadline,
        }
