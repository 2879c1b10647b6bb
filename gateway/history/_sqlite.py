"""The default history: one SQLite file (stdlib sqlite3), WAL, one transaction per batch.

Tables hold times as integer microseconds since 1970 UTC and intern point names and
units; the views ``readings``, ``alarms`` and ``audit`` show them readably (ISO 8601
UTC times, point names, units) for anyone opening the file with ``sqlite3``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import alarms
from profiles import PointReading, Reading

from ._aggregate import (
    RESOLUTIONS,
    Aggregate,
    Resolution,
)
from ._alarm_record import AlarmRecord, check_notification
from ._audit import AuditEntry, check_audit_entry, check_audit_query
from ._codec import (
    EPOCH,
    KIND_DECIMAL,
    MICROSECOND,
    decode_quality,
    decode_value,
    encode_quality,
    encode_value,
    from_micros,
    query_micros,
    to_micros,
)
from ._errors import HistoryError, HistoryFileError, QueryError, ReadingError
from ._maintenance import NUMERIC_KINDS, MaintainedHistory

__all__ = ["SQLiteHistory"]

APPLICATION_ID = 0x4D4B4853  # "MKHS": marks a meterkit history file
SCHEMA_VERSION = 1


def _iso(column: str) -> str:
    """SQL giving ISO 8601 UTC text of an integer-microseconds column (exact)."""
    return (f"strftime('%Y-%m-%dT%H:%M:%S', {column} / 1000000, 'unixepoch') || "
            f"CASE WHEN {column} % 1000000 = 0 THEN 'Z' "
            f"ELSE printf('.%06dZ', {column} % 1000000) END")


_SCHEMA = f"""
CREATE TABLE points (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE units (id INTEGER PRIMARY KEY, unit TEXT NOT NULL, quantity TEXT NOT NULL,
                    UNIQUE (unit, quantity));
CREATE TABLE samples (
    point_id INTEGER NOT NULL, time INTEGER NOT NULL, unit_id INTEGER NOT NULL,
    kind INTEGER NOT NULL, value, quality TEXT,
    PRIMARY KEY (point_id, time)) WITHOUT ROWID;
CREATE TABLE aggregates (
    point_id INTEGER NOT NULL, resolution TEXT NOT NULL, start INTEGER NOT NULL,
    count INTEGER NOT NULL, minimum TEXT NOT NULL, maximum TEXT NOT NULL,
    mean TEXT NOT NULL, last TEXT NOT NULL, delta TEXT, unit TEXT NOT NULL,
    PRIMARY KEY (point_id, resolution, start)) WITHOUT ROWID;
CREATE TABLE alarm_events (
    id INTEGER PRIMARY KEY, time INTEGER NOT NULL, point TEXT NOT NULL,
    alarm_id TEXT NOT NULL, event TEXT NOT NULL, severity TEXT NOT NULL,
    notification TEXT NOT NULL);
CREATE INDEX alarm_events_time ON alarm_events (time);
CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id, id);
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL,
    message TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_kind ON audit_events (kind, id);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE VIEW readings AS
    SELECT p.name AS point, {_iso("s.time")} AS time, s.value AS value, u.unit AS unit,
           u.quantity AS quantity, s.quality AS quality
    FROM samples AS s JOIN points AS p ON p.id = s.point_id JOIN units AS u ON u.id = s.unit_id;
CREATE VIEW alarms AS
    SELECT id, {_iso("time")} AS time, point, alarm_id, event, severity, notification
    FROM alarm_events;
CREATE VIEW audit AS
    SELECT id, {_iso("time")} AS time, kind, message, detail FROM audit_events;
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""



class SQLiteHistory(MaintainedHistory):
    """The history in one SQLite file (a :class:`~gateway.history.HistoryBackend`).

    ``SQLiteHistory(path)`` opens the file, creating it when ``create`` (else a missing
    file is a :class:`~gateway.history.HistoryFileError`, as is a file that is not a
    meterkit history). ``synchronous`` is SQLite's setting: ``"FULL"`` (default) makes
    every returned write survive a power loss, ``"NORMAL"`` only a crash of the process.
    Usable from several threads (calls are serialised) and as a context manager.
    """

    def __init__(self, path: str | Path, *, create: bool = True,
                 synchronous: Literal["FULL", "NORMAL"] = "FULL") -> None:
        self.path = Path(path)
        if synchronous not in ("FULL", "NORMAL"):
            raise QueryError("must be 'FULL' or 'NORMAL'", field="synchronous")
        if not create and not self.path.is_file():
            raise HistoryFileError("no such history file", path=str(self.path))
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None,
                                       check_same_thread=False)
        except sqlite3.Error as error:
            raise HistoryFileError(str(error), path=str(self.path)) from None
        try:
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute(f"PRAGMA synchronous = {synchronous}")
            self._prepare()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise HistoryFileError(str(error), path=str(self.path)) from None
        except HistoryError:
            self._db.close()
            raise
        self._point_ids: dict[str, int] = dict(
            (name, ident) for ident, name in self._db.execute("SELECT id, name FROM points"))
        self._unit_ids: dict[tuple[str, str], int] = {
            (unit, quantity): ident
            for ident, unit, quantity in self._db.execute("SELECT id, unit, quantity FROM units")}
        self._units = {ident: key for key, ident in self._unit_ids.items()}

    def _prepare(self) -> None:
        """Create the schema in a new file; refuse other files and newer schemas."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            application_id = self._db.execute("PRAGMA application_id").fetchone()[0]
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = self._db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if application_id == 0 and tables == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            elif application_id != APPLICATION_ID:
                raise HistoryFileError("not a meterkit history (an SQLite file of something "
                                       "else)", path=str(self.path))
            elif version > SCHEMA_VERSION:
                raise HistoryFileError(f"history schema {version} is newer than this "
                                       f"meterkit's {SCHEMA_VERSION}", path=str(self.path))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # -- context and transactions --------------------------------------------------

    def __enter__(self) -> SQLiteHistory:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (a clean WAL checkpoint); the object is unusable afterwards."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; SQLite's errors become HistoryFileErrors."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as error:
                raise HistoryFileError(str(error), path=str(self.path)) from error

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; the id caches follow a rollback.

        SQLite's errors (a full disk, a lock held too long, a closed file) become
        HistoryFileErrors; nothing of the transaction is stored then.
        """
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            points, units = len(self._point_ids), len(self._unit_ids)
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if len(self._point_ids) != points or len(self._unit_ids) != units:
                    self._reload_ids()
                raise

    def _reload_ids(self) -> None:
        self._point_ids = dict(
            (name, ident) for ident, name in self._db.execute("SELECT id, name FROM points"))
        self._unit_ids = {(unit, quantity): ident for ident, unit, quantity
                          in self._db.execute("SELECT id, unit, quantity FROM units")}
        self._units = {ident: key for key, ident in self._unit_ids.items()}

    def _point_id(self, point: object, index: int) -> int:
        """The id of a point name new to the cache (inside a write transaction)."""
        if not isinstance(point, str) or not point:
            raise ReadingError("must be a non-empty text", field="point", index=index)
        self._db.execute("INSERT OR IGNORE INTO points (name) VALUES (?)", (point,))
        ident: int = self._db.execute("SELECT id FROM points WHERE name = ?",
                                      (point,)).fetchone()[0]
        self._point_ids[point] = ident
        return ident

    def _unit_id(self, key: tuple[object, object], index: int) -> int:
        """The id of a (unit, quantity) pair new to the cache (inside a write transaction)."""
        unit, quantity = key
        if not isinstance(unit, str):
            raise ReadingError("must be a text", field="unit", index=index)
        if not isinstance(quantity, str):
            raise ReadingError("must be a text", field="quantity", index=index)
        self._db.execute("INSERT OR IGNORE INTO units (unit, quantity) VALUES (?, ?)", key)
        ident: int = self._db.execute("SELECT id FROM units WHERE unit = ? AND quantity = ?",
                                      key).fetchone()[0]
        self._unit_ids[(unit, quantity)] = ident
        self._units[ident] = (unit, quantity)
        return ident

    # -- readings ------------------------------------------------------------------

    def append(self, readings: Iterable[Reading]) -> int:
        """Store a batch of readings in one transaction; return how many were new.

        A reading whose (point, time) is stored already is skipped. An unusable reading
        raises :class:`~gateway.history.ReadingError` (its index and field) and nothing
        of the batch is stored.
        """
        with self._write() as db:
            rows: list[tuple[int, int, int, int, object, str | None]] = []
            point_ids, unit_ids = self._point_ids, self._unit_ids
            for index, reading in enumerate(readings):
                try:
                    point, time, value = reading.point, reading.time, reading.value
                    unit_key = (reading.unit, reading.quantity)
                    quality = reading.quality
                except AttributeError as error:
                    raise ReadingError("missing (not a reading)", field=error.name or "?",
                                       index=index) from None
                try:
                    point_id = point_ids[point]
                except (KeyError, TypeError):  # new, or not a text (refused there)
                    point_id = self._point_id(point, index)
                try:
                    unit_id = unit_ids[unit_key]
                except (KeyError, TypeError):
                    unit_id = self._unit_id(unit_key, index)
                # The common cases inline (Decimal values, good quality, aware times): 14-23 %
                # more readings/s than through the _codec functions, measured on 100 batches
                # of 1000 readings (bench_history's data, best of 5, in one run).
                try:
                    micros = (time - EPOCH) // MICROSECOND
                except TypeError:  # naive, or not a datetime: to_micros says which
                    micros = to_micros(time, index=index)
                stored: object
                if type(value) is Decimal:
                    kind, stored = KIND_DECIMAL, str(value)
                else:
                    kind, stored = encode_value(value, index=index)
                rows.append((point_id, micros, unit_id, kind, stored,
                             encode_quality(quality, index=index) if quality else None))
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?)", rows)
            return db.total_changes - before

    def _reading(self, point: str, row: tuple[Any, ...]) -> PointReading:
        time, unit_id, kind, stored, quality = row
        unit, quantity = self._units[unit_id]
        return PointReading(point, from_micros(time), decode_value(kind, stored), unit,
                            quantity, decode_quality(quality))

    def readings(self, point: str, since: datetime | None = None,
                 until: datetime | None = None) -> list[PointReading]:
        """One point's readings with ``since <= time < until``, oldest first."""
        low, high = _range(since, until)
        with self._connection() as db:
            point_id = self._point_ids.get(point)
            if point_id is None:
                return []
            rows = db.execute(
                "SELECT time, unit_id, kind, value, quality FROM samples "
                "WHERE point_id = ? AND time >= ? AND time < ? ORDER BY time",
                (point_id, low, high)).fetchall()
            return [self._reading(point, row) for row in rows]

    def latest(self, points: Iterable[str] | None = None) -> dict[str, PointReading]:
        """The newest reading of each point (of ``points``, or of all), by point name."""
        with self._connection():
            wanted = list(self._point_ids) if points is None else list(points)
            result = {}
            for point in wanted:
                point_id = self._point_ids.get(point)
                if point_id is None:
                    continue
                row = self._db.execute(
                    "SELECT time, unit_id, kind, value, quality FROM samples "
                    "WHERE point_id = ? ORDER BY time DESC LIMIT 1", (point_id,)).fetchone()
                if row is not None:
                    result[point] = self._reading(point, row)
            return result

    def points(self) -> list[str]:
        """The names of all points ever stored, sorted."""
        with self._lock:
            return sorted(self._point_ids)

    # -- aggregates and retention -----------------------------------------------------

    # -- aggregates and retention: the storage primitives of MaintainedHistory -------

    def _maintenance(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._write()

    def _point_items(self) -> list[tuple[str, int]]:
        return list(self._point_ids.items())

    def _setting(self, handle: sqlite3.Connection, key: str) -> int | None:
        row = handle.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def _set_setting(self, handle: sqlite3.Connection, key: str, micros: int) -> None:
        handle.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, str(micros)))

    def _first_time(self, handle: sqlite3.Connection) -> int | None:
        first: int | None = handle.execute("SELECT min(time) FROM samples").fetchone()[0]
        return first

    def _samples(self, handle: sqlite3.Connection, point_id: int, start: int, end: int
                 ) -> Iterator[tuple[int, int, object, str | None, str]]:
        for time, unit_id, kind, stored, quality in handle.execute(
                "SELECT time, unit_id, kind, value, quality FROM samples "
                "WHERE point_id = ? AND time >= ? AND time < ? ORDER BY time",
                (point_id, start, end)):
            yield time, kind, decode_value(kind, stored), quality, self._units[unit_id][0]

    def _values_before(self, handle: sqlite3.Connection, point_id: int, start: int
                       ) -> Iterator[tuple[int, object]]:
        for kind, stored in handle.execute(
                "SELECT kind, value FROM samples WHERE point_id = ? AND time < ? "
                f"AND kind IN {NUMERIC_KINDS} "
                "AND ',' || coalesce(quality, '') || ',' NOT LIKE '%,invalid,%' "
                "ORDER BY time DESC", (point_id, start)):
            yield kind, decode_value(kind, stored)

    def _last_aggregate_before(self, handle: sqlite3.Connection, point_id: int,
                               resolution: Resolution, start: int) -> Decimal | None:
        row = handle.execute(
            "SELECT last FROM aggregates WHERE point_id = ? AND resolution = ? AND start < ? "
            "ORDER BY start DESC LIMIT 1", (point_id, resolution, start)).fetchone()
        return None if row is None else Decimal(row[0])

    def _write_aggregates(self, handle: sqlite3.Connection, point_id: int,
                          resolution: Resolution, aggregates: Sequence[Aggregate]) -> None:
        handle.executemany(
            "INSERT OR REPLACE INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(point_id, resolution, query_micros(a.start, "start"), a.count, str(a.minimum),
              str(a.maximum), str(a.mean), str(a.last),
              None if a.delta is None else str(a.delta), a.unit)
             for a in aggregates])

    def _delete_before(self, handle: sqlite3.Connection, point_id: int, table: str,
                       cutoff: int) -> int:
        if table == "raw":
            cursor = handle.execute("DELETE FROM samples WHERE point_id = ? AND time < ?",
                                    (point_id, cutoff))
        else:
            cursor = handle.execute("DELETE FROM aggregates WHERE point_id = ? AND "
                                    "resolution = ? AND start < ?", (point_id, table, cutoff))
        deleted: int = cursor.rowcount
        return deleted

    def aggregates(self, point: str, resolution: Resolution, since: datetime | None = None,
                   until: datetime | None = None) -> list[Aggregate]:
        """One point's aggregates of ``resolution`` ("hour" or "day") starting in range."""
        if resolution not in RESOLUTIONS:
            raise QueryError(f"must be one of {', '.join(RESOLUTIONS)}", field="resolution")
        low, high = _range(since, until)
        with self._connection():
            point_id = self._point_ids.get(point)
            if point_id is None:
                return []
            return [
                Aggregate(point=point, resolution=resolution, start=from_micros(start),
                          count=count, minimum=Decimal(minimum), maximum=Decimal(maximum),
                          mean=Decimal(mean), last=Decimal(last),
                          delta=None if delta is None else Decimal(delta),
                          unit=unit)
                for start, count, minimum, maximum, mean, last, delta, unit
                in self._db.execute(
                    "SELECT start, count, minimum, maximum, mean, last, delta, unit "
                    "FROM aggregates WHERE point_id = ? AND resolution = ? AND start >= ? "
                    "AND start < ? ORDER BY start", (point_id, resolution, low, high))]

    # -- alarms ----------------------------------------------------------------------

    def append_alarm(self, notification: alarms.Notification, time: datetime) -> None:
        """Store an alarm notification (raise or clear) received at wall time ``time``."""
        check_notification(notification)
        micros = to_micros(time)
        with self._write() as db:
            db.execute(
                "INSERT INTO alarm_events (time, point, alarm_id, event, severity, notification)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (micros, notification.point, notification.alarm_id, notification.event,
                 notification.perceived_severity.value, notification.to_json()))

    def alarms(self, since: datetime | None = None, until: datetime | None = None, *,
               point: str | None = None) -> list[AlarmRecord]:
        """Stored notifications in the time range (of one point), in the order stored."""
        low, high = _range(since, until)
        query = "SELECT time, notification FROM alarm_events WHERE time >= ? AND time < ?"
        arguments: tuple[object, ...] = (low, high)
        if point is not None:
            query += " AND point = ?"
            arguments += (point,)
        with self._connection():
            rows = self._db.execute(query + " ORDER BY id", arguments).fetchall()
        return [_alarm_record(time, text) for time, text in rows]

    def active_alarms(self) -> list[AlarmRecord]:
        """The raise of every alarm whose latest notification is a raise, in stored order."""
        with self._connection():
            rows = self._db.execute(
                "SELECT time, notification FROM alarm_events AS a WHERE event = 'raised' AND "
                "id = (SELECT max(id) FROM alarm_events WHERE alarm_id = a.alarm_id) "
                "ORDER BY id").fetchall()
        return [_alarm_record(time, text) for time, text in rows]

    # -- audit log -------------------------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> None:
        """Add an entry to the audit log."""
        check_audit_entry(entry)
        micros = to_micros(entry.time)
        with self._write() as db:
            db.execute("INSERT INTO audit_events (time, kind, message, detail) "
                       "VALUES (?, ?, ?, ?)",
                       (micros, entry.kind, entry.message,
                        json.dumps(entry.detail, sort_keys=True, ensure_ascii=False)))

    def audit(self, since: datetime | None = None, until: datetime | None = None, *,
              kinds: Sequence[str] = (), limit: int | None = None,
              newest_first: bool = False) -> list[AuditEntry]:
        """Audit entries in the range (of ``kinds``; all when empty), in the order stored
        (or newest first), at most ``limit`` of them."""
        low, high = _range(since, until)
        check_audit_query(kinds, limit)
        query = "SELECT time, kind, message, detail FROM audit_events WHERE time >= ? AND time < ?"
        arguments: tuple[object, ...] = (low, high)
        if kinds:
            query += f" AND kind IN ({', '.join('?' * len(kinds))})"
            arguments += tuple(kinds)
        query += " ORDER BY id DESC" if newest_first else " ORDER BY id"
        if limit is not None:
            query += f" LIMIT {limit}"
        with self._connection():
            rows = self._db.execute(query, arguments).fetchall()
        return [AuditEntry(time=from_micros(time), kind=kind, message=message,
                           detail=json.loads(detail)) for time, kind, message, detail in rows]


_LOWEST = -(2**63)
_HIGHEST = 2**63 - 1


def _range(since: datetime | None, until: datetime | None) -> tuple[int, int]:
    low = query_micros(since, "since")
    high = query_micros(until, "until")
    return (_LOWEST if low is None else low, _HIGHEST if high is None else high)


def _alarm_record(time: int, text: str) -> AlarmRecord:
    return AlarmRecord(time=from_micros(time), notification=alarms.notification_from_json(text))
