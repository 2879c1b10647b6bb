"""The history in PostgreSQL (psycopg 3), for fleets: many gateways, one database.

Everything lives in the schema ``meterkit``. Each :class:`PostgresHistory` is bound
to one gateway (``gateway=``, default ``""``): points, alarms, audit entries and
settings belong to their gateway, so a reading is identified by (gateway, point,
time) and a re-sent one is stored once. :meth:`PostgresHistory.for_gateway` gives
the history of another gateway on the same connection (the collector's way).

Tables: ``gateways``, ``points``, ``units``, ``samples`` (partitioned by time with
PostgreSQL's declarative partitioning, one partition per UTC month, created as
readings arrive), ``aggregates``, ``alarm_events``, ``audit_events``,
``settings``; the views ``readings`` (gateway, point, time, value as exact text,
number as ``numeric``, unit, quantity, quality), ``alarms`` and ``audit`` show
them readably. Batches go in with ``COPY`` into a temporary table, then one
``INSERT ... ON CONFLICT DO NOTHING``. Values come back as the type they went in
(the codec shared with :class:`~gateway.history.SQLiteHistory`), times as UTC.
Needs ``pip install meterkit[postgres]``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from types import TracebackType
from typing import Any

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
    KIND_BOOL,
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

__all__ = ["PostgresHistory"]

SCHEMA_VERSION = 1
_LOCK_KEY = 0x4D4B4853  # advisory lock serialising schema and partition creation

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS meterkit;
CREATE TABLE IF NOT EXISTS meterkit.version (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS meterkit.gateways (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS meterkit.points (
    id serial PRIMARY KEY, gateway_id integer NOT NULL REFERENCES meterkit.gateways,
    name text NOT NULL, UNIQUE (gateway_id, name));
CREATE TABLE IF NOT EXISTS meterkit.units (
    id serial PRIMARY KEY, unit text NOT NULL, quantity text NOT NULL, UNIQUE (unit, quantity));
CREATE TABLE IF NOT EXISTS meterkit.samples (
    point_id integer NOT NULL, time timestamptz NOT NULL, unit_id integer NOT NULL,
    kind smallint NOT NULL, value text, number numeric, quality text,
    PRIMARY KEY (point_id, time)) PARTITION BY RANGE (time);
CREATE TABLE IF NOT EXISTS meterkit.aggregates (
    point_id integer NOT NULL, resolution text NOT NULL, start timestamptz NOT NULL,
    count bigint NOT NULL, minimum text NOT NULL, maximum text NOT NULL, mean text NOT NULL,
    last text NOT NULL, delta text, unit text NOT NULL,
    PRIMARY KEY (point_id, resolution, start));
CREATE TABLE IF NOT EXISTS meterkit.alarm_events (
    id bigserial PRIMARY KEY, gateway_id integer NOT NULL, time timestamptz NOT NULL,
    point text NOT NULL, alarm_id text NOT NULL, event text NOT NULL, severity text NOT NULL,
    notification text NOT NULL, UNIQUE (gateway_id, alarm_id, event, time));
CREATE INDEX IF NOT EXISTS alarm_events_time ON meterkit.alarm_events (gateway_id, time);
CREATE TABLE IF NOT EXISTS meterkit.audit_events (
    id bigserial PRIMARY KEY, gateway_id integer NOT NULL, time timestamptz NOT NULL,
    kind text NOT NULL, message text NOT NULL, detail text NOT NULL);
CREATE INDEX IF NOT EXISTS audit_events_time ON meterkit.audit_events (gateway_id, time);
CREATE TABLE IF NOT EXISTS meterkit.settings (
    gateway_id integer NOT NULL, key text NOT NULL, value text NOT NULL,
    PRIMARY KEY (gateway_id, key));
CREATE OR REPLACE VIEW meterkit.readings AS
    SELECT g.name AS gateway, p.name AS point, s.time, s.value, s.number, u.unit, u.quantity,
           s.quality
    FROM meterkit.samples AS s JOIN meterkit.points AS p ON p.id = s.point_id
    JOIN meterkit.gateways AS g ON g.id = p.gateway_id JOIN meterkit.units AS u
    ON u.id = s.unit_id;
CREATE OR REPLACE VIEW meterkit.alarms AS
    SELECT a.id, g.name AS gateway, a.time, a.point, a.alarm_id, a.event, a.severity,
           a.notification
    FROM meterkit.alarm_events AS a JOIN meterkit.gateways AS g ON g.id = a.gateway_id;
CREATE OR REPLACE VIEW meterkit.audit AS
    SELECT a.id, g.name AS gateway, a.time, a.kind, a.message, a.detail
    FROM meterkit.audit_events AS a JOIN meterkit.gateways AS g ON g.id = a.gateway_id
"""

_INCOMING = """
CREATE TEMPORARY TABLE IF NOT EXISTS meterkit_incoming (
    ord integer, point_id integer, time timestamptz, unit_id integer, kind smallint,
    value text, number numeric, quality text) ON COMMIT DELETE ROWS
"""


def _month_start(time: datetime) -> datetime:
    utc = time.astimezone(timezone.utc)
    return datetime(utc.year, utc.month, 1, tzinfo=timezone.utc)


def _next_month(start: datetime) -> str:
    """The upper bound of a month's partition, as SQL."""
    if start.year == 9999 and start.month == 12:
        return "MAXVALUE"
    if start.month == 12:
        return f"'{start.replace(year=start.year + 1, month=1).isoformat()}'"
    return f"'{start.replace(month=start.month + 1).isoformat()}'"


def _stored_text(kind: int, stored: object) -> str | None:
    if stored is None:
        return None
    return repr(stored) if isinstance(stored, float) else str(stored)


def _number(kind: int, stored: object) -> Decimal | None:
    """The value as ``numeric`` for SQL users (None for text, bool, non-finite floats)."""
    if kind not in NUMERIC_KINDS:
        return None
    number = Decimal(str(stored)) if not isinstance(stored, float) else Decimal(repr(stored))
    return number if number.is_finite() else None


def _value(kind: int, text: str | None) -> Any:
    if kind == KIND_BOOL:
        return decode_value(kind, int(text or 0))
    return decode_value(kind, text)


def _micros(time: datetime) -> int:
    micros = query_micros(time, "time")
    assert micros is not None
    return micros


def _utc(time: datetime) -> datetime:
    return time.astimezone(timezone.utc)


class _Store:
    """One connection and what every gateway's view of it shares."""

    def __init__(self, dsn: str, connect_timeout: int) -> None:
        try:
            import psycopg
        except ImportError:
            raise HistoryError("PostgreSQL needs psycopg: pip install meterkit[postgres]"
                               ) from None
        self.psycopg = psycopg
        self.dsn = dsn
        self.lock = threading.RLock()
        try:
            self.db = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout,
                                      options="-c timezone=UTC")
        except psycopg.Error as error:
            raise HistoryFileError(f"cannot connect: {error}", path=_safe_dsn(dsn)) from None
        self.units: dict[tuple[str, str], int] = {}
        self.unit_names: dict[int, tuple[str, str]] = {}
        self.partitions: set[datetime] = set()
        self.prepare()

    def prepare(self) -> None:
        with self.db.transaction(), self.db.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cursor.execute(_SCHEMA)
            cursor.execute("SELECT max(version) FROM meterkit.version")
            version = cursor.fetchone()[0]  # type: ignore[index]
            if version is None:
                cursor.execute("INSERT INTO meterkit.version VALUES (%s)", (SCHEMA_VERSION,))
            elif version > SCHEMA_VERSION:
                raise HistoryFileError(f"history schema {version} is newer than this "
                                       f"meterkit's {SCHEMA_VERSION}", path=_safe_dsn(self.dsn))
        self.reload()

    def reload(self) -> None:
        with self.db.cursor() as cursor:
            cursor.execute("SELECT id, unit, quantity FROM meterkit.units")
            self.units = {(unit, quantity): ident for ident, unit, quantity in cursor}
            self.unit_names = {ident: key for key, ident in self.units.items()}
            cursor.execute(
                "SELECT c.relname FROM pg_inherits JOIN pg_class AS c ON c.oid = inhrelid "
                "WHERE inhparent = 'meterkit.samples'::regclass")
            self.partitions = {datetime(int(name[9:13]), int(name[14:16]), 1,
                                        tzinfo=timezone.utc)
                               for (name,) in cursor if name.startswith("samples_y")}

    def ensure_partitions(self, cursor: Any, months: set[datetime]) -> None:
        missing = months - self.partitions
        if not missing:
            return
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        for start in sorted(missing):
            name = f"samples_y{start.year:04d}m{start.month:02d}"
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS meterkit.{name} PARTITION OF meterkit.samples "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ({_next_month(start)})")
        self.partitions |= missing

    def unit_id(self, cursor: Any, unit: object, quantity: object, index: int) -> int:
        if not isinstance(unit, str):
            raise ReadingError("must be a text", field="unit", index=index)
        if not isinstance(quantity, str):
            raise ReadingError("must be a text", field="quantity", index=index)
        cursor.execute("INSERT INTO meterkit.units (unit, quantity) VALUES (%s, %s) "
                       "ON CONFLICT DO NOTHING", (unit, quantity))
        cursor.execute("SELECT id FROM meterkit.units WHERE unit = %s AND quantity = %s",
                       (unit, quantity))
        ident: int = cursor.fetchone()[0]
        self.units[(unit, quantity)] = ident
        self.unit_names[ident] = (unit, quantity)
        return ident

    @contextmanager
    def write(self) -> Iterator[Any]:
        """One transaction under the lock; caches follow a rollback."""
        with self.lock:
            units, partitions = len(self.units), len(self.partitions)
            try:
                with self.db.transaction(), self.db.cursor() as cursor:
                    yield cursor
            except self.psycopg.Error as error:
                if len(self.units) != units or len(self.partitions) != partitions:
                    self.reload_quietly()
                raise HistoryError(f"PostgreSQL: {error}") from None
            except BaseException:
                if len(self.units) != units or len(self.partitions) != partitions:
                    self.reload_quietly()
                raise

    def reload_quietly(self) -> None:
        try:
            self.reload()
        except self.psycopg.Error:
            self.units, self.unit_names, self.partitions = {}, {}, set()

    @contextmanager
    def read(self) -> Iterator[Any]:
        with self.lock:
            try:
                with self.db.cursor() as cursor:
                    yield cursor
            except self.psycopg.Error as error:
                raise HistoryError(f"PostgreSQL: {error}") from None


def _safe_dsn(dsn: str) -> str:
    """The DSN without a password (it names the database in errors)."""
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return " ".join(part for part in dsn.split() if not part.startswith("password="))


class PostgresHistory(MaintainedHistory):
    """The history in PostgreSQL (a :class:`~gateway.history.HistoryBackend`), per gateway.

    ``PostgresHistory("postgresql://user@host/db", gateway="site-7")`` connects and
    creates the schema when it is missing. Usable from several threads (calls are
    serialised) and as a context manager.
    """

    def __init__(self, dsn: str, *, gateway: str = "", connect_timeout: int = 10,
                 _store: _Store | None = None) -> None:
        if not isinstance(gateway, str):
            raise QueryError("must be a text", field="gateway")
        self.gateway = gateway
        self._owner = _store is None
        self._store = _store if _store is not None else _Store(dsn, connect_timeout)
        self._points: dict[str, int] = {}
        with self._store.write() as cursor:
            cursor.execute("INSERT INTO meterkit.gateways (name) VALUES (%s) "
                           "ON CONFLICT DO NOTHING", (gateway,))
            cursor.execute("SELECT id FROM meterkit.gateways WHERE name = %s", (gateway,))
            self._gateway_id: int = cursor.fetchone()[0]
        self._reload_points()

    def for_gateway(self, gateway: str) -> PostgresHistory:
        """The history of ``gateway`` on this connection (closing it closes nothing)."""
        return PostgresHistory(self._store.dsn, gateway=gateway, _store=self._store)

    def gateways(self) -> list[str]:
        """The names of every gateway in the database, sorted."""
        with self._store.read() as cursor:
            cursor.execute("SELECT name FROM meterkit.gateways ORDER BY name")
            return [name for (name,) in cursor]

    def _reload_points(self) -> None:
        with self._store.read() as cursor:
            cursor.execute("SELECT id, name FROM meterkit.points WHERE gateway_id = %s",
                           (self._gateway_id,))
            self._points = {name: ident for ident, name in cursor}

    def __enter__(self) -> PostgresHistory:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (when this object opened it)."""
        if self._owner:
            with self._store.lock:
                self._store.db.close()

    def _point_id(self, cursor: Any, point: object, index: int) -> int:
        if not isinstance(point, str) or not point:
            raise ReadingError("must be a non-empty text", field="point", index=index)
        cursor.execute("INSERT INTO meterkit.points (gateway_id, name) VALUES (%s, %s) "
                       "ON CONFLICT DO NOTHING", (self._gateway_id, point))
        cursor.execute("SELECT id FROM meterkit.points WHERE gateway_id = %s AND name = %s",
                       (self._gateway_id, point))
        ident: int = cursor.fetchone()[0]
        self._points[point] = ident
        return ident

    # -- readings ------------------------------------------------------------------

    def append(self, readings: Iterable[Reading]) -> int:
        """Store a batch in one transaction (COPY, then INSERT ... ON CONFLICT DO NOTHING);
        return how many were new. A reading whose (point, time) is stored already, or
        comes twice in the batch, is stored once. An unusable reading raises
        :class:`~gateway.history.ReadingError` and nothing of the batch is stored."""
        store = self._store
        known = len(self._points)
        try:
            with store.write() as cursor:
                rows = []
                months = set()
                for index, reading in enumerate(readings):
                    try:
                        point, time, value = reading.point, reading.time, reading.value
                        unit, quantity, quality = reading.unit, reading.quantity, reading.quality
                    except AttributeError as error:
                        raise ReadingError("missing (not a reading)", field=error.name or "?",
                                           index=index) from None
                    point_id = self._points.get(point) if isinstance(point, str) else None
                    if point_id is None:
                        point_id = self._point_id(cursor, point, index)
                    unit_key = (unit, quantity)
                    unit_id = store.units.get(unit_key) if isinstance(unit, str) \
                        and isinstance(quantity, str) else None
                    if unit_id is None:
                        unit_id = store.unit_id(cursor, unit, quantity, index)
                    to_micros(time, index=index)  # refuses naive and non-datetime times
                    kind, stored = encode_value(value, index=index)
                    rows.append((index, point_id, time, unit_id, kind, _stored_text(kind, stored),
                                 _number(kind, stored), encode_quality(quality, index=index)))
                    months.add(_month_start(time))
                if not rows:
                    return 0
                store.ensure_partitions(cursor, months)
                cursor.execute(_INCOMING)
                with cursor.copy("COPY meterkit_incoming FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(
                    "INSERT INTO meterkit.samples SELECT DISTINCT ON (point_id, time) "
                    "point_id, time, unit_id, kind, value, number, quality "
                    "FROM meterkit_incoming ORDER BY point_id, time, ord "
                    "ON CONFLICT DO NOTHING")
                new: int = cursor.rowcount
                return new
        except BaseException:
            if len(self._points) != known:
                self._reload_points()
            raise

    def _reading(self, point: str, row: tuple[Any, ...]) -> PointReading:
        time, unit_id, kind, text, quality = row
        unit, quantity = self._store.unit_names[unit_id]
        return PointReading(point, _utc(time), _value(kind, text), unit, quantity,
                            decode_quality(quality))

    def readings(self, point: str, since: datetime | None = None,
                 until: datetime | None = None) -> list[PointReading]:
        """One point's readings with ``since <= time < until``, oldest first."""
        where, arguments = _range("time", since, until)
        point_id = self._points.get(point)
        if point_id is None:
            return []
        with self._store.read() as cursor:
            cursor.execute("SELECT time, unit_id, kind, value, quality FROM meterkit.samples "
                           f"WHERE point_id = %s{where} ORDER BY time", (point_id, *arguments))
            rows = cursor.fetchall()
        self._know_units(row[1] for row in rows)
        return [self._reading(point, row) for row in rows]

    def _know_units(self, unit_ids: Iterable[int]) -> None:
        """Units written by another process since the cache was read."""
        if any(ident not in self._store.unit_names for ident in unit_ids):
            with self._store.lock:
                self._store.reload()

    def latest(self, points: Iterable[str] | None = None) -> dict[str, PointReading]:
        """The newest reading of each point (of ``points``, or of all), by point name."""
        self._reload_points()
        wanted = list(self._points) if points is None else list(points)
        result = {}
        with self._store.read() as cursor:
            for point in wanted:
                point_id = self._points.get(point)
                if point_id is None:
                    continue
                cursor.execute(
                    "SELECT time, unit_id, kind, value, quality FROM meterkit.samples "
                    "WHERE point_id = %s ORDER BY time DESC LIMIT 1", (point_id,))
                row = cursor.fetchone()
                if row is not None:
                    result[point] = row
        self._know_units(row[1] for row in result.values())
        return {point: self._reading(point, row) for point, row in result.items()}

    def points(self) -> list[str]:
        """The names of this gateway's points, sorted."""
        self._reload_points()
        return sorted(self._points)

    # -- aggregates and retention -----------------------------------------------------

    # -- aggregates and retention: the storage primitives of MaintainedHistory -------

    def _maintenance(self) -> AbstractContextManager[Any]:
        return self._store.write()

    def _point_items(self) -> list[tuple[str, int]]:
        self._reload_points()
        return list(self._points.items())

    def _setting(self, handle: Any, key: str) -> int | None:
        handle.execute("SELECT value FROM meterkit.settings WHERE gateway_id = %s AND key = %s",
                       (self._gateway_id, key))
        row = handle.fetchone()
        return None if row is None else int(row[0])

    def _set_setting(self, handle: Any, key: str, micros: int) -> None:
        handle.execute(
            "INSERT INTO meterkit.settings VALUES (%s, %s, %s) ON CONFLICT "
            "(gateway_id, key) DO UPDATE SET value = excluded.value",
            (self._gateway_id, key, str(micros)))

    def _first_time(self, handle: Any) -> int | None:
        handle.execute(
            "SELECT min(time) FROM meterkit.samples AS s JOIN meterkit.points AS p "
            "ON p.id = s.point_id WHERE p.gateway_id = %s", (self._gateway_id,))
        first = handle.fetchone()[0]
        return None if first is None else query_micros(first, "first")

    def _samples(self, handle: Any, point_id: int, start: int, end: int
                 ) -> list[tuple[int, int, object, str | None, str]]:
        handle.execute(
            "SELECT time, unit_id, kind, value, quality FROM meterkit.samples "
            "WHERE point_id = %s AND time >= %s AND time < %s ORDER BY time",
            (point_id, from_micros(start), from_micros(end)))
        fetched = handle.fetchall()
        self._know_units(row[1] for row in fetched)
        return [(_micros(time), kind, _value(kind, text), quality,
                 self._store.unit_names[unit_id][0])
                for time, unit_id, kind, text, quality in fetched]

    def _values_before(self, handle: Any, point_id: int, start: int
                       ) -> list[tuple[int, object]]:
        handle.execute(
            "SELECT kind, value FROM meterkit.samples WHERE point_id = %s AND time < %s "
            "AND kind = ANY(%s) AND ',' || coalesce(quality, '') || ',' NOT LIKE '%%,invalid,%%' "
            "ORDER BY time DESC", (point_id, from_micros(start), list(NUMERIC_KINDS)))
        return [(kind, _value(kind, text)) for kind, text in handle.fetchall()]

    def _last_aggregate_before(self, handle: Any, point_id: int, resolution: Resolution,
                               start: int) -> Decimal | None:
        handle.execute(
            "SELECT last FROM meterkit.aggregates WHERE point_id = %s AND resolution = %s "
            "AND start < %s ORDER BY start DESC LIMIT 1",
            (point_id, resolution, from_micros(start)))
        row = handle.fetchone()
        return None if row is None else Decimal(row[0])

    def _write_aggregates(self, handle: Any, point_id: int, resolution: Resolution,
                          aggregates: Sequence[Aggregate]) -> None:
        handle.executemany(
            "INSERT INTO meterkit.aggregates VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (point_id, resolution, start) DO UPDATE SET count = excluded.count, "
            "minimum = excluded.minimum, maximum = excluded.maximum, mean = excluded.mean, "
            "last = excluded.last, delta = excluded.delta, unit = excluded.unit",
            [(point_id, resolution, a.start, a.count, str(a.minimum), str(a.maximum),
              str(a.mean), str(a.last), None if a.delta is None else str(a.delta), a.unit)
             for a in aggregates])

    def _delete_before(self, handle: Any, point_id: int, table: str, cutoff: int) -> int:
        if table == "raw":
            handle.execute("DELETE FROM meterkit.samples WHERE point_id = %s AND time < %s",
                           (point_id, from_micros(cutoff)))
        else:
            handle.execute("DELETE FROM meterkit.aggregates WHERE point_id = %s "
                           "AND resolution = %s AND start < %s",
                           (point_id, table, from_micros(cutoff)))
        deleted: int = handle.rowcount
        return deleted

    def aggregates(self, point: str, resolution: Resolution, since: datetime | None = None,
                   until: datetime | None = None) -> list[Aggregate]:
        """One point's aggregates of ``resolution`` ("hour" or "day") starting in range."""
        if resolution not in RESOLUTIONS:
            raise QueryError(f"must be one of {', '.join(RESOLUTIONS)}", field="resolution")
        where, arguments = _range("start", since, until)
        point_id = self._points.get(point)
        if point_id is None:
            return []
        with self._store.read() as cursor:
            cursor.execute(
                "SELECT start, count, minimum, maximum, mean, last, delta, unit "
                "FROM meterkit.aggregates WHERE point_id = %s AND resolution = %s"
                f"{where} ORDER BY start", (point_id, resolution, *arguments))
            return [
                Aggregate(point=point, resolution=resolution, start=_utc(start), count=count,
                          minimum=Decimal(minimum), maximum=Decimal(maximum),
                          mean=Decimal(mean), last=Decimal(last),
                          delta=None if delta is None else Decimal(delta), unit=unit)
                for start, count, minimum, maximum, mean, last, delta, unit in cursor]

    # -- alarms ----------------------------------------------------------------------

    def append_alarm(self, notification: alarms.Notification, time: datetime) -> None:
        """Store a notification received at wall time ``time`` (the same notification at the
        same time again is stored once)."""
        check_notification(notification)
        to_micros(time)
        with self._store.write() as cursor:
            cursor.execute(
                "INSERT INTO meterkit.alarm_events (gateway_id, time, point, alarm_id, event, "
                "severity, notification) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (self._gateway_id, time, notification.point, notification.alarm_id,
                 notification.event, notification.perceived_severity.value,
                 notification.to_json()))

    def alarms(self, since: datetime | None = None, until: datetime | None = None, *,
               point: str | None = None) -> list[AlarmRecord]:
        """Stored notifications in the time range (of one point), in the order stored."""
        where, arguments = _range("time", since, until)
        if point is not None:
            where += " AND point = %s"
            arguments += (point,)
        with self._store.read() as cursor:
            cursor.execute("SELECT time, notification FROM meterkit.alarm_events "
                           f"WHERE gateway_id = %s{where} ORDER BY id",
                           (self._gateway_id, *arguments))
            rows = cursor.fetchall()
        return [_alarm_record(time, text) for time, text in rows]

    def active_alarms(self) -> list[AlarmRecord]:
        """The raise of every alarm whose latest notification is a raise, in stored order."""
        with self._store.read() as cursor:
            cursor.execute(
                "SELECT time, notification FROM meterkit.alarm_events AS a "
                "WHERE gateway_id = %s AND event = 'raised' AND id = (SELECT max(id) FROM "
                "meterkit.alarm_events WHERE gateway_id = a.gateway_id "
                "AND alarm_id = a.alarm_id) ORDER BY id", (self._gateway_id,))
            rows = cursor.fetchall()
        return [_alarm_record(time, text) for time, text in rows]

    # -- audit log -------------------------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> None:
        """Add an entry to the audit log."""
        check_audit_entry(entry)
        to_micros(entry.time)
        with self._store.write() as cursor:
            cursor.execute(
                "INSERT INTO meterkit.audit_events (gateway_id, time, kind, message, detail) "
                "VALUES (%s, %s, %s, %s, %s)",
                (self._gateway_id, entry.time, entry.kind, entry.message,
                 json.dumps(entry.detail, sort_keys=True, ensure_ascii=False)))

    def audit(self, since: datetime | None = None, until: datetime | None = None, *,
              kinds: Sequence[str] = (), limit: int | None = None,
              newest_first: bool = False) -> list[AuditEntry]:
        """Audit entries in the range (of ``kinds``; all when empty), in the order stored
        (or newest first), at most ``limit`` of them."""
        where, arguments = _range("time", since, until)
        check_audit_query(kinds, limit)
        if kinds:
            where += " AND kind = ANY(%s)"
            arguments += (list(kinds),)
        query = ("SELECT time, kind, message, detail FROM meterkit.audit_events "
                 f"WHERE gateway_id = %s{where} ORDER BY id"
                 + (" DESC" if newest_first else "")
                 + ("" if limit is None else f" LIMIT {limit}"))
        with self._store.read() as cursor:
            cursor.execute(query, (self._gateway_id, *arguments))
            rows = cursor.fetchall()
        return [AuditEntry(time=_utc(time), kind=kind, message=message,
                           detail=json.loads(detail)) for time, kind, message, detail in rows]


def _range(column: str, since: datetime | None, until: datetime | None
           ) -> tuple[str, tuple[object, ...]]:
    """SQL conditions (after a first one) for ``since <= column < until``."""
    query_micros(since, "since")
    query_micros(until, "until")
    where = ""
    arguments: tuple[object, ...] = ()
    if since is not None:
        where += f" AND {column} >= %s"
        arguments += (since,)
    if until is not None:
        where += f" AND {column} < %s"
        arguments += (until,)
    return where, arguments


def _alarm_record(time: datetime, text: str) -> AlarmRecord:
    return AlarmRecord(time=_utc(time), notification=alarms.notification_from_json(text))
