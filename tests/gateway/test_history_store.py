"""gateway.history.SQLiteHistory: readings stored and read back exactly, batches atomic."""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.history import (
    HistoryBackend,
    HistoryFileError,
    PointReading,
    QueryError,
    ReadingError,
    SQLiteHistory,
)

from .history_support import T0, LooseReading, at, counter_readings

values = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.booleans(),
    st.none(),
)
zones = st.sampled_from([timezone.utc, timezone(timedelta(hours=1)),
                         timezone(timedelta(hours=-5, minutes=-30))])
times = st.builds(lambda micros, zone: datetime(2000, 1, 1, tzinfo=timezone.utc).astimezone(zone)
                  + timedelta(microseconds=micros),
                  st.integers(min_value=0, max_value=10**15), zones)
flags = st.lists(st.sampled_from(["stale", "out_of_range", "comm_failure", "unverified",
                                  "invalid", "estimated"]), unique=True, max_size=3)


def same_value(left: object, right: object) -> bool:
    """Equal and of the same type; NaNs equal; a Decimal with the same exponent; -0.0 kept."""
    if type(left) is not type(right):
        return False
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return left.as_tuple() == right.as_tuple()
    if isinstance(left, float) and isinstance(right, float):
        return (math.isnan(left) and math.isnan(right)) or (
            left == right and math.copysign(1, left) == math.copysign(1, right))
    return left == right


def test_sqlite_history_is_a_history_backend(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        backend: HistoryBackend = history
        assert backend.points() == []


@settings(deadline=None)  # each example writes a file: its time is the disk's, not ours
@given(st.lists(st.tuples(values, times, st.sampled_from(["", "kWh", "m3"]), flags),
                min_size=1, max_size=20))
def test_every_value_comes_back_as_it_went_in(
        tmp_path_factory: pytest.TempPathFactory,
        items: list[tuple[object, datetime, str, list[str]]]) -> None:
    path = tmp_path_factory.mktemp("h") / "h.sqlite"
    readings = [PointReading(f"p{i}", time, value, unit, "q", tuple(quality))  # type: ignore[arg-type]
                for i, (value, time, unit, quality) in enumerate(items)]
    with SQLiteHistory(path) as history:
        assert history.append(readings) == len(readings)
    with SQLiteHistory(path, create=False) as history:
        for reading in readings:
            [back] = history.readings(reading.point)
            assert same_value(back.value, reading.value), (back.value, reading.value)
            assert back.time == reading.time and back.time.tzinfo is timezone.utc
            assert (back.unit, back.quantity, back.quality) == (reading.unit, "q",
                                                                reading.quality)


def test_a_range_is_half_open_and_ordered(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        readings = counter_readings("flat1/kwh", 8)
        history.append(reversed(readings))
        got = history.readings("flat1/kwh", since=at(15), until=at(60))
        assert [r.time for r in got] == [at(15), at(30), at(45)]
        assert history.readings("flat1/kwh", since=at(105)) == readings[7:]
        assert history.readings("flat1/kwh", until=at(15)) == readings[:1]
        assert history.readings("nobody") == []


def test_a_stored_reading_is_not_stored_twice(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        readings = counter_readings("flat1/kwh", 4)
        assert history.append(readings[:3]) == 3
        assert history.append(readings) == 1
        changed = PointReading("flat1/kwh", at(0), Decimal("99"), "kWh", "energy")
        assert history.append([changed]) == 0
        assert history.readings("flat1/kwh") == readings


def test_latest_and_points(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        history.append(counter_readings("b/kwh", 3) + counter_readings("a/kwh", 5))
        assert history.points() == ["a/kwh", "b/kwh"]
        latest = history.latest()
        assert latest["a/kwh"].time == at(60) and latest["a/kwh"].value == Decimal("1.00")
        assert latest["b/kwh"].time == at(30)
        assert list(history.latest(["b/kwh", "nobody"])) == ["b/kwh"]


@pytest.mark.parametrize(("reading", "field"), [
    (LooseReading("", T0, 1), "point"),
    (LooseReading(7, T0, 1), "point"),
    (LooseReading("p", datetime(2026, 1, 1), 1), "time"),  # naive
    (LooseReading("p", "2026-01-01", 1), "time"),
    (LooseReading("p", T0, [1]), "value"),
    (LooseReading("p", T0, 1, unit=None), "unit"),
    (LooseReading("p", T0, 1, quantity=3), "quantity"),
    (LooseReading("p", T0, 1, quality=("a,b",)), "quality"),
    (LooseReading("p", T0, 1, quality=["stale"]), "quality"),
    (object(), "point"),
])
def test_a_bad_reading_stores_nothing_of_its_batch(tmp_path: Path, reading: object,
                                                   field: str) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        good = counter_readings("new/point", 2)
        with pytest.raises(ReadingError) as caught:
            history.append([*good, reading])  # type: ignore[list-item]
        assert (caught.value.index, caught.value.field) == (2, field)
        assert f"item 2, field {field}" in str(caught.value)
        assert history.points() == [] and history.readings("new/point") == []
        assert history.append(good) == 2  # the id caches followed the rollback


def test_query_bounds_must_be_aware(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        with pytest.raises(QueryError, match="since"):
            history.readings("p", since=datetime(2026, 1, 1))
        with pytest.raises(QueryError, match="until"):
            history.aggregates("p", "hour", until="2026")  # type: ignore[arg-type]
        with pytest.raises(QueryError, match="resolution"):
            history.aggregates("p", "week")  # type: ignore[arg-type]


def test_the_file_shows_readable_views(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with SQLiteHistory(path) as history:
        history.append([
            PointReading("flat3/heat/total_kwh", at(15), Decimal("1234.5"), "kWh", "energy"),
            PointReading("flat3/heat/flow_degC", at(15.5) + timedelta(microseconds=7),
                         Decimal("61.25"), "degC", "temperature", ("estimated",)),
            PointReading("counter", at(0), 12, "", "pulses"),
        ])
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT point, time, value, unit, quantity, quality FROM readings "
                          "ORDER BY point").fetchall()
        assert rows == [
            ("counter", "2026-01-01T00:00:00Z", 12, "", "pulses", None),
            ("flat3/heat/flow_degC", "2026-01-01T00:15:30.000007Z", "61.25", "degC",
             "temperature", "estimated"),
            ("flat3/heat/total_kwh", "2026-01-01T00:15:00Z", "1234.5", "kWh", "energy", None),
        ]
        assert db.execute("SELECT count(*) FROM alarms").fetchone() == (0,)
        journal = db.execute("PRAGMA journal_mode").fetchone()
    assert journal == ("wal",)


def test_other_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryFileError, match="no such history file"):
        SQLiteHistory(tmp_path / "missing.sqlite", create=False)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(HistoryFileError, match=str(garbage)):
        SQLiteHistory(garbage)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE x (y)")
    with pytest.raises(HistoryFileError, match="not a meterkit history"):
        SQLiteHistory(other)
    newer = tmp_path / "newer.sqlite"
    SQLiteHistory(newer).close()
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryFileError, match="newer"):
        SQLiteHistory(newer)


def test_sqlite_errors_become_history_errors(tmp_path: Path) -> None:
    history = SQLiteHistory(tmp_path / "h.sqlite")
    history.append(counter_readings("p", 2))
    history.close()
    for call in (lambda: history.append(counter_readings("p", 3)),
                 lambda: history.readings("p"), history.latest, history.active_alarms,
                 history.audit, lambda: history.aggregates("p", "hour")):
        with pytest.raises(HistoryFileError, match="closed database"):
            call()
