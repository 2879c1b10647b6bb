"""Events (what happened on a channel) and readings (what a channel shows now)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeAlias

__all__ = [
    "EdgesLost",
    "Event",
    "PulseCounted",
    "PulseRejected",
    "RejectReason",
    "S0Reading",
    "TotalRolledOver",
]


class RejectReason(str, enum.Enum):
    """Why a high phase of the debounced signal was not counted as a pulse."""

    #: the high phase lasted less than ``min_on``
    ON_TOO_SHORT = "on_too_short"
    #: the low phase before it lasted less than ``min_off`` (pulses too close together)
    OFF_TOO_SHORT = "off_too_short"
    #: the input was already high when observation began, so its length is unknown
    START_UNKNOWN = "start_unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class PulseCounted:
    """A valid pulse, counted when its end was confirmed (at ``end`` + debounce).

    Times are seconds on the caller's clock; ``start`` and ``end`` are the raw edges that
    began the stable high and stable low phase. Durations are ``None`` where unknown (a bare
    pulse time, or a low phase that began before observation).
    """

    channel: str
    start: float
    end: float
    on_duration: float | None
    off_duration: float | None
    pulses: int
    total: Decimal

    def to_dict(self) -> dict[str, object]:
        """JSON-compatible form; ``total`` as a decimal string."""
        return {
            "event": "counted",
            "channel": self.channel,
            "start": self.start,
            "end": self.end,
            "on_duration": self.on_duration,
            "off_duration": self.off_duration,
            "pulses": self.pulses,
            "total": str(self.total),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PulseRejected:
    """A high phase of the debounced signal that is not a pulse, with the reason.

    ``rejected`` is the channel's count of rejected pulses including this one.
    """

    channel: str
    start: float | None
    end: float
    on_duration: float | None
    off_duration: float | None
    reason: RejectReason
    rejected: int

    def to_dict(self) -> dict[str, object]:
        """JSON-compatible form; ``reason`` as its string value."""
        return {
            "event": "rejected",
            "channel": self.channel,
            "start": self.start,
            "end": self.end,
            "on_duration": self.on_duration,
            "off_duration": self.off_duration,
            "reason": self.reason.value,
            "rejected": self.rejected,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TotalRolledOver:
    """The total passed the register's roll-over value and restarted from zero.

    Emitted right after the ``PulseCounted`` that made it wrap; ``total`` is the wrapped value.
    """

    channel: str
    time: float
    total: Decimal
    rollover: Decimal

    def to_dict(self) -> dict[str, object]:
        """JSON-compatible form; decimals as strings."""
        return {
            "event": "rolled_over",
            "channel": self.channel,
            "time": self.time,
            "total": str(self.total),
            "rollover": str(self.rollover),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgesLost:
    """An input adapter saw a gap in the kernel's edge sequence numbers: ``missing`` edges
    were dropped (the kernel's event buffer overflowed), so pulses may be missing."""

    channel: str
    time: float
    missing: int

    def to_dict(self) -> dict[str, object]:
        """JSON-compatible form."""
        return {
            "event": "edges_lost",
            "channel": self.channel,
            "time": self.time,
            "missing": self.missing,
        }


#: Anything a channel or an adapter reports.
Event: TypeAlias = PulseCounted | PulseRejected | TotalRolledOver | EdgesLost


@dataclass(frozen=True, slots=True, kw_only=True)
class S0Reading:
    """What one channel shows at ``time``: counts, total and power/flow.

    ``power`` is in ``power_unit`` (``unit`` per hour), ``None`` while fewer than two pulses
    give an interval (and no timeout has made it zero).
    """

    channel: str
    time: float
    pulses: int
    rejected: int
    total: Decimal
    unit: str
    power: float | None
    power_unit: str
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-compatible form; ``total`` as a decimal string."""
        return {
            "channel": self.channel,
            "time": self.time,
            "pulses": self.pulses,
            "rejected": self.rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "total": str(self.total),
            "unit": self.unit,
            "power": self.power,
            "power_unit": self.power_unit,
        }
