"""Cyclic export helpers: periods of N minutes aligned to the clock, and file names for them.

Sans-IO: nothing here reads a clock or sleeps. The caller passes the current time and asks
which periods are complete, and when the next one will be::

    schedule = CyclicSchedule(minutes=15, template="{meter}_{date}_{time}.csv")
    timer = CyclicTimer(schedule, now=datetime.now(timezone.utc))
    while True:
        for period in timer.poll(datetime.now(timezone.utc)):
            ...  # export the readings with period.start <= timestamp < period.end
        sleep_until(timer.next_deadline())

Alignment: the periods of a day start at local midnight of the schedule's time zone and
every N minutes after it, so N must divide a day (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60,
120, ..., 1440). Where a daylight-saving change moves the wall clock, the period that spans
it is shorter or longer in real time; periods never overlap and leave no gap.

Not supported yet: periods longer than a day (weekly, monthly, billing-date exports).
"""

from __future__ import annotations

import logging
import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from ._errors import ScheduleError
from ._shown import shown

__all__ = [
    "TEMPLATE_FIELDS",
    "CyclicSchedule",
    "CyclicTimer",
    "ExportPeriod",
]

logger = logging.getLogger(__name__)

_UTC = timezone.utc
_DAY_MINUTES = 24 * 60

TEMPLATE_FIELDS: dict[str, str] = {
    "date": "the period's start date, default format %Y-%m-%d",
    "time": "the period's start time, default format %H%M",
    "end_date": "the period's end date, default format %Y-%m-%d",
    "end_time": "the period's end time, default format %H%M",
    "meter": "the meter id, with characters other than A-Z a-z 0-9 . _ - replaced by _",
}
"""The placeholders a file-name template may use. Date and time placeholders accept a
:meth:`~datetime.datetime.strftime` format after a colon: ``{date:%Y%m%d}``."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


# Periods are computed a few days either side of a time (zone offsets, day-long periods,
# probes for the next boundary): keep that inside what datetime can represent.
_FIRST = datetime(1, 1, 8, tzinfo=_UTC)
_LAST = datetime(9999, 12, 24, tzinfo=_UTC)
MAX_CATCH_UP = 100_000
"""The largest ``max_catch_up`` of a :class:`CyclicTimer` (bounds the work of one poll)."""


def _aware(name: str, when: datetime) -> datetime:
    if not isinstance(when, datetime):
        raise ScheduleError(f"must be a datetime, got {type(when).__name__}", field=name)
    if when.tzinfo is None or when.utcoffset() is None:
        raise ScheduleError(f"must be timezone-aware, got naive {when.isoformat()}", field=name)
    try:
        utc = when.astimezone(_UTC)
    except OverflowError:
        utc = _LAST + timedelta(days=1) if when.year > 1 else _FIRST - timedelta(days=1)
    if not _FIRST <= utc <= _LAST:
        raise ScheduleError(
            f"{when.isoformat()} is outside the supported range "
            f"{_FIRST.date()} to {_LAST.date()} (UTC)",
            field=name,
        )
    return utc


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportPeriod:
    """One export period, ``start <= t < end``, both in UTC.

    Attributes:
        start: first instant of the period (UTC).
        end: first instant after the period (UTC).
    """

    start: datetime
    end: datetime

    def contains(self, when: datetime) -> bool:
        """Whether an aware instant falls in the period (start inclusive, end exclusive)."""
        return self.start <= _aware("when", when) < self.end

    def to_dict(self) -> dict[str, str]:
        """``{"start": ..., "end": ...}`` as UTC ISO 8601 strings."""
        return {
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "end": self.end.isoformat().replace("+00:00", "Z"),
        }


class _Stamp:
    """A template value that formats a datetime with strftime (a default when no spec)."""

    __slots__ = ("default", "when")

    def __init__(self, when: datetime, default: str) -> None:
        self.when = when
        self.default = default

    def __format__(self, spec: str) -> str:
        return self.when.strftime(spec or self.default)


class CyclicSchedule:
    """Export every ``minutes`` minutes, aligned to the clock of ``tz``.

    Args:
        minutes: the period length; must divide a day (1440 minutes).
        template: the file-name template (placeholders in :data:`TEMPLATE_FIELDS`).
        tz: the time zone whose wall clock the periods align to and file names use
            (a :class:`datetime.timezone` or :class:`zoneinfo.ZoneInfo`); default UTC.

    Raises:
        ScheduleError: a bad period length or template.

    >>> from datetime import datetime, timezone
    >>> schedule = CyclicSchedule(minutes=15, template="{meter}_{date}_{time}.csv")
    >>> period = schedule.period_at(datetime(2026, 11, 24, 8, 7, 30, tzinfo=timezone.utc))
    >>> period.start.time(), period.end.time()
    (datetime.time(8, 0), datetime.time(8, 15))
    >>> schedule.file_name(period, meter="12345678")
    '12345678_2026-11-24_0800.csv'
    """

    def __init__(
        self,
        *,
        minutes: int,
        template: str = "{meter}_{date}_{time}.csv",
        tz: tzinfo = _UTC,
    ) -> None:
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise ScheduleError(f"must be an integer, got {shown(minutes)}", field="minutes")
        if minutes < 1 or _DAY_MINUTES % minutes:
            raise ScheduleError(
                f"must divide a day of {_DAY_MINUTES} minutes (e.g. 5, 15, 60, 1440), "
                f"got {shown(minutes)}; periods longer than a day are not supported yet",
                field="minutes",
            )
        if not isinstance(tz, tzinfo):
            raise ScheduleError(f"must be a tzinfo, got {type(tz).__name__}", field="tz")
        self.minutes = minutes
        self._step = timedelta(minutes=minutes)
        self.tz = tz
        self.template = template
        self._parts = _parse_template(template)
        self.uses_meter = any(name == "meter" for _text, name, _spec in self._parts)

    def __repr__(self) -> str:
        return f"CyclicSchedule(minutes={self.minutes}, template={self.template!r}, tz={self.tz})"

    def _start_at(self, when_utc: datetime) -> datetime:
        """The last boundary at or before ``when_utc``.

        A boundary is an instant whose local wall time is a multiple of the period after
        midnight; a repeated hour (DST ends) has two of them, a skipped hour none.
        """
        local = when_utc.astimezone(self.tz).replace(tzinfo=None)
        of_day = local.hour * 60 + local.minute
        floor = local.replace(second=0, microsecond=0) - timedelta(minutes=of_day % self.minutes)
        best: datetime | None = None
        for back in range(4):
            wall = floor - back * self._step
            for fold in (0, 1):
                instant = wall.replace(tzinfo=self.tz, fold=fold).astimezone(_UTC)
                if instant > when_utc or (best is not None and instant <= best):
                    continue
                if instant.astimezone(self.tz).replace(tzinfo=None) == wall:
                    best = instant
            if best is not None:
                return best
        # Unreachable for real zones (a gap is shorter than three periods of 20 minutes or
        # more, and periods below 20 minutes divide the hour the gap ends on).
        return floor.replace(tzinfo=self.tz).astimezone(_UTC)  # pragma: no cover

    def period_at(self, when: datetime) -> ExportPeriod:
        """The period that contains ``when`` (an aware datetime)."""
        when_utc = _aware("when", when)
        start = self._start_at(when_utc)
        probe = when_utc + self._step
        end = self._start_at(probe)
        while end <= when_utc:  # a day longer than 24 h
            probe += self._step
            end = self._start_at(probe)
        tick = timedelta(microseconds=1)
        while True:  # a repeated hour can put a boundary between when and the probe
            earlier = self._start_at(end - tick)
            if earlier <= when_utc:
                break
            end = earlier
        return ExportPeriod(start=start, end=end)

    def next_boundary(self, when: datetime) -> datetime:
        """The first period boundary strictly after ``when`` (UTC)."""
        return self.period_at(when).end

    def file_name(self, period: ExportPeriod, *, meter: str | None = None) -> str:
        """The template filled in for ``period`` (and ``meter`` if the template uses it).

        Raises:
            ScheduleError: the template uses ``{meter}`` and no meter was given.
        """
        start = period.start.astimezone(self.tz)
        end = period.end.astimezone(self.tz)
        values: dict[str, object] = {
            "date": _Stamp(start, "%Y-%m-%d"),
            "time": _Stamp(start, "%H%M"),
            "end_date": _Stamp(end, "%Y-%m-%d"),
            "end_time": _Stamp(end, "%H%M"),
        }
        if self.uses_meter:
            if not meter:
                raise ScheduleError("the template uses {meter}; pass meter=", field="meter")
            safe = _UNSAFE.sub("_", meter)
            values["meter"] = "_" if safe in (".", "..") else safe
        out = []
        for text, name, spec in self._parts:
            out.append(text)
            if name is not None:
                out.append(format(values[name], spec))
        return "".join(out)


def _parse_template(template: str) -> list[tuple[str, str | None, str]]:
    if not isinstance(template, str) or not template:
        raise ScheduleError("must be a non-empty string", field="template")
    parts: list[tuple[str, str | None, str]] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ScheduleError(f"bad template {shown(template)}: {exc}", field="template") from None
    for text, name, spec, conversion in parsed:
        if name is None:
            parts.append((text, None, ""))
            continue
        if name not in TEMPLATE_FIELDS:
            raise ScheduleError(
                f"unknown placeholder {{{name}}}; known: "
                + ", ".join("{" + known + "}" for known in TEMPLATE_FIELDS),
                field="template",
            )
        if conversion:
            raise ScheduleError(f"conversions (!{conversion}) are not supported", field="template")
        if name == "meter" and spec:
            raise ScheduleError("{meter} takes no format", field="template")
        if spec and "{" in spec:
            raise ScheduleError("nested placeholders are not supported", field="template")
        parts.append((text, name, spec or ""))
    return parts


class CyclicTimer:
    """Tells which periods of a schedule are complete, given the time (sans-IO).

    The timer starts in the period that contains ``now``; that period is reported once its
    end has passed. After a long pause (a stopped process, a clock jump forward) at most
    ``max_catch_up`` of the most recent complete periods are reported; older ones are
    counted in :attr:`skipped` and logged. A clock that goes back reports nothing until
    the current period's end is reached again.

    Args:
        schedule: the schedule.
        now: the current time (aware).
        max_catch_up: the most periods one :meth:`poll` returns.
    """

    def __init__(self, schedule: CyclicSchedule, *, now: datetime, max_catch_up: int = 96) -> None:
        if (
            isinstance(max_catch_up, bool)
            or not isinstance(max_catch_up, int)
            or not 1 <= max_catch_up <= MAX_CATCH_UP
        ):
            raise ScheduleError(
                f"must be an integer from 1 to {MAX_CATCH_UP}, got {shown(max_catch_up)}",
                field="max_catch_up",
            )
        self.schedule = schedule
        self.max_catch_up = max_catch_up
        self._current = schedule.period_at(now)
        self.skipped = 0
        """Complete periods that were never reported because of the catch-up limit."""

    @property
    def current(self) -> ExportPeriod:
        """The period in progress (the next one :meth:`poll` will report)."""
        return self._current

    def next_deadline(self) -> datetime:
        """When the current period ends: call :meth:`poll` then (UTC)."""
        return self._current.end

    def poll(self, now: datetime) -> list[ExportPeriod]:
        """The periods that ended at or before ``now`` since the last call, oldest first."""
        now_utc = _aware("now", now)
        if now_utc < self._current.end:
            return []
        schedule = self.schedule
        limit = self.max_catch_up
        # Jump over a long gap instead of walking it period by period.
        span = timedelta(minutes=schedule.minutes * (limit + 1))
        if now_utc - self._current.end > span + timedelta(days=1):
            restart = schedule.period_at(now_utc - span)
            skipped = _count_between(self._current.start, restart.start, schedule.minutes)
            self._note_skip(skipped)
            self._current = restart
        done: list[ExportPeriod] = []
        while now_utc >= self._current.end:
            done.append(self._current)
            self._current = schedule.period_at(self._current.end)
        if len(done) > limit:
            self._note_skip(len(done) - limit)
            done = done[-limit:]
        return done

    def _note_skip(self, count: int) -> None:
        if count > 0:
            self.skipped += count
            logger.warning("cyclic export: skipped %d old periods (catch-up limit)", count)


def _count_between(start: datetime, end: datetime, minutes: int) -> int:
    return max(0, int((end - start) / timedelta(minutes=minutes)))
