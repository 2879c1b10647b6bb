"""The history backend protocol: what the gateway, the web page and notebooks use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

import alarms
from profiles import PointReading, Reading

from ._aggregate import Aggregate, Resolution, RetentionClass
from ._alarm_record import AlarmRecord
from ._audit import AuditEntry

__all__ = ["HistoryBackend"]


class HistoryBackend(Protocol):
    """A store of readings, aggregates, alarm notifications and the audit log.

    :class:`~gateway.history.SQLiteHistory` is the default; a server database
    implements the same methods. Rules every backend keeps:

    - Times are timezone-aware datetimes in, UTC datetimes out, exact to the microsecond.
    - A value comes back as the type it went in (Decimal with its exponent, int, float,
      str, bool, None); unit, quantity and quality flags unchanged.
    - A reading is identified by (point, time): appending one that is stored already
      changes nothing (so a batch re-sent after a crash is not duplicated).
    - Each call that writes is one transaction: all of it is stored, or (on an error)
      nothing; once it returned, a crash of the process does not lose it.
    - Ranges are half-open ``[since, until)``; None leaves that end open.
    - Bad arguments raise :class:`~gateway.history.QueryError`, items that cannot be
      stored :class:`~gateway.history.ReadingError`.
    """

    def append(self, readings: Iterable[Reading]) -> int:
        """Store a batch of readings in one transaction; return how many were new."""
        ...

    def readings(self, point: str, since: datetime | None = None,
                 until: datetime | None = None) -> list[PointReading]:
        """One point's readings with ``since <= time < until``, oldest first."""
        ...

    def latest(self, points: Iterable[str] | None = None) -> dict[str, PointReading]:
        """The newest reading of each point (of ``points``, or of all), by point name."""
        ...

    def points(self) -> list[str]:
        """The names of all points that have readings, sorted."""
        ...

    def downsample(self, until: datetime, *, since: datetime | None = None,
                   classes: Sequence[RetentionClass] = ()) -> int:
        """Compute hourly and daily aggregates of complete buckets ending by ``until``.

        Buckets from ``since`` (default: where the previous call stopped) are computed
        anew from the raw readings; ``classes`` say which points are counters. Returns
        the number of aggregates written.
        """
        ...

    def aggregates(self, point: str, resolution: Resolution, since: datetime | None = None,
                   until: datetime | None = None) -> list[Aggregate]:
        """One point's aggregates of ``resolution`` ("hour" or "day") starting in range."""
        ...

    def apply_retention(self, classes: Sequence[RetentionClass], now: datetime) -> dict[str, int]:
        """Downsample up to ``now``, then delete what the classes no longer keep.

        Deletes whole UTC days only. Returns the rows deleted per table kind:
        ``{"raw": n, "hour": n, "day": n}``.
        """
        ...

    def append_alarm(self, notification: alarms.Notification, time: datetime) -> None:
        """Store an alarm notification (raise or clear) received at wall time ``time``."""
        ...

    def alarms(self, since: datetime | None = None, until: datetime | None = None, *,
               point: str | None = None) -> list[AlarmRecord]:
        """Stored notifications in the time range (of one point), oldest first."""
        ...

    def active_alarms(self) -> list[AlarmRecord]:
        """The raise of every alarm whose latest notification is a raise, oldest first."""
        ...

    def append_audit(self, entry: AuditEntry) -> None:
        """Add an entry to the audit log."""
        ...

    def audit(self, since: datetime | None = None, until: datetime | None = None, *,
              kinds: Sequence[str] = (), limit: int | None = None,
              newest_first: bool = False) -> list[AuditEntry]:
        """Audit entries in the range (of ``kinds``, all when empty), at most ``limit``."""
        ...

    def close(self) -> None:
        """Release the store; the object is unusable afterwards."""
        ...
