"""gateway.history: hourly and daily aggregates, counter deltas, retention per class."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.history import Aggregate, PointReading, RetentionClass, SQLiteHistory

from .history_support import T0, at, counter_readings

COUNTERS = RetentionClass(name="counters", points=("*/kwh",), counter=True, raw_days=2,
                          hourly_days=3)
ANALOG = RetentionClass(name="analog", points=("*/degC",), raw_days=1, daily_days=1)


def test_hourly_figures_by_hand(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        history.append([
            PointReading("t/degC", at(0), Decimal("20.5"), "degC"),
            PointReading("t/degC", at(20), 22, "degC"),
            PointReading("t/degC", at(40), 19.25, "degC"),
            PointReading("t/degC", at(50), Decimal("99"), "degC", quality=("invalid",)),
            PointReading("t/degC", at(55), "broken", "degC"),
            PointReading("t/degC", at(70), Decimal("21"), "degC"),
        ])
        assert history.downsample(at(120), classes=[ANALOG]) == 2  # two hours, no whole day
        first, second = history.aggregates("t/degC", "hour")
        assert first == Aggregate(point="t/degC", resolution="hour", start=T0, count=3,
                                  minimum=Decimal("19.25"), maximum=Decimal("22"),
                                  mean=Decimal("20.58333333333333333333333333"),
                                  last=Decimal("19.25"), delta=None, unit="degC")
        assert (second.start, second.count, second.last) == (at(60), 1, Decimal("21"))
        assert history.aggregates("t/degC", "day") == []


def test_counter_deltas_span_bucket_edges(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        # 0.25 kWh every 15 minutes for two days: 1 kWh per hour, 24 kWh per day.
        history.append(counter_readings("flat1/kwh", 4 * 48))
        history.downsample(T0 + timedelta(days=2), classes=[COUNTERS])
        hours = history.aggregates("flat1/kwh", "hour")
        assert len(hours) == 48
        # The first hour has no earlier reading: last - first = 0.75; then 1 kWh per hour.
        assert [h.delta for h in hours[:3]] == [Decimal("0.75"), Decimal("1.00"),
                                                Decimal("1.00")]
        assert {h.delta for h in hours[1:]} == {Decimal("1")}
        days = history.aggregates("flat1/kwh", "day")
        assert [(d.start, d.count, d.delta) for d in days] == [
            (T0, 96, Decimal("23.75")), (T0 + timedelta(days=1), 96, Decimal("24.00"))]


def test_downsampling_continues_where_it_stopped(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        history.append(counter_readings("flat1/kwh", 8))  # 00:00 .. 01:45
        assert history.downsample(at(60), classes=[COUNTERS]) == 1
        history.append(counter_readings("flat1/kwh", 12)[8:])  # 02:00 .. 02:45
        assert history.downsample(at(180), classes=[COUNTERS]) == 2  # hours 1 and 2 only
        assert [h.delta for h in history.aggregates("flat1/kwh", "hour")] == [
            Decimal("0.75"), Decimal("1.00"), Decimal("1.00")]
        # A reading arriving late for hour 0 counts once the range is given again.
        history.append([PointReading("flat1/kwh", at(59), Decimal("0.9"), "kWh", "energy")])
        assert history.downsample(at(180), since=T0, classes=[COUNTERS]) == 3
        assert history.aggregates("flat1/kwh", "hour")[0].delta == Decimal("0.9")


def test_retention_keeps_whole_days_per_class(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        days = 5
        history.append(counter_readings("flat1/kwh", 24 * days, step_minutes=60))
        history.append([PointReading("flat1/degC", at(60 * h), Decimal(h % 7), "degC")
                        for h in range(24 * days)])
        history.append([PointReading("other", at(60 * h), h) for h in range(24 * days)])
        now = T0 + timedelta(days=days, hours=3)
        deleted = history.apply_retention([COUNTERS, ANALOG], now)
        # Today is day 5 (days 0-4 stored): counters keep raw days 3-4 and hourly
        # aggregates of days 2-4; degC keeps raw and daily aggregates of day 4 only (its
        # hourly ones for ever); "other" is in no class and keeps everything.
        assert deleted == {"raw": 3 * 24 + 4 * 24, "hour": 2 * 24, "day": 4}
        kwh = history.readings("flat1/kwh")
        assert kwh[0].time == T0 + timedelta(days=3) and len(kwh) == 48
        assert len(history.readings("flat1/degC")) == 24
        assert len(history.readings("other")) == 24 * days
        hourly = history.aggregates("flat1/kwh", "hour")
        assert hourly[0].start == T0 + timedelta(days=2) and len(hourly) == 72
        assert len(history.aggregates("flat1/kwh", "day")) == days
        assert [d.start for d in history.aggregates("flat1/degC", "day")] == [
            T0 + timedelta(days=4)]
        # Aggregates of deleted raw days stay as they were when downsampled again.
        before = history.aggregates("flat1/kwh", "day")
        history.downsample(now, since=T0, classes=[COUNTERS])
        assert history.aggregates("flat1/kwh", "day") == before


def test_retention_classes_check_their_days() -> None:
    with pytest.raises(ValueError, match="raw_days"):
        RetentionClass(name="x", points=("*",), raw_days=-1)
    with pytest.raises(ValueError, match="points"):
        RetentionClass(name="x", points="*")  # type: ignore[arg-type]
