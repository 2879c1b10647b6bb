"""What the web page shows, as a small protocol the gateway implements.

The page never reaches into the gateway's internals: it asks a :class:`WebSource` for
plain rows (current values, a point's history, alarms, logs, the configuration) and
hands acknowledgements and login attempts back to it. The gateway's adapter reads its
history backend and alarms engine; tests can implement the protocol with a few lists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

__all__ = ["AlarmView", "LogEntry", "PlotSeries", "PointView", "WebSource"]


@dataclass(frozen=True, slots=True)
class PointView:
    """The current value of one point, as the history stores it.

    ``point`` is the name stored in the history (``site/flat3/heat/total_kwh``), so a user
    can find the same point in ``meterkit history``. ``quality`` is empty when good.
    """

    point: str
    meter: str
    value: Decimal | int | float | str | bool | None
    unit: str
    time: dt.datetime
    quality: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlotSeries:
    """One point's readings in a time window, numeric values only (text values left out)."""

    point: str
    unit: str
    times: tuple[dt.datetime, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class AlarmView:
    """An alarm that is active or not yet acknowledged."""

    alarm_id: str
    point: str
    severity: str
    text: str
    raised_at: dt.datetime
    active: bool
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of the delivery or audit log."""

    time: dt.datetime
    kind: str
    message: str


class WebSource(Protocol):
    """The data the page shows and the actions it hands back (the gateway implements it)."""

    def current_values(self) -> list[PointView]:
        """The latest reading of every point, in display order."""
        ...

    def series(self, point: str, since: dt.datetime, until: dt.datetime) -> PlotSeries | None:
        """One point's numeric readings in ``[since, until)``; None for an unknown point."""
        ...

    def alarms(self) -> list[AlarmView]:
        """Active alarms and cleared ones still waiting for an acknowledgement."""
        ...

    def acknowledge(self, alarm_id: str, user: str) -> bool:
        """Acknowledge one alarm on behalf of ``user``; False when no such alarm is open."""
        ...

    def logs(self, kinds: tuple[str, ...], limit: int) -> list[LogEntry]:
        """The newest ``limit`` log lines of the given kinds (all kinds when empty), newest
        first."""
        ...

    def audit(self, kind: str, message: str) -> None:
        """Record an event of the page (logins, failed logins, acknowledgements) in the
        audit log."""
        ...

    def configuration(self) -> str:
        """The site configuration as text, secrets already removed (shown read-only)."""
        ...

    def backup(self) -> bytes | None:
        """An encrypted configuration backup to download, or None when the gateway has no
        backup passphrase configured."""
        ...
