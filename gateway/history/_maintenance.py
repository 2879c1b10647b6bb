"""Downsampling and retention, once for every history backend.

:class:`MaintainedHistory` holds the rules -- which buckets are complete, where the
previous run stopped, which readings count (numeric, finite, not ``invalid``), a
counter's last value before a bucket, which whole days a retention class drops -- over a
few storage primitives that each backend writes in its own SQL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any

from ._aggregate import (
    RESOLUTIONS,
    Aggregate,
    NumericRow,
    Resolution,
    RetentionClass,
    class_of,
    make_aggregates,
)
from ._codec import KIND_DECIMAL, KIND_FLOAT, KIND_INT, decode_quality, query_micros

__all__ = ["NUMERIC_KINDS", "MaintainedHistory"]

NUMERIC_KINDS = (KIND_DECIMAL, KIND_INT, KIND_FLOAT)
"""The stored kinds that aggregate (integers, exact decimals, floats)."""


class MaintainedHistory(ABC):
    """:meth:`downsample` and :meth:`apply_retention` over the storage primitives below.

    Each primitive takes the ``handle`` that :meth:`_maintenance` yields (a connection
    or cursor inside one write transaction); times are integer microseconds UTC.
    """

    # -- storage primitives (each backend) ------------------------------------------

    @abstractmethod
    def _maintenance(self) -> AbstractContextManager[Any]:
        """One write transaction; yields the handle the primitives take."""

    @abstractmethod
    def _point_items(self) -> list[tuple[str, int]]:
        """Every point of this history: (name, id)."""

    @abstractmethod
    def _setting(self, handle: Any, key: str) -> int | None:
        """A stored time setting (``downsampled.hour``), or None."""

    @abstractmethod
    def _set_setting(self, handle: Any, key: str, micros: int) -> None:
        """Store a time setting."""

    @abstractmethod
    def _first_time(self, handle: Any) -> int | None:
        """The time of the oldest stored reading, or None when there is none."""

    @abstractmethod
    def _samples(self, handle: Any, point_id: int, start: int, end: int
                 ) -> Iterable[tuple[int, int, object, str | None, str]]:
        """One point's readings with ``start <= time < end``, oldest first:
        (time, kind, decoded value, stored quality, unit)."""

    @abstractmethod
    def _values_before(self, handle: Any, point_id: int, start: int
                       ) -> Iterable[tuple[int, object]]:
        """(kind, decoded value) of one point's numeric readings before ``start`` that are
        not ``invalid``, newest first."""

    @abstractmethod
    def _last_aggregate_before(self, handle: Any, point_id: int, resolution: Resolution,
                               start: int) -> Decimal | None:
        """The ``last`` of the newest aggregate starting before ``start``, or None."""

    @abstractmethod
    def _write_aggregates(self, handle: Any, point_id: int, resolution: Resolution,
                          aggregates: Sequence[Aggregate]) -> None:
        """Store aggregates, replacing those of the same buckets."""

    @abstractmethod
    def _delete_before(self, handle: Any, point_id: int, table: str, cutoff: int) -> int:
        """Delete one point's raw readings (``table`` "raw") or aggregates ("hour",
        "day") before ``cutoff``; returns how many."""

    # -- the shared rules ------------------------------------------------------------

    def downsample(self, until: datetime, *, since: datetime | None = None,
                   classes: Sequence[RetentionClass] = ()) -> int:
        """Compute hourly and daily aggregates of the complete buckets before ``until``.

        Buckets from ``since`` (default: where the previous call stopped, or the first
        reading) are computed anew from the raw readings; a bucket without raw readings
        (deleted by retention) keeps its aggregate. ``classes`` say which points are
        counters (aggregates with deltas). Returns the number of aggregates written.
        """
        high = query_micros(until, "until")
        low = query_micros(since, "since")
        assert high is not None
        points = self._point_items()
        written = 0
        with self._maintenance() as handle:
            for resolution, length in RESOLUTIONS.items():
                end = high - high % length
                done = self._setting(handle, f"downsampled.{resolution}")
                start = low if low is not None else done
                if start is None:
                    first = self._first_time(handle)
                    start = end if first is None else first
                start -= start % length
                for point, point_id in points:
                    written += self._downsample_point(handle, point, point_id, resolution,
                                                      start, end, class_of(point, classes))
                self._set_setting(handle, f"downsampled.{resolution}",
                                  end if done is None else max(end, done))
        return written

    def _downsample_point(self, handle: Any, point: str, point_id: int,
                          resolution: Resolution, start: int, end: int,
                          retention: RetentionClass | None) -> int:
        if start >= end:
            return 0
        rows: list[NumericRow] = []
        for time, kind, value, quality, unit in self._samples(handle, point_id, start, end):
            if kind not in NUMERIC_KINDS or "invalid" in decode_quality(quality):
                continue
            assert isinstance(value, Decimal | int | float)
            number = Decimal(value)
            if number.is_finite():
                rows.append((time, number, unit))
        if not rows:
            return 0
        counter = retention is not None and retention.counter
        # Before the first bucket with readings (raw days before it may be deleted already).
        first_bucket = rows[0][0] - rows[0][0] % RESOLUTIONS[resolution]
        previous_last = (self._last_before(handle, point_id, resolution, first_bucket)
                         if counter else None)
        aggregates = make_aggregates(point, resolution, rows, counter=counter,
                                     previous_last=previous_last)
        self._write_aggregates(handle, point_id, resolution, aggregates)
        return len(aggregates)

    def _last_before(self, handle: Any, point_id: int, resolution: Resolution,
                     start: int) -> Decimal | None:
        """The last numeric value before ``start``: from raw readings, else aggregates."""
        for _kind, value in self._values_before(handle, point_id, start):
            assert isinstance(value, Decimal | int | float)
            if Decimal(value).is_finite():
                return Decimal(value)
        return self._last_aggregate_before(handle, point_id, resolution, start)

    def apply_retention(self, classes: Sequence[RetentionClass], now: datetime) -> dict[str, int]:
        """Downsample up to ``now``, then delete what the classes no longer keep.

        A class keeping ``raw_days`` days keeps the readings since 00:00 UTC of the day
        ``raw_days`` days before today (so whole days go, never part of one); the same
        for ``hourly_days`` and ``daily_days``. Returns the rows deleted:
        ``{"raw": n, "hour": n, "day": n}``.
        """
        now_micros = query_micros(now, "now")
        assert now_micros is not None
        self.downsample(now, classes=classes)
        day = RESOLUTIONS["day"]
        today = now_micros - now_micros % day
        deleted = {"raw": 0, "hour": 0, "day": 0}
        points = self._point_items()
        with self._maintenance() as handle:
            for point, point_id in points:
                retention = class_of(point, classes)
                if retention is None:
                    continue
                for key, days in (("raw", retention.raw_days), ("hour", retention.hourly_days),
                                  ("day", retention.daily_days)):
                    if days is not None:
                        deleted[key] += self._delete_before(handle, point_id, key,
                                                            today - days * day)
        return deleted
