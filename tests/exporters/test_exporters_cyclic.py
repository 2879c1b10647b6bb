"""Cyclic export helpers (issue 6: "every N minutes aligned to the clock, file names from a
template ({date}, {time}, {meter}), time passed in (sans-IO)")."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporters import CyclicSchedule, CyclicTimer, ExportPeriod, ScheduleError

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def at(hour: int, minute: int, second: int = 0, day: int = 24, tz: object = UTC) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=tz)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minutes", "now", "start", "end"),
    [
        (15, at(8, 7, 30), at(8, 0), at(8, 15)),
        (15, at(8, 15), at(8, 15), at(8, 30)),  # a boundary starts the next period
        (15, at(8, 14, 59), at(8, 0), at(8, 15)),
        (60, at(23, 59, 59), at(23, 0), at(0, 0, day=25)),
        (5, at(0, 0), at(0, 0), at(0, 5)),
        (1440, at(13, 0), at(0, 0), at(0, 0, day=25)),
        (90, at(4, 0), at(3, 0), at(4, 30)),  # 00:00, 01:30, 03:00, 04:30 ...
    ],
)
def test_periods_are_aligned_to_the_clock(
    minutes: int, now: datetime, start: datetime, end: datetime
) -> None:
    period = CyclicSchedule(minutes=minutes).period_at(now)
    assert (period.start, period.end) == (start, end)
    assert period.contains(now)
    assert not period.contains(end)


def test_alignment_follows_the_schedule_time_zone() -> None:
    # Daily exports at Berlin midnight: 23:00 UTC in winter.
    schedule = CyclicSchedule(minutes=1440, tz=BERLIN)
    period = schedule.period_at(at(12, 0))
    assert period.start == at(23, 0, day=23)
    assert period.end == at(23, 0, day=24)
    assert period.start.tzinfo is UTC


def test_a_quarter_hour_in_a_half_hour_offset_zone() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    period = CyclicSchedule(minutes=60, tz=india).period_at(at(8, 0))
    assert period.start == at(7, 30)  # 13:00 local


def test_dst_days_are_23_and_25_hours_long() -> None:
    schedule = CyclicSchedule(minutes=1440, tz=BERLIN)
    spring = schedule.period_at(datetime(2026, 3, 29, 12, tzinfo=UTC))
    autumn = schedule.period_at(datetime(2026, 10, 25, 12, tzinfo=UTC))
    assert spring.end - spring.start == timedelta(hours=23)
    assert autumn.end - autumn.start == timedelta(hours=25)


def test_the_repeated_hour_is_two_hourly_periods() -> None:
    schedule = CyclicSchedule(minutes=60, tz=BERLIN)
    # 2026-10-25: 02:00-03:00 local happens twice (00:00-01:00 and 01:00-02:00 UTC).
    first = schedule.period_at(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    second = schedule.period_at(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    assert first.end == second.start == datetime(2026, 10, 25, 1, tzinfo=UTC)
    assert schedule.file_name(first, meter="m") == schedule.file_name(second, meter="m")


@given(
    minutes=st.sampled_from([1, 5, 15, 30, 60, 90, 120, 180, 240, 1440]),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    when=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    ),
)
@settings(max_examples=200, deadline=None)
def test_periods_tile_time_without_gaps_or_overlaps(
    minutes: int, zone: str, when: datetime
) -> None:
    schedule = CyclicSchedule(minutes=minutes, tz=ZoneInfo(zone))
    period = schedule.period_at(when)
    assert period.start <= when < period.end
    after = schedule.period_at(period.end)
    before = schedule.period_at(period.start - timedelta(microseconds=1))
    assert after.start == period.end
    assert before.end == period.start
    # Every start is on the wall clock grid of the zone.
    local = period.start.astimezone(ZoneInfo(zone))
    assert (local.hour * 60 + local.minute) % minutes == 0
    assert local.second == local.microsecond == 0


@pytest.mark.parametrize("minutes", [0, -15, 7, 2880, 1.5, True])
def test_period_length_must_divide_a_day(minutes: object) -> None:
    with pytest.raises(ScheduleError) as info:
        CyclicSchedule(minutes=minutes)  # type: ignore[arg-type]
    assert info.value.field == "minutes"


def test_naive_time_is_refused() -> None:
    with pytest.raises(ScheduleError):
        CyclicSchedule(minutes=15).period_at(datetime(2026, 11, 24, 8, 0))


# --- file names -----------------------------------------------------------------------------


def test_file_names_from_the_template() -> None:
    schedule = CyclicSchedule(minutes=15, template="{meter}_{date}_{time}.csv")
    period = schedule.period_at(at(8, 7))
    assert schedule.file_name(period, meter="12345678") == "12345678_2026-11-24_0800.csv"


def test_file_names_use_local_time_and_strftime_formats() -> None:
    schedule = CyclicSchedule(
        minutes=60, tz=BERLIN, template="{date:%Y%m%d}/{time:%H-%M}_{end_time}_{end_date}.xml"
    )
    period = schedule.period_at(at(22, 30))  # 23:30 in Berlin
    assert schedule.file_name(period) == "20261124/23-00_0000_2026-11-25.xml"


@pytest.mark.parametrize(
    ("meter", "safe"),
    [("a/b", "a_b"), ("..", "_"), ("x y:z", "x_y_z"), ("ok-1.2_3", "ok-1.2_3")],
)
def test_meter_ids_cannot_escape_the_folder(meter: str, safe: str) -> None:
    schedule = CyclicSchedule(minutes=15, template="{meter}.csv")
    assert schedule.file_name(schedule.period_at(at(8, 0)), meter=meter) == safe + ".csv"


@pytest.mark.parametrize(
    "template",
    ["", "{id}.csv", "{meter!r}.csv", "{date.year}.csv", "{meter:>10}.csv", "{date", "}"],
)
def test_bad_templates(template: str) -> None:
    with pytest.raises(ScheduleError) as info:
        CyclicSchedule(minutes=15, template=template)
    assert info.value.field == "template"


def test_meter_placeholder_needs_a_meter() -> None:
    schedule = CyclicSchedule(minutes=15)
    with pytest.raises(ScheduleError):
        schedule.file_name(schedule.period_at(at(8, 0)))


# --- timer ----------------------------------------------------------------------------------


def test_timer_reports_each_period_once_after_it_ends() -> None:
    timer = CyclicTimer(CyclicSchedule(minutes=15), now=at(8, 7))
    assert timer.next_deadline() == at(8, 15)
    assert timer.poll(at(8, 14, 59)) == []
    assert timer.poll(at(8, 15)) == [ExportPeriod(start=at(8, 0), end=at(8, 15))]
    assert timer.poll(at(8, 16)) == []
    assert timer.next_deadline() == at(8, 30)


def test_timer_catches_up_missed_periods_in_order() -> None:
    timer = CyclicTimer(CyclicSchedule(minutes=15), now=at(8, 7))
    done = timer.poll(at(9, 1))
    assert [p.start for p in done] == [at(8, 0), at(8, 15), at(8, 30), at(8, 45)]
    assert timer.current.start == at(9, 0)


def test_timer_catch_up_limit() -> None:
    timer = CyclicTimer(CyclicSchedule(minutes=15), now=at(0, 7), max_catch_up=4)
    done = timer.poll(at(12, 1))
    assert len(done) == 4
    assert done[-1].end == at(12, 0)
    assert timer.skipped == 48 - 4
    # A year later: still bounded, and counted.
    done = timer.poll(at(12, 1) + timedelta(days=365))
    assert len(done) == 4
    assert timer.skipped > 365 * 96 - 200


def test_timer_ignores_a_clock_that_goes_back() -> None:
    timer = CyclicTimer(CyclicSchedule(minutes=15), now=at(8, 7))
    assert timer.poll(at(7, 0)) == []
    assert timer.poll(at(8, 15)) == [ExportPeriod(start=at(8, 0), end=at(8, 15))]


def test_period_to_dict() -> None:
    period = CyclicSchedule(minutes=15).period_at(at(8, 7))
    assert period.to_dict() == {"start": "2026-11-24T08:00:00Z", "end": "2026-11-24T08:15:00Z"}


@pytest.mark.parametrize(
    "when",
    [
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1, 1, 1, tzinfo=timezone.utc),
    ],
)
def test_times_at_the_ends_of_the_calendar_are_a_schedule_error(when: datetime) -> None:
    # Found by fuzzing: OverflowError from deep inside the period arithmetic.
    schedule = CyclicSchedule(minutes=15)
    with pytest.raises(ScheduleError, match="outside the supported range") as caught:
        schedule.period_at(when)
    assert caught.value.field == "when"
    with pytest.raises(ScheduleError, match="outside the supported range"):
        CyclicTimer(schedule, now=when)


@pytest.mark.parametrize("limit", [0, 100_001, 10**9, 1.5, "96", True])
def test_max_catch_up_is_a_bounded_integer(limit: object) -> None:
    # 10**9 made one poll after a long pause walk hundreds of millions of periods.
    with pytest.raises(ScheduleError) as caught:
        now = datetime(2026, 11, 24, tzinfo=timezone.utc)
        CyclicTimer(CyclicSchedule(minutes=15), now=now, max_catch_up=limit)  # type: ignore[arg-type]
    assert caught.value.field == "max_catch_up"
