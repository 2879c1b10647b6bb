"""A Trend Log's buffer as plain data: records, sequence numbers, Buffer_Ready counting
and the ReadRange selections (by position, by sequence number, by time).

No bacpypes3 and no clock: the server feeds records in and encodes what comes out.
Semantics follow ANSI/ASHRAE 135 clause 12.25 (Trend Log) and 15.8 (ReadRange).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from profiles import Reading

__all__ = ["HistorySource", "LogRecord", "RangeResult", "TrendBuffer"]

_SEQUENCE_MODULUS = 2**32  # total-record-count and sequence numbers are Unsigned32, 0 skipped


class HistorySource(Protocol):
    """Where Trend Logs get their records: the gateway connects its history here.

    ``readings(point, since, until)`` returns the point's readings with
    ``since <= time < until`` in time order (``since`` None: from the start).
    """

    def readings(self, point: str, since: datetime | None, until: datetime
                 ) -> Iterable[Reading]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRecord:
    """One Trend Log record: when, the value (None: no number, logged as a null datum),
    whether the point was in fault, and the record's sequence number."""

    sequence: int
    time: datetime
    value: float | None
    fault: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeResult:
    """What a ReadRange returns: the records, and the first/last/more item flags."""

    records: tuple[LogRecord, ...]
    first_item: bool
    last_item: bool
    more_items: bool

    @property
    def first_sequence(self) -> int | None:
        """The sequence number of the first record returned (None when empty)."""
        return self.records[0].sequence if self.records else None


class TrendBuffer:
    """The log buffer of one Trend Log: a ring of ``size`` records.

    >>> from datetime import datetime, timezone
    >>> from bacnet import TrendBuffer
    >>> buffer = TrendBuffer(size=2, notification_threshold=2)
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> buffer.append(t, 0.0), buffer.append(t, 1.0)   # True: Buffer_Ready is due
    (False, True)
    >>> buffer.notified()   # sent: previous and current notification sequence numbers
    (0, 2)
    >>> buffer.append(t, 2.0)
    False
    >>> buffer.record_count, buffer.total_record_count
    (2, 3)
    >>> [r.value for r in buffer.by_position(1, 10).records]
    [1.0, 2.0]
    """

    def __init__(self, *, size: int, notification_threshold: int = 0) -> None:
        if size < 1:
            raise ValueError("a trend buffer holds at least one record")
        self.size = size
        self.notification_threshold = notification_threshold
        self._records: deque[LogRecord] = deque(maxlen=size)
        self.total_record_count = 0
        self.records_since_notification = 0
        self.last_notify_record = 0

    @property
    def record_count(self) -> int:
        """Records held now."""
        return len(self._records)

    @property
    def records(self) -> Sequence[LogRecord]:
        """The records held, oldest first."""
        return tuple(self._records)

    @property
    def last_time(self) -> datetime | None:
        """The time of the newest record, None when empty."""
        return self._records[-1].time if self._records else None

    def append(self, time: datetime, value: float | None, fault: bool = False) -> bool:
        """Add a record; True when it reaches the notification threshold (Buffer_Ready due:
        :meth:`notified` then resets the count)."""
        sequence = self.total_record_count % (_SEQUENCE_MODULUS - 1) + 1
        self.total_record_count = sequence
        self._records.append(LogRecord(sequence=sequence, time=time, value=value, fault=fault))
        self.records_since_notification += 1
        return bool(self.notification_threshold) and (
            self.records_since_notification >= self.notification_threshold)

    def notified(self) -> tuple[int, int]:
        """Record that Buffer_Ready was sent; (previous, current) notification sequence numbers."""
        previous = self.last_notify_record
        self.last_notify_record = self.total_record_count
        self.records_since_notification = 0
        return previous, self.last_notify_record

    def clear(self) -> None:
        """Empty the buffer (a client wrote record-count 0); totals keep counting."""
        self._records.clear()
        self.records_since_notification = 0

    # --- ReadRange ------------------------------------------------------------------------

    def all(self) -> RangeResult:
        """ReadRange without a range: every record."""
        return self._result(0, len(self._records))

    def by_position(self, index: int, count: int) -> RangeResult:
        """Records from the 1-based ``index``: ``count`` onward, or ``-count`` back to it."""
        n = len(self._records)
        if count == 0 or not 1 <= index <= n:
            return self._result(0, 0)
        if count > 0:
            return self._result(index - 1, min(n, index - 1 + count))
        return self._result(max(0, index + count), index)

    def by_sequence(self, sequence: int, count: int) -> RangeResult:
        """Records from the one numbered ``sequence`` (ReadRange by sequence number)."""
        for position, record in enumerate(self._records):
            if record.sequence == sequence:
                return self.by_position(position + 1, count)
        return self._result(0, 0)

    def by_time(self, time: datetime, count: int) -> RangeResult:
        """``count`` records newer than ``time``, or ``-count`` older than it."""
        records = self._records
        if count > 0:
            start = next((i for i, r in enumerate(records) if r.time > time), len(records))
            return self._result(start, min(len(records), start + count))
        if count < 0:
            end = next((i for i in range(len(records) - 1, -1, -1)
                        if records[i].time < time), -1) + 1
            return self._result(max(0, end + count), end)
        return self._result(0, 0)

    def _result(self, start: int, end: int) -> RangeResult:
        n = len(self._records)
        chosen = tuple(self._records[i] for i in range(start, end)) if end > start else ()
        return RangeResult(
            records=chosen,
            first_item=bool(chosen) and start == 0,
            last_item=bool(chosen) and end == n,
            more_items=bool(chosen) and (start > 0 or end < n),
        )
