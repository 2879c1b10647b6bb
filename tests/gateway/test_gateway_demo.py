"""The demo site runs through the same code as ``meterkit run``; its outputs are checked, and a
demo killed with SIGKILL again and again loses and doubles nothing."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

import exporters
from gateway._demo import run_demo

ROOT = Path(__file__).resolve().parents[2]
KILL_ROUNDS = int(os.environ.get("METERKIT_KILL_ROUNDS", "4"))


def query(folder: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(folder / "history.sqlite")) as db:
        return db.execute(sql).fetchall()


def alternate(folder: Path) -> dict[str, list[str]]:
    """Events per alarm id, in stored order."""
    events: dict[str, list[str]] = defaultdict(list)
    for alarm_id, event in query(folder, "SELECT alarm_id, event FROM alarms ORDER BY id"):
        events[str(alarm_id)].append(str(event))
    return events


def test_the_demo_site_produces_history_exports_alarms_and_audit(tmp_path: Path) -> None:
    # 10 s at 300x: 50 simulated minutes (the analog level's cycle is 28 minutes)
    site, report, sent = asyncio.run(run_demo(tmp_path, seconds=10, speed=300))
    assert (tmp_path / "site.toml").is_file() and (tmp_path / "state.json").is_file()
    assert report.previous_stop == "none" and report.stored > 0 and sent > 0

    points = {str(p) for (p,) in query(tmp_path, "SELECT DISTINCT point FROM readings")}
    for expected in ("demo/flat1/heat/energy_kwh", "demo/boiler/gas/volume_m3",  # wired
                     "demo/flat1/water/total_m3", "demo/flat3/heat_cost/hca_units",  # radio
                     "demo/grid/total", "demo/grid/power", "demo/tank/level",  # S0, analog
                     "demo/boiler/efficiency", "demo/grid/peaks"):  # derived
        assert expected in points
    assert not any(p.startswith("demo/wrong") for p in points)
    # the readings view has the columns the issue names
    columns = [row[1] for row in query(tmp_path, "PRAGMA table_info(readings)")]
    assert {"point", "time", "value", "unit"} <= set(columns)

    events = alternate(tmp_path)
    assert events["TANK-LEVEL-HIGH"][:2] == ["raised", "cleared"]
    assert events["demo/tank.stale"][:2] == ["raised", "cleared"]  # the open loop, and back

    audit = query(tmp_path, "SELECT kind, message FROM audit ORDER BY id")
    kinds = [kind for kind, _ in audit]
    assert kinds[0] == "start" and kinds[-1] == "stop"
    messages = " ".join(str(message) for _, message in audit)
    assert "flat4/heat: no answer" in messages  # the configured meter that is not there
    assert "55555555" in messages and "refused" in messages  # the radio meter with a wrong key
    assert (tmp_path / "audit.log").exists() is False  # written by the command line only

    exports_dir = tmp_path / "exports"
    csv_files = sorted(exports_dir.glob("readings_*.csv"))
    xml_files = sorted(exports_dir.glob("report_*.xml"))
    assert len(csv_files) >= 5 and len(xml_files) >= 2
    rows = 0
    for path in csv_files:
        with path.open(encoding="utf-8", newline="") as handle:
            rows += len(list(exporters.read_csv(handle)))
    assert rows > 0
    for path in xml_files:
        exporters.validate_xml(path)
    with xml_files[-1].open("rb") as handle:
        items = list(exporters.read_xml(handle))
    assert any(isinstance(item, exporters.Reading) for item in items)
    del site


def test_the_demo_command_prints_what_it_did_and_where(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--dir", str(tmp_path), "--for", "4",
         "--speed", "300"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"history: {tmp_path}/history.sqlite" in out
    assert "exports: " in out and f"in {tmp_path}/exports" in out
    assert f"audit log: {tmp_path}/audit.log" in out
    assert "XML files valid against the XSD" in out
    assert (tmp_path / "audit.log").read_text().startswith(
        query(tmp_path, "SELECT time FROM audit ORDER BY id LIMIT 1")[0][0])  # type: ignore[arg-type]


def expected_s0_total(folder: Path, when: datetime) -> Decimal:
    """Pulses of the replay completed by ``when`` (a pulse counts once its fall has been
    stable for the 10 ms debounce), at 1000 imp/kWh."""
    state = json.loads((folder / "state.json").read_text())
    origin = Decimal(state["inputs"]["s0:grid"]["origin"])
    with (folder / "grid-edges.csv").open() as handle:
        falls = [Decimal(row["time"]) for row in csv.DictReader(handle)
                 if row["level"] == "0" and not row["time"].endswith("1")]  # not the bounce
    # the replay repeats every P seconds: its last edge's time, rounded down, plus one
    with (folder / "grid-edges.csv").open() as handle:
        period = Decimal(int(max(Decimal(row["time"]) for row in csv.DictReader(handle))) + 1)
    elapsed = Decimal(repr(when.timestamp())) - origin
    loops, rest = divmod(elapsed, period)
    count = int(loops) * len(falls) + sum(fall + Decimal("0.010") <= rest for fall in falls)
    return Decimal(count) / 1000


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_demo_killed_again_and_again_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(17)
    command = [sys.executable, "-m", "gateway", "demo", "--dir", str(tmp_path), "--for", "30",
               "--speed", "300"]
    for _ in range(KILL_ROUNDS):
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 5.0))
        child.send_signal(signal.SIGKILL)
        child.wait()
    final = subprocess.run([*command[:-4], "--for", "4", "--speed", "300"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr

    starts = query(tmp_path, "SELECT detail FROM audit WHERE kind = 'start' ORDER BY id")
    previous = [json.loads(str(detail))["previous_stop"] for (detail,) in starts]
    assert previous[0] == "none" and "unclean" in previous
    assert "unclean stop" in final.stdout or previous[-1] == "clean"

    # S0: every stored total is exactly the pulses of the replay up to its time
    totals = query(tmp_path, "SELECT time, value FROM readings WHERE point = 'demo/grid/total' "
                             "ORDER BY time")
    assert len(totals) >= 5  # enough readouts to mean something, even on a busy machine
    for stamp, value in totals:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        assert Decimal(str(value)) == expected_s0_total(tmp_path, when), stamp

    # alarms continue from their saved state: never raised twice without a clear between
    for alarm_id, events in alternate(tmp_path).items():
        assert all(a != b for a, b in itertools.pairwise(events)), (alarm_id, events)
        assert events[0] == "raised", alarm_id

    # exports resume: the 5-minute files form an unbroken series
    names = sorted(path.name for path in (tmp_path / "exports").glob("readings_*.csv"))
    stamps = [datetime.strptime(name[9:24], "%Y-%m-%d_%H%M") for name in names]
    steps = {int((b - a).total_seconds()) for a, b in itertools.pairwise(stamps)}
    assert steps == {300}, names
