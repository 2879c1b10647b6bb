"""The scheduler: when to read each input and when each export period is complete. Sans-IO.

It is told the time (:meth:`Scheduler.poll`) and says what is due; it never reads a clock
or sleeps. Rules:

- Readout: every input is read once at start, then at the slots of its interval aligned
  to the site's wall clock (every 15 min at :00, :15, ...; intervals below a minute align
  to the UTC second, which is the same everywhere).
- One readout at a time per input: a wired M-Bus segment has one master, so the next
  readout of a segment is never handed out while the previous one runs (the driver calls
  :meth:`Scheduler.finished`). A slot that comes while its input is still busy is skipped
  and counted in :attr:`Scheduler.overruns`.
- Exports: each export's periods come from ``exporters.CyclicTimer`` (N minutes aligned
  to the clock) or from :class:`CalendarTimer` (weekly from Monday 00:00, monthly from
  the 1st, local time). A period is due once its end has passed. A restarted gateway
  passes the end of the last period it exported, so that periods missed while it was down
  are exported on start (at most ``max_catch_up`` per export, the most recent ones).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

import exporters
from exporters import ExportPeriod

__all__ = ["CalendarTimer", "ExportDue", "ReadoutDue", "Scheduler", "calendar_period",
           "next_slot"]

_UTC = timezone.utc


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadoutDue:
    """Read input ``source`` now; ``slot`` is the clock slot this readout belongs to."""

    source: str
    slot: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportDue:
    """Export ``export``'s readings of ``period`` now."""

    export: str
    period: ExportPeriod


def next_slot(interval: float, after: datetime, tz: tzinfo = _UTC) -> datetime:
    """The first slot of an ``interval`` (seconds, dividing a day) strictly after ``after``.

    >>> from datetime import datetime, timezone
    >>> from gateway import next_slot
    >>> next_slot(900, datetime(2026, 12, 3, 10, 7, tzinfo=timezone.utc)).time()
    datetime.time(10, 15)
    >>> next_slot(10, datetime(2026, 12, 3, 10, 7, 30, tzinfo=timezone.utc)).time()
    datetime.time(10, 7, 40)
    """
    seconds = int(interval)
    if seconds >= 60:
        schedule = exporters.CyclicSchedule(minutes=seconds // 60, tz=tz)
        return schedule.next_boundary(after)
    stamp = after.timestamp()
    return datetime.fromtimestamp((math.floor(stamp / seconds) + 1) * seconds, _UTC)


def calendar_period(period: str, when: datetime, tz: tzinfo = _UTC) -> ExportPeriod:
    """The ``weekly`` (Monday 00:00 to Monday 00:00) or ``monthly`` (1st to 1st) period,
    in the wall time of ``tz``, that holds ``when``.

    >>> from datetime import datetime, timezone
    >>> from gateway import calendar_period
    >>> calendar_period("weekly", datetime(2026, 12, 3, tzinfo=timezone.utc)).start
    datetime.datetime(2026, 11, 30, 0, 0, tzinfo=datetime.timezone.utc)
    >>> calendar_period("monthly", datetime(2026, 12, 3, tzinfo=timezone.utc)).end
    datetime.datetime(2027, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    local = when.astimezone(tz).replace(tzinfo=None)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "weekly":
        start = midnight - timedelta(days=midnight.weekday())
        end = start + timedelta(days=7)
    elif period == "monthly":
        start = midnight.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown calendar period {period!r}")
    return ExportPeriod(start=start.replace(tzinfo=tz).astimezone(_UTC),
                        end=end.replace(tzinfo=tz).astimezone(_UTC))


class CalendarTimer:
    """``exporters.CyclicTimer``'s interface for weekly and monthly periods."""

    def __init__(self, period: str, *, now: datetime, tz: tzinfo = _UTC,
                 max_catch_up: int = 96) -> None:
        self.period = period
        self.tz = tz
        self.max_catch_up = max_catch_up
        self.skipped = 0
        self._current = calendar_period(period, now, tz)

    @property
    def current(self) -> ExportPeriod:
        """The period in progress."""
        return self._current

    def next_deadline(self) -> datetime:
        """When the current period ends."""
        return self._current.end

    def poll(self, now: datetime) -> list[ExportPeriod]:
        """The periods that ended at or before ``now`` since the last call, oldest first."""
        done: list[ExportPeriod] = []
        while now >= self._current.end:
            done.append(self._current)
            self._current = calendar_period(self.period, self._current.end, self.tz)
        if len(done) > self.max_catch_up:
            self.skipped += len(done) - self.max_catch_up
            done = done[-self.max_catch_up:]
        return done


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportTiming:
    """When an export runs: every ``minutes`` or by calendar ``period``."""

    minutes: int | None = None
    period: str | None = None


class Scheduler:
    """What is due when (see the module text).

    Args:
        cycles: input name -> readout interval in seconds (dividing a day).
        exports: export name -> its timing.
        now: the start time (aware).
        tz: the site's time zone.
        exported_until: export name -> end of the last period exported (from the saved
            state of a previous run); missing exports start with the period holding ``now``.
        max_catch_up: the most missed periods one export catches up after a restart.
    """

    def __init__(self, cycles: Mapping[str, float], exports: Mapping[str, ExportTiming], *,
                 now: datetime, tz: tzinfo = _UTC,
                 exported_until: Mapping[str, datetime] | None = None,
                 max_catch_up: int = 96) -> None:
        self.tz = tz
        self.cycles = dict(cycles)
        self._next: dict[str, datetime] = dict.fromkeys(self.cycles, now)
        self._busy: set[str] = set()
        self.overruns: dict[str, int] = dict.fromkeys(self.cycles, 0)
        self._timers: dict[str, exporters.CyclicTimer | CalendarTimer] = {}
        resume = exported_until or {}
        for name, timing in exports.items():
            start = min(resume.get(name, now), now)
            if timing.minutes is not None:
                schedule = exporters.CyclicSchedule(minutes=timing.minutes, tz=tz)
                self._timers[name] = exporters.CyclicTimer(schedule, now=start,
                                                           max_catch_up=max_catch_up)
            else:
                assert timing.period is not None
                self._timers[name] = CalendarTimer(timing.period, now=start, tz=tz,
                                                   max_catch_up=max_catch_up)

    def poll(self, now: datetime) -> list[ReadoutDue | ExportDue]:
        """Everything due at ``now``: readouts (inputs not busy) then complete periods."""
        due: list[ReadoutDue | ExportDue] = []
        for source, interval in self.cycles.items():
            slot = self._next[source]
            if now < slot:
                continue
            following = next_slot(interval, now, self.tz)
            if source in self._busy:
                self.overruns[source] += 1
            else:
                self._busy.add(source)
                due.append(ReadoutDue(source=source, slot=slot))
            self._next[source] = following
        for name, timer in self._timers.items():
            due.extend(ExportDue(export=name, period=period) for period in timer.poll(now))
        return due

    def finished(self, source: str) -> None:
        """The readout of ``source`` is over: its next slot may be handed out."""
        self._busy.discard(source)

    def busy(self, source: str) -> bool:
        """Whether a readout of ``source`` is running."""
        return source in self._busy

    def next_deadline(self) -> datetime | None:
        """When :meth:`poll` has something to hand out next (None: nothing scheduled)."""
        times = list(self._next.values())  # busy inputs too: their missed slot is counted
        times.extend(timer.next_deadline() for timer in self._timers.values())
        return min(times) if times else None
