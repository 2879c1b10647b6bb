"""gateway.history: insert rate against raw sqlite3.executemany, query times, file size.

1. Insert: 1000 points read every 15 minutes, one batch (1000 readings) per cycle, through
   ``SQLiteHistory.append``; against ``sqlite3.executemany`` of the same rows, already
   encoded, into the same schema with the same settings, one transaction per batch, in
   the same run. Also against a naive table (point, ISO time, value text, unit text).
   Both at ``synchronous=NORMAL``, so that the disk's fsync time does not hide the cost
   of the code; the default FULL adds one fsync per batch to both.
2. One point's month at 15-minute resolution (2976 readings) from a file of 100 points.
3. One day of all 1000 points (96 000 readings), and the latest reading of each.
4. The file's size per million readings (counters with 3 decimals, after a checkpoint).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from pathlib import Path

from gateway.history import PointReading, SQLiteHistory
from gateway.history._codec import encode_quality, encode_value, to_micros
from gateway.history._sqlite import _SCHEMA

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
STEP = timedelta(minutes=15)
POINTS = 1000
CYCLES = int(os.environ.get("METERKIT_BENCH_CYCLES", "300"))
REPEAT = 3


def _cycle(number: int, points: int = POINTS) -> list[PointReading]:
    time_ = T0 + number * STEP
    return [PointReading(f"site/flat{i}/heat/total_kwh", time_,
                         Decimal(10_000 + 7 * i + number * (i % 5 + 1)).scaleb(-3), "kWh",
                         "energy") for i in range(points)]


def _median(run: Callable[[], object], repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _raw_rows(batch: list[PointReading], point_ids: dict[str, int]) -> list[tuple[object, ...]]:
    """The rows SQLiteHistory stores for ``batch`` (unit id 1: one unit throughout)."""
    rows: list[tuple[object, ...]] = []
    for reading in batch:
        kind, stored = encode_value(reading.value)
        rows.append((point_ids[reading.point], to_micros(reading.time), 1, kind, stored,
                     encode_quality(reading.quality)))
    return rows


NAIVE_SCHEMA = "CREATE TABLE readings (point TEXT, time TEXT, value TEXT, unit TEXT);"
NAIVE_INSERT = "INSERT INTO readings VALUES (?, ?, ?, ?)"
NAIVE_INDEX = "CREATE UNIQUE INDEX readings_point_time ON readings (point, time);"
"""What one point's readings in a time range need from the naive table."""


def _executemany_seconds(path: Path, schema: str, insert: str,
                         batches: Sequence[Sequence[tuple[object, ...]]]) -> float:
    """Seconds of plain sqlite3: one executemany and one transaction per batch."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(schema)
    start = time.perf_counter()
    for rows in batches:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(insert, rows)
        db.execute("COMMIT")
    seconds = time.perf_counter() - start
    db.close()
    return seconds


def _ours_insert(path: Path, batches: list[list[PointReading]]) -> float:
    start = time.perf_counter()
    with SQLiteHistory(path, synchronous="NORMAL") as history:
        for batch in batches:
            history.append(batch)
    return time.perf_counter() - start


def insert_rates(folder: Path) -> Path:
    """Print readings/s of each way to insert; return a history file written.

    Each way runs ``REPEAT`` times into a fresh file, the ways taken in turn so that the
    load of a shared machine weighs on all alike; the best run counts.
    """
    batches = [_cycle(n) for n in range(CYCLES)]
    total = CYCLES * POINTS
    point_ids = {reading.point: i + 1 for i, reading in enumerate(batches[0])}
    encoded = [_raw_rows(batch, point_ids) for batch in batches]  # not timed
    naive_rows = [[(r.point, r.time.isoformat(), str(r.value), r.unit) for r in batch]
                  for batch in batches]
    best: dict[str, float] = {}
    for repeat in range(REPEAT):
        runs: dict[str, Callable[[], float]] = {
            "ours": partial(_ours_insert, folder / f"ours{repeat}.sqlite", batches),
            "raw": partial(_executemany_seconds, folder / f"raw{repeat}.sqlite", _SCHEMA,
                           "INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?)", encoded),
            "naive": partial(_executemany_seconds, folder / f"naive{repeat}.sqlite",
                             NAIVE_SCHEMA, NAIVE_INSERT, naive_rows),
            "indexed": partial(_executemany_seconds, folder / f"indexed{repeat}.sqlite",
                               NAIVE_SCHEMA + NAIVE_INDEX, NAIVE_INSERT, naive_rows),
        }
        for name, run in runs.items():
            best[name] = min(best.get(name, float("inf")), run())
    ours, raw, naive, indexed = best["ours"], best["raw"], best["naive"], best["indexed"]

    print(f"insert {total:,} readings in batches of {POINTS} (synchronous=NORMAL, WAL), "
          f"best of {REPEAT}")
    print(f"  SQLiteHistory.append (from PointReading)            {total / ours:9,.0f}"
          f" readings/s  {raw / ours:.2f}x of raw")
    print(f"  raw executemany, same rows pre-encoded, same schema {total / raw:9,.0f}"
          " readings/s  1.00x")
    print(f"  raw executemany, naive table (point, iso time, value, unit) "
          f"{total / naive:,.0f} readings/s  {raw / naive:.2f}x of raw")
    print(f"  raw executemany, naive table + index on (point, time) "
          f"{total / indexed:,.0f} readings/s  {raw / indexed:.2f}x of raw")
    for name, path in (("SQLiteHistory", folder / "ours0.sqlite"),
                       ("naive table", folder / "naive0.sqlite"),
                       ("naive table + index", folder / "indexed0.sqlite")):
        with sqlite3.connect(path) as check:
            check.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = path.stat().st_size
        print(f"  file size, {name}: {size / 1e6:.1f} MB = "
              f"{size / total:.1f} MB per million readings")
    return folder / "ours0.sqlite"


def queries(folder: Path, day_file: Path) -> None:
    """Print the query times."""
    month_path = folder / "month.sqlite"
    with SQLiteHistory(month_path, synchronous="NORMAL") as history:
        for number in range(31 * 96):
            history.append(_cycle(number, points=100))
    with SQLiteHistory(month_path, create=False) as history:
        point = "site/flat42/heat/total_kwh"
        month = history.readings(point, T0, T0 + timedelta(days=31))
        assert len(month) == 31 * 96
        seconds = _median(lambda: history.readings(point, T0, T0 + timedelta(days=31)))
    print(f"one point's month at 15 min ({len(month)} readings, file of 100 points): "
          f"{seconds * 1000:.1f} ms (target < 50 ms)")

    with SQLiteHistory(day_file, create=False) as history:
        points = history.points()
        day = (T0 + timedelta(days=1), T0 + timedelta(days=2))

        def one_day() -> int:
            return sum(len(history.readings(p, *day)) for p in points)

        count = one_day()
        seconds = _median(one_day, repeat=5)
        latest_seconds = _median(history.latest, repeat=5)
    print(f"one day of {len(points)} points ({count:,} readings): {seconds * 1000:.0f} ms")
    print(f"latest reading of each of {len(points)} points: {latest_seconds * 1000:.1f} ms")


def main() -> None:
    """Print every figure."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        day_file = insert_rates(folder)
        queries(folder, day_file)


if __name__ == "__main__":
    main()
