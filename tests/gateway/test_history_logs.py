"""gateway.history: alarm notifications and the audit log, starts and stops."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gateway.history import (
    AuditEntry,
    QueryError,
    ReadingError,
    SQLiteHistory,
    record_start,
    record_stop,
)

from .history_support import at, cleared, raised


def test_alarm_notifications_and_the_active_ones(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with SQLiteHistory(path) as history:
        history.append_alarm(raised("HEAT-HI", "flat3/heat/flow_degC", 1), at(0))
        history.append_alarm(raised("WATER-STALE", "flat1/water/m3", 2), at(5))
        history.append_alarm(cleared("HEAT-HI", "flat3/heat/flow_degC", 3, 1), at(10))
        history.append_alarm(raised("HEAT-HI", "flat3/heat/flow_degC", 4), at(20))
        history.append_alarm(cleared("WATER-STALE", "flat1/water/m3", 5, 2), at(30))
        records = history.alarms()
        assert [(r.alarm_id, r.event, r.notification.notification_id) for r in records] == [
            ("HEAT-HI", "raised", 1), ("WATER-STALE", "raised", 2), ("HEAT-HI", "cleared", 3),
            ("HEAT-HI", "raised", 4), ("WATER-STALE", "cleared", 5)]
        assert records[2].notification == cleared("HEAT-HI", "flat3/heat/flow_degC", 3, 1)
        assert records[2].time == at(10)
        assert [r.notification.notification_id for r in history.alarms(at(5), at(20))] == [2, 3]
        assert [r.notification.notification_id
                for r in history.alarms(point="flat1/water/m3")] == [2, 5]
        [active] = history.active_alarms()
        assert (active.alarm_id, active.notification.notification_id, active.time) == (
            "HEAT-HI", 4, at(20))
        with pytest.raises(ReadingError, match="notification"):
            history.append_alarm({"event": "raised"}, at(0))  # type: ignore[arg-type]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT time, point, alarm_id, event, severity FROM alarms "
                          "WHERE id = 3").fetchone() == (
            "2026-01-01T00:10:00Z", "flat3/heat/flow_degC", "HEAT-HI", "cleared", "cleared")


def test_audit_entries_by_kind_and_order(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        entries = [
            AuditEntry.delivery(at(0), what="readings.csv", where="sftp://backup", result="ok"),
            AuditEntry.failure(at(1), source="mbus/segment1", error="no reply from 5"),
            AuditEntry.acknowledgement(at(2), alarm_id="HEAT-HI", user="anna"),
            AuditEntry.login(at(3), user="anna", result="ok"),
        ]
        for entry in entries:
            history.append_audit(entry)
        assert history.audit() == entries
        assert history.audit(kinds=("failure", "login")) == [entries[1], entries[3]]
        assert history.audit(newest_first=True, limit=2) == [entries[3], entries[2]]
        assert history.audit(since=at(1), until=at(3)) == entries[1:3]
        assert entries[0].detail == {"what": "readings.csv", "where": "sftp://backup",
                                     "result": "ok"}
        with pytest.raises(QueryError, match="kinds"):
            history.audit(kinds=("lunch",))
        with pytest.raises(QueryError, match="kinds"):
            history.audit(kinds="login")
        with pytest.raises(QueryError, match="limit"):
            history.audit(limit=-1)


@pytest.mark.parametrize(("arguments", "field"), [
    ({"time": datetime(2026, 1, 1), "kind": "login"}, "time"),
    ({"time": at(0), "kind": "lunch"}, "kind"),
    ({"time": at(0), "kind": "login", "message": 3}, "message"),
    ({"time": at(0), "kind": "login", "detail": {"user": 3}}, "detail"),
])
def test_bad_audit_entries_are_refused(arguments: dict[str, object], field: str) -> None:
    with pytest.raises(ReadingError) as caught:
        AuditEntry(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_starts_and_stops_detect_an_unclean_stop(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with SQLiteHistory(path) as history:
        first = record_start(history, at(0), version="1.0")
        assert (first.previous_stop, first.previous_start) == ("none", None)
        history.append_audit(AuditEntry.login(at(1), user="anna", result="ok"))
    # The process died here: no stop was recorded.
    with SQLiteHistory(path) as history:
        second = record_start(history, at(10), version="1.0")
        assert (second.previous_stop, second.previous_start) == ("unclean", at(0))
        record_stop(history, at(20))
    with SQLiteHistory(path) as history:
        third = record_start(history, at(30))
        assert (third.previous_stop, third.previous_start) == ("clean", at(10))
        starts = history.audit(kinds=("start",))
        assert [s.detail["previous_stop"] for s in starts] == ["none", "unclean", "clean"]
        assert starts[1].message == "started after an unclean stop"


def test_a_clock_set_back_does_not_hide_a_stop(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite") as history:
        record_start(history, datetime(2026, 6, 1, tzinfo=timezone.utc))
        record_stop(history, datetime(2026, 6, 1, 1, tzinfo=timezone.utc))
        # The next start's clock is earlier than the stop: order stored still decides.
        assert record_start(history, at(0)).previous_stop == "clean"
