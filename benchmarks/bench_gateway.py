"""Gateway load: 1000 simulated meters read every 15 min for one simulated day.

The scheduler is told the time, so a day runs as fast as the gateway can go: four M-Bus
segments of 250 meters each are due at every quarter hour; each meter's readout is its
telegram decoded by ``mbus`` (the bytes come from a simulated meter, without the wire
timing that ``benchmarks/bench_mbus_scan.py`` measures), then the pipeline (points,
derived values, alarms with one device-failure rule per meter), the state file and the
SQLite history, and the exports (a CSV file of every reading per quarter hour, one XML
file for the day with the derived value and one meter).

Prints the wall time and where it went (Linux: the thread's scheduler statistics, so on
CPU, waiting for a CPU -- other processes' load on a shared machine -- and blocked, with
the fsync calls and their seconds), the load average, and checks completeness: every
reading of every meter in the history, every export file with every reading of its
period. The target is under a minute for the day. ``python -m benchmarks gateway``;
``METERKIT_BENCH_DURABLE=0`` runs without fsync (state file, export files, SQLite
``synchronous=NORMAL``).

Measured (see docs/gateway.rst): the wall time beyond the CPU time is almost all waiting
for a CPU under the machine's load, plus the fsyncs when the disk is busy; the benchmark
has no sleeps, threads or hand-offs (it drives the runtime directly, as
:class:`gateway.SiteRunner` does one step at a time).
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import exporters
import mbus
from gateway import ExportDue, ReadoutDue, Runtime, load_site
from gateway._points import MeterHeader, meter_readings

METERS = 1000
SEGMENTS = 4
FIELDS = 4  # energy, volume, flow temperature and status per meter
DAY = datetime(2026, 12, 3, tzinfo=timezone.utc)


def _site(folder: Path) -> Path:
    lines = ['[site]', 'name = "load"', 'data_dir = "data"', ""]
    per = METERS // SEGMENTS
    for segment in range(SEGMENTS):
        lines += ["[[mbus]]", f'name = "bus{segment}"', f'url = "tcp://127.0.0.1:{1 + segment}"',
                  'interval = "15min"']
        for index in range(per):
            number = segment * per + index
            lines += ["[[mbus.meter]]", f'name = "m{number:04d}/heat"',
                      f"address = {index + 1}"]
        lines.append("")
    lines += ["[[derived]]", 'name = "m0000_m0001"', 'expression = "a + b"',
              'inputs = { a = "load/m0000/heat/energy_kwh", b = "load/m0001/heat/energy_kwh" }',
              "",
              "[[alarm]]", 'point = "load/m0000/heat/flow_temperature_c"', 'kind = "upper"',
              "limit = 95", "",
              "[[export]]", 'name = "quarter"', 'format = "csv"', "minutes = 15", "",
              "[[export]]", 'name = "day"', 'format = "xml"', "minutes = 1440",
              'points = ["load/m0000_m0001", "load/m0000/*"]', ""]
    path = folder / "site.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _telegrams() -> list[bytes]:
    """The long frame each meter answers with (the simulated meters' REQ_UD2 replies)."""
    out = []
    for number in range(METERS):
        records = [mbus.build_record(0x06, 1000 * (5000 + number), coding="int32"),
                   mbus.build_record(0x13, Decimal(number) / 1000, coding="bcd8"),
                   mbus.build_record(0x5B, 40 + number % 50, coding="int8")]
        header = mbus.Header(id=f"{number:08d}", manufacturer="KAM", version=1, medium=4,
                             access_number=number % 256, status=0, signature=0)
        out.append(mbus.build_telegram(address=number % 250 + 1, header=header,
                                       records=records).encode())
    return out


def _schedstat() -> tuple[float, float] | None:
    """(seconds on a CPU, seconds waiting for one) of this thread, where Linux says."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as handle:
            on_cpu, waiting, _slices = (int(part) for part in handle.read().split())
    except (OSError, ValueError):
        return None
    return on_cpu / 1e9, waiting / 1e9


class _FsyncCounter:
    """Counts ``os.fsync`` calls and their seconds while installed (SQLite's own syncs,
    made in C, are not seen: they show as blocked time)."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0
        self._original = os.fsync

    def __enter__(self) -> _FsyncCounter:
        def fsync(fd: Any) -> None:
            started = time.perf_counter()
            try:
                self._original(fd)
            finally:
                self.calls += 1
                self.seconds += time.perf_counter() - started

        os.fsync = fsync
        return self

    def __exit__(self, *exc: object) -> None:
        os.fsync = self._original


def run(folder: Path, *, durable: bool) -> dict[str, float]:
    """One simulated day; returns wall time and counts."""
    site = load_site(_site(folder))
    frames = _telegrams()
    runtime = Runtime(site, now=DAY, durable=durable)
    scheduler = runtime.scheduler
    pipeline = runtime.pipeline
    per = METERS // SEGMENTS
    end = DAY + timedelta(days=1, seconds=1)
    now = DAY
    fsyncs = _FsyncCounter().__enter__()
    sched = _schedstat()
    started = time.perf_counter()
    cpu = time.process_time()
    while now < end:
        readings = []
        devices = []
        finished = []
        for due in scheduler.poll(now):
            if isinstance(due, ReadoutDue):
                segment = int(due.source.removeprefix("mbus:bus"))
                for index in range(per):
                    number = segment * per + index
                    telegram = mbus.decode(frames[number])
                    name = f"m{number:04d}/heat"
                    head = telegram.header or mbus.Header()
                    meter = MeterHeader(id=head.id, manufacturer=head.manufacturer,
                                        version=head.version, device_type=head.medium,
                                        ci=telegram.ci, status=head.status)
                    readings.extend(meter_readings(f"load/{name}", meter, telegram.records, now,
                                                   catalogue=site.catalogue))
                    devices.append(name)
                finished.append(due.source)
            elif isinstance(due, ExportDue):
                runtime.export(due, now)
        if finished:  # readouts that end together are one step, as SiteRunner takes them
            runtime.commit(pipeline.process(readings, devices=devices, now=now))
            for source in finished:
                scheduler.finished(source)
        runtime.commit(pipeline.advance(now))
        deadline = scheduler.next_deadline()
        assert deadline is not None
        now = max(deadline, now + timedelta(microseconds=1))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    after = _schedstat()
    fsyncs.__exit__()
    runtime.close(now)
    counts = {"wall": wall, "cpu": cpu, "stored": runtime.stored,
              "exports": len(runtime.exported), "fsyncs": fsyncs.calls,
              "fsync_seconds": fsyncs.seconds}
    if sched is not None and after is not None:
        counts["on_cpu"] = after[0] - sched[0]
        counts["waiting"] = after[1] - sched[1]
    return counts


def _check(folder: Path, counts: dict[str, float]) -> list[str]:
    """Completeness of history and exports; returns the problems found."""
    problems = []
    slots = 96 + 1  # the read at start (00:00) and every quarter hour up to 24:00
    expected = METERS * FIELDS * slots + slots  # + the derived sum
    with contextlib.closing(sqlite3.connect(folder / "data/history.sqlite")) as db:
        stored = db.execute("SELECT count(*) FROM readings").fetchone()[0]
        stale = db.execute("SELECT count(*) FROM alarms WHERE alarm_id LIKE '%.stale'"
                           ).fetchone()[0]
    if stored != expected:
        problems.append(f"history holds {stored} readings, expected {expected}")
    if stale:
        problems.append(f"{stale} device-failure notifications (no meter failed)")
    csv_files = sorted((folder / "data/exports").glob("quarter_*.csv"))
    if len(csv_files) != 96:
        problems.append(f"{len(csv_files)} quarter-hour files, expected 96")
    for path in csv_files:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = len(list(exporters.read_csv(handle)))
        if rows != METERS * FIELDS + 1:
            problems.append(f"{path.name}: {rows} rows, expected {METERS * FIELDS + 1}")
            break
    xml_files = list((folder / "data/exports").glob("day_*.xml"))
    if len(xml_files) != 1:
        problems.append(f"{len(xml_files)} daily XML files, expected 1")
    else:
        with xml_files[0].open("rb") as handle:
            items = sum(1 for _ in exporters.read_xml(handle))
        if items != (FIELDS + 1) * 96:  # the derived sum and meter m0000's fields
            problems.append(f"daily XML holds {items} items, expected {(FIELDS + 1) * 96}")
    del counts
    return problems


def main() -> None:
    """Print the wall time of one simulated day and the completeness check."""
    durable = os.environ.get("METERKIT_BENCH_DURABLE", "1") != "0"
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with contextlib.redirect_stderr(io.StringIO()):
            counts = run(folder, durable=durable)
        problems = _check(folder, counts)
        size = (folder / "data/history.sqlite").stat().st_size
    print(f"gateway: {METERS} meters x 96 quarter hours (+ the start), one simulated day, "
          f"durable={durable}: {counts['wall']:.1f} s wall ({counts['cpu']:.1f} s CPU), "
          f"{counts['stored']:.0f} readings "
          f"stored ({counts['stored'] / counts['wall']:.0f}/s), {counts['exports']:.0f} "
          f"export files, history {size / 1e6:.1f} MB; target < 60 s")
    if "on_cpu" in counts:
        blocked = counts["wall"] - counts["on_cpu"] - counts["waiting"]
        print(f"where the wall time went: {counts['on_cpu']:.1f} s on a CPU, "
              f"{counts['waiting']:.1f} s waiting for a CPU, {blocked:.1f} s blocked "
              f"({counts['fsyncs']:.0f} fsyncs, {counts['fsync_seconds']:.1f} s); load "
              f"average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
    print("completeness: " + ("complete (history and exports)" if not problems
                              else "; ".join(problems)))


if __name__ == "__main__":
    main()
