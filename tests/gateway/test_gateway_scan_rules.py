"""Meters found by a scan get the same device-failure rule as configured ones: a TCP
M-Bus segment simulator (``mbus.sim.SimulatorServer``) with meters that nobody named in
the site file, one of which goes quiet, then a restart with it back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import alarms
import mbus
import mbus.sim
from gateway import Clock, Pipeline, SiteError, Step, load_site, serve_site
from gateway.__main__ import main
from gateway.history import SQLiteHistory

SITE = """
[site]
name = "house"
data_dir = "data"

[[mbus]]
name = "cellar"
url = "tcp://127.0.0.1:{port}"
scan = "secondary"
interval = "1min"
missed_cycles = 2
timeout = 0.1
"""
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)
IDS = ("11110001", "11110002", "11110003")


def meters() -> list[mbus.Slave]:
    return [mbus.Slave(mbus.SecondaryAddress.parse(f"{ident}24232504"),
                       [[mbus.build_record(0x06, 1000 * n, coding="int32")]], primary=n)
            for n, ident in enumerate(IDS, 1)]


def notes(steps: list[Step]) -> list[alarms.Notification]:
    return [note for step in steps for note in step.notifications]


def run(path: Path, segment: mbus.sim.Segment, start: datetime, speed: float,
        script: Callable[[list[Step], mbus.sim.Segment], bool], *,
        site_text: str = SITE) -> list[Step]:
    """Run the site until ``script`` (called with every step) says it is done."""
    site = load_site(path)
    steps: list[Step] = []
    stop = asyncio.Event()

    def on_step(step: Step) -> None:
        steps.append(step)
        if script(steps, segment):
            stop.set()

    async def scenario() -> None:
        server = mbus.sim.SimulatorServer(segment)
        port = await server.start("127.0.0.1", 0)
        try:
            path.write_text(site_text.format(port=port))
            await asyncio.wait_for(
                serve_site(load_site(path), stop=stop, clock=Clock(speed=speed, start=start),
                           on_step=on_step, durable=False), timeout=120)
        finally:
            await server.close()

    del site
    asyncio.run(scenario())
    return steps


def test_meters_found_by_a_scan_get_device_failure_rules(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(port=9))
    segment = mbus.sim.Segment(meters())
    gone: list[mbus.Slave] = []

    def first(steps: list[Step], segment: mbus.sim.Segment) -> bool:
        points = {r.point for r in steps[-1].readings}
        if not gone and f"house/cellar/{IDS[2]}/energy_kwh" in points:
            gone.append(segment.slaves.pop())  # the third meter goes quiet
        return any(n.alarm_id.endswith(".stale") for n in notes(steps))

    steps = run(path, segment, T0, 30, first)
    raised = [n for n in notes(steps) if isinstance(n, alarms.AlarmRaised)]
    assert [n.alarm_id for n in raised] == [f"house/cellar/{IDS[2]}.stale"]
    assert raised[0].perceived_severity is alarms.Severity.MAJOR
    assert raised[0].specific_problem == "device failure"
    # the readings of every found meter under its stable name
    points = {r.point for step in steps for r in step.readings}
    assert {f"house/cellar/{ident}/energy_kwh" for ident in IDS} <= points

    # a restart right after (on a slower clock, so that the other two meters' rules do
    # not run out during the scan): the rule and its raised alarm are there before any
    # scan; the meter is back, answers, and its alarm clears
    segment.slaves.append(gone[0])
    restart = steps[-1].time + timedelta(seconds=1)

    def second(steps: list[Step], segment: mbus.sim.Segment) -> bool:
        return any(isinstance(n, alarms.AlarmCleared) for n in notes(steps))

    steps = run(path, segment, restart, 5, second)
    cleared = [n for n in notes(steps) if isinstance(n, alarms.AlarmCleared)]
    assert [n.alarm_id for n in cleared] == [f"house/cellar/{IDS[2]}.stale"]
    with SQLiteHistory(tmp_path / "data/history.sqlite") as history:
        stored = [(record.alarm_id, record.event) for record in history.alarms()]
    assert stored == [(f"house/cellar/{IDS[2]}.stale", "raised"),
                      (f"house/cellar/{IDS[2]}.stale", "cleared")]


def test_check_says_found_meters_get_rules(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(port=9))
    assert main(["check", str(path)]) == 0
    assert ("  meters found by the scan -> house/cellar/<id>/*, failed after 2 min"
            in capsys.readouterr().out)


def test_a_found_meter_whose_rule_id_is_taken_keeps_the_configured_rule(
        tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(port=9) + """
[[analog]]
name = "tank"
signal = "0-10V"
low = 0
high = 10
[analog.source]
kind = "simulated"
values = [5]

[[alarm]]
point = "house/tank/value"
kind = "upper"
limit = 8
alarm_id = "house/cellar/11110001.stale"
""")
    pipeline = Pipeline(load_site(path), None, now=T0)
    pipeline.add_devices({"cellar/11110001": 120.0, "cellar/11110002": 120.0})
    rules = {rule.alarm_id: rule for rule in pipeline.alarms.rules}
    assert rules["house/cellar/11110001.stale"].point == "house/tank/value"
    assert rules["house/cellar/11110002.stale"].point == "house/cellar/11110002"
    assert pipeline.discovered == {"cellar/11110002": 120.0}


def test_a_meter_added_while_running_is_found_by_the_rescan(tmp_path: Path) -> None:
    """``rescan``: the segment is scanned again in a readout's slot; the meter added after
    the start is read under its stable name, gets its device-failure rule (its alarm is
    raised once it goes quiet) and is saved in the state file."""
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(port=9))
    segment = mbus.sim.Segment(meters()[:2])
    late = mbus.Slave(mbus.SecondaryAddress.parse("1111000424232504"),
                      [[mbus.build_record(0x06, 4000, coding="int32")]], primary=4)
    new_point = "house/cellar/11110004/energy_kwh"
    read_new: list[Step] = []

    def script(steps: list[Step], segment: mbus.sim.Segment) -> bool:
        points = {r.point for r in steps[-1].readings}
        if late not in segment.slaves and not read_new and (
                f"house/cellar/{IDS[1]}/energy_kwh" in points):
            segment.slaves.append(late)  # connected after the start's scan
        if new_point in points and not read_new:
            read_new.append(steps[-1])
            segment.slaves.remove(late)  # and gone again: its rule raises the alarm
        return any(n.alarm_id.endswith(".stale") for n in notes(steps))

    steps = run(path, segment, T0, 30, script, site_text=SITE + 'rescan = "2min"\n')
    assert read_new, "the added meter was never read"
    raised = [n for n in notes(steps) if isinstance(n, alarms.AlarmRaised)]
    assert [n.alarm_id for n in raised] == ["house/cellar/11110004.stale"]
    state = json.loads((tmp_path / "data/state.json").read_text())
    assert state["discovered"]["cellar/11110004"] == 120.0


def test_check_prints_the_rescan_and_refuses_it_without_a_scan(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(port=9) + 'rescan = "1h"\n')
    assert main(["check", str(path)]) == 0
    assert ("  meters found by the scan -> house/cellar/<id>/*, failed after 2 min, scanned "
            "again every 1 h" in capsys.readouterr().out)
    path.write_text(SITE.format(port=9).replace('scan = "secondary"', 'scan = "none"')
                    + 'rescan = "1h"\n[[mbus.meter]]\nname = "m"\naddress = 1\n')
    with pytest.raises(SiteError, match="applies to a segment with scan") as caught:
        load_site(path)
    assert (caught.value.file, caught.value.table, caught.value.key) == (
        str(path), "mbus[0]", "rescan")
