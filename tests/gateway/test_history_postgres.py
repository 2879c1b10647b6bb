"""gateway.history.PostgresHistory on a real throwaway server: what SQLiteHistory answers."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

import alarms
from gateway.history import (
    AuditEntry,
    HistoryBackend,
    PointReading,
    QueryError,
    ReadingError,
    RetentionClass,
    SQLiteHistory,
)
from gateway.history._postgres import PostgresHistory
from profiles import ReadingValue

from .history_support import T0, LooseReading, at, cleared, counter_readings, raised
from .postgres_server import PostgresServer

_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def history(server: PostgresServer) -> Iterator[PostgresHistory]:
    """A history of a gateway of its own (every test sees an empty one)."""
    with PostgresHistory(server.dsn(), gateway=f"gw{next(_names)}") as history:
        yield history


def _same(left: object, right: object) -> bool:
    if type(left) is not type(right):
        return False
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return left.as_tuple() == right.as_tuple()
    if isinstance(left, float) and isinstance(right, float):
        return (math.isnan(left) and math.isnan(right)) or (
            left == right and math.copysign(1, left) == math.copysign(1, right))
    return left == right


VALUES: list[ReadingValue] = [
    Decimal("28504.270"), Decimal("1E+3"), Decimal("-0.0000001"), Decimal("NaN"),
    Decimal("-Infinity"), 0, -(2**80), 2**63, 1.5, -0.0, math.nan, math.inf, "text, with,", "",
    True, False, None]


def test_is_a_history_backend_and_values_come_back_as_they_went_in(
        history: PostgresHistory) -> None:
    backend: HistoryBackend = history
    zone = timezone(timedelta(hours=-5, minutes=-30))
    readings = [PointReading(f"p{i}", (T0 + timedelta(microseconds=7 * i)).astimezone(zone),
                             value, ["", "kWh", "m3"][i % 3], "q",
                             ("stale", "invalid")[:i % 3])
                for i, value in enumerate(VALUES)]
    assert backend.append(readings) == len(readings)
    for reading in readings:
        [back] = history.readings(reading.point)
        assert _same(back.value, reading.value), (back.value, reading.value)
        assert back.time == reading.time and back.time.tzinfo is timezone.utc
        assert (back.unit, back.quantity, back.quality) == (reading.unit, "q", reading.quality)


def test_ranges_duplicates_latest_points(history: PostgresHistory) -> None:
    readings = counter_readings("flat1/kwh", 8)
    assert history.append(reversed(readings)) == 8
    assert [r.time for r in history.readings("flat1/kwh", since=at(15), until=at(60))] == [
        at(15), at(30), at(45)]
    assert history.readings("flat1/kwh", since=at(105)) == readings[7:]
    assert history.readings("flat1/kwh", until=at(15)) == readings[:1]
    assert history.readings("nobody") == []
    changed = PointReading("flat1/kwh", at(0), Decimal("99"), "kWh", "energy")
    more = counter_readings("flat1/kwh", 10)
    assert history.append([changed, *more, more[-1]]) == 2  # twice in one batch: once
    assert history.readings("flat1/kwh") == more
    history.append(counter_readings("a/kwh", 3))
    assert history.points() == ["a/kwh", "flat1/kwh"]
    assert history.latest()["flat1/kwh"] == more[-1]
    assert list(history.latest(["a/kwh", "nobody"])) == ["a/kwh"]


@pytest.mark.parametrize(("reading", "field"), [
    (LooseReading("", T0, 1), "point"),
    (LooseReading("p", datetime(2026, 1, 1), 1), "time"),
    (LooseReading("p", T0, [1]), "value"),
    (LooseReading("p", T0, 1, unit=None), "unit"),
    (LooseReading("p", T0, 1, quality=("a,b",)), "quality"),
    (object(), "point"),
])
def test_a_bad_reading_stores_nothing_of_its_batch(history: PostgresHistory, reading: object,
                                                   field: str) -> None:
    good = counter_readings("new/point", 2)
    with pytest.raises(ReadingError) as caught:
        history.append([*good, reading])  # type: ignore[list-item]
    assert (caught.value.index, caught.value.field) == (2, field)
    assert history.points() == [] and history.readings("new/point") == []
    assert history.append(good) == 2
    with pytest.raises(QueryError, match="since"):
        history.readings("p", since=datetime(2026, 1, 1))


def test_readings_are_partitioned_by_month(server: PostgresServer,
                                           history: PostgresHistory) -> None:
    times = [datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc),
             datetime(2026, 12, 1, tzinfo=timezone.utc),
             datetime(2027, 1, 15, tzinfo=timezone.utc)]
    history.append([PointReading("p", time, 1, "", "") for time in times])
    with psycopg.connect(server.dsn()) as db:
        rows = db.execute(
            "SELECT s.tableoid::regclass::text, time FROM meterkit.samples AS s "
            "JOIN meterkit.points AS p ON p.id = s.point_id JOIN meterkit.gateways AS g "
            "ON g.id = p.gateway_id WHERE g.name = %s ORDER BY time",
            (history.gateway,)).fetchall()
        strategy = db.execute("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = "
                              "'meterkit.samples'::regclass").fetchone()
    assert [table for table, _ in rows] == ["samples_y2026m11", "samples_y2026m12",
                                           "samples_y2027m01"]
    assert strategy == ("r",)


def test_aggregates_retention_alarms_audit_as_sqlite(history: PostgresHistory,
                                                     tmp_path: Path) -> None:
    classes = [RetentionClass(name="energy", points=("*/kwh",), raw_days=1, hourly_days=3,
                              counter=True)]
    readings = counter_readings("flat1/kwh", 4 * 24 * 4) + [
        PointReading("flat1/temp", at(m), Decimal(20 + m % 7), "degC", "temperature")
        for m in range(0, 3 * 24 * 60, 30)]
    notifications = [raised("a1", "flat1/temp", 1), raised("a2", "flat1/kwh", 2),
                     cleared("a1", "flat1/temp", 3, 1)]
    entries = [AuditEntry.login(at(5), user="ana", result="ok"),
               AuditEntry.failure(at(6), source="bus", error="timeout")]
    with SQLiteHistory(tmp_path / "h.sqlite") as sqlite:
        answers = []
        for backend in (sqlite, history):
            backend.append(readings)
            written = backend.downsample(at(2 * 24 * 60 + 10))
            for index, notification in enumerate(notifications):
                backend.append_alarm(notification, at(index))
            for entry in entries:
                backend.append_audit(entry)
            retention = backend.apply_retention(classes, at(4 * 24 * 60))
            # again from the start: day 3's first hour takes its counter's last value
            # before it from the kept hourly aggregate (day 2's raw readings are gone)
            again = backend.downsample(at(4 * 24 * 60), since=T0, classes=classes)
            answers.append((
                written, retention,
                backend.aggregates("flat1/kwh", "hour"), backend.aggregates("flat1/temp", "day"),
                backend.aggregates("flat1/kwh", "day", since=at(24 * 60)),
                backend.readings("flat1/kwh"), backend.readings("flat1/temp", until=at(600)),
                [r.to_dict() for r in backend.alarms()],
                [r.to_dict() for r in backend.alarms(point="flat1/kwh", since=at(1))],
                [r.to_dict() for r in backend.active_alarms()],
                backend.audit(), backend.audit(kinds=["login"], newest_first=True, limit=1),
                again))
    assert answers[1] == answers[0]
    written, retention, hourly = answers[0][:3]
    assert written > 0 and retention["raw"] > 0 and hourly
    assert any(aggregate.delta is not None for aggregate in hourly)
    day3 = next(a for a in hourly if a.start == T0 + timedelta(days=3))
    assert day3.delta == Decimal("1.00")  # 4 readings of +0.25 since the hour before


def test_gateways_are_kept_apart(server: PostgresServer, history: PostgresHistory) -> None:
    other = history.for_gateway(history.gateway + "-other")
    readings = counter_readings("flat1/kwh", 3)
    assert history.append(readings) == 3
    assert other.append(readings) == 3  # same point and times, another gateway: new
    other.append_alarm(raised("a1", "flat1/kwh", 1), T0)
    other.append_alarm(raised("a1", "flat1/kwh", 1), T0)  # delivered twice: stored once
    assert history.alarms() == [] and len(other.alarms()) == 1
    assert {history.gateway, other.gateway} <= set(history.gateways())
    with psycopg.connect(server.dsn()) as db:
        rows = db.execute("SELECT gateway, point, value, number, unit FROM meterkit.readings "
                          "WHERE gateway = %s ORDER BY time", (other.gateway,)).fetchall()
    assert rows[-1] == (other.gateway, "flat1/kwh", "0.50", Decimal("0.50"), "kWh")
    assert isinstance(alarms.notification_from_json(raised("a", "p", 1).to_json()),
                      alarms.AlarmRaised)
