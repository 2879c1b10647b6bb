"""The sans-IO scheduler: clock-aligned slots, one readout per bus at a time, export periods."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from gateway import CalendarTimer, ExportDue, ReadoutDue, Scheduler, calendar_period, next_slot
from gateway._schedule import ExportTiming

UTC = timezone.utc
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 12, 3, 10, 7, 12, tzinfo=UTC)


def test_slots_align_to_the_wall_clock_of_the_site() -> None:
    assert next_slot(900, T0) == datetime(2026, 12, 3, 10, 15, tzinfo=UTC)
    assert next_slot(3600, T0) == datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    # a daily readout at local midnight: 23:00 UTC in Berlin's winter
    assert next_slot(86400, T0, BERLIN) == datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
    # Kathmandu is UTC+5:45: hourly slots fall at :15 UTC there
    assert next_slot(3600, T0, zoneinfo.ZoneInfo("Asia/Kathmandu")).minute == 15
    assert next_slot(10, T0) == datetime(2026, 12, 3, 10, 7, 20, tzinfo=UTC)
    assert next_slot(900, datetime(2026, 12, 3, 10, 15, tzinfo=UTC)).minute == 30  # strictly after


def test_read_at_start_then_on_the_slots() -> None:
    scheduler = Scheduler({"mbus:a": 900.0}, {}, now=T0)
    assert scheduler.poll(T0) == [ReadoutDue(source="mbus:a", slot=T0)]
    scheduler.finished("mbus:a")
    assert scheduler.next_deadline() == datetime(2026, 12, 3, 10, 15, tzinfo=UTC)
    assert scheduler.poll(datetime(2026, 12, 3, 10, 14, 59, tzinfo=UTC)) == []
    slot = datetime(2026, 12, 3, 10, 15, tzinfo=UTC)
    assert scheduler.poll(slot) == [ReadoutDue(source="mbus:a", slot=slot)]


def test_a_bus_is_never_read_twice_at_once() -> None:
    scheduler = Scheduler({"mbus:a": 60.0, "mbus:b": 60.0}, {}, now=T0)
    assert {due.source for due in scheduler.poll(T0)} == {"mbus:a", "mbus:b"}  # type: ignore[union-attr]
    scheduler.finished("mbus:b")
    # bus a is still reading at its next slots: they are skipped and counted, b goes on
    for minute in (8, 9, 10):
        due = scheduler.poll(T0.replace(minute=minute, second=0))
        assert [d.source for d in due] == ["mbus:b"]  # type: ignore[union-attr]
        scheduler.finished("mbus:b")
    assert scheduler.overruns == {"mbus:a": 3, "mbus:b": 0}
    scheduler.finished("mbus:a")
    assert [d.source for d in scheduler.poll(T0.replace(minute=11, second=0))] == [  # type: ignore[union-attr]
        "mbus:a", "mbus:b"]


@given(st.lists(st.tuples(st.integers(0, 7200), st.booleans()), max_size=60))
def test_property_at_most_one_readout_of_a_source_is_out(steps: list[tuple[int, bool]]) -> None:
    scheduler = Scheduler({"mbus:a": 10.0}, {}, now=T0)
    out = 0
    now = T0
    for advance, finish in sorted(steps):
        now = max(now, T0 + timedelta(seconds=advance))
        out += len(scheduler.poll(now))
        assert out <= 1
        if finish and out:
            scheduler.finished("mbus:a")
            out = 0


def test_exports_use_the_exporters_cyclic_periods() -> None:
    scheduler = Scheduler({}, {"q": ExportTiming(minutes=15)}, now=T0)
    assert scheduler.poll(datetime(2026, 12, 3, 10, 14, tzinfo=UTC)) == []
    due = scheduler.poll(datetime(2026, 12, 3, 10, 31, tzinfo=UTC))
    assert [(d.period.start.minute, d.period.end.minute) for d in due] == [(0, 15), (15, 30)]  # type: ignore[union-attr]


def test_a_restart_exports_the_periods_missed_while_down() -> None:
    last_end = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    scheduler = Scheduler({}, {"q": ExportTiming(minutes=15)}, now=T0,
                          exported_until={"q": last_end})
    due = scheduler.poll(T0)
    assert [d.period.start for d in due] == [  # type: ignore[union-attr]
        last_end + timedelta(minutes=15 * n) for n in range(4)]
    assert all(isinstance(d, ExportDue) for d in due)


def test_weekly_and_monthly_periods_follow_the_local_calendar() -> None:
    # Berlin: the week of the switch to summer time is an hour shorter
    week = calendar_period("weekly", datetime(2026, 3, 26, 12, tzinfo=UTC), BERLIN)
    assert week.start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)  # Monday 00:00 CET
    assert week.end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # Monday 00:00 CEST
    month = calendar_period("monthly", datetime(2026, 2, 10, tzinfo=UTC), BERLIN)
    assert (month.start, month.end) == (datetime(2026, 1, 31, 23, tzinfo=UTC),
                                        datetime(2026, 2, 28, 23, tzinfo=UTC))
    december = calendar_period("monthly", datetime(2026, 12, 31, 23, 30, tzinfo=UTC), UTC)
    assert december.end == datetime(2027, 1, 1, tzinfo=UTC)


def test_the_calendar_timer_reports_each_period_once() -> None:
    timer = CalendarTimer("monthly", now=datetime(2026, 1, 15, tzinfo=UTC))
    assert timer.poll(datetime(2026, 1, 31, tzinfo=UTC)) == []
    done = timer.poll(datetime(2026, 4, 2, tzinfo=UTC))
    assert [p.start.month for p in done] == [1, 2, 3]
    assert timer.poll(datetime(2026, 4, 3, tzinfo=UTC)) == []
    assert timer.next_deadline() == datetime(2026, 5, 1, tzinfo=UTC)
