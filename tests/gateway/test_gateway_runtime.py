"""The runtime: steps stored in state file and history so that a crash loses or doubles nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from gateway import Runtime, SiteError, StateFileError, Step, load_site
from gateway._runtime import decode_step, encode_step
from gateway.history import SQLiteHistory
from profiles import PointReading

UTC = timezone.utc
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)

SITE = """
[site]
name = "s"
data_dir = "data"
[[analog]]
name = "tank"
field = "level"
signal = "4-20mA"
low = 0
high = 100
unit = "%"
interval = "1min"
[analog.source]
kind = "simulated"
values = [12]
[[s0]]
name = "grid"
replay = "edges.csv"
imp_per_unit = 1000
[[derived]]
name = "double"
expression = "level * 2"
inputs = { level = "s/tank/level" }
[[alarm]]
point = "s/tank/level"
kind = "upper"
limit = 80
hysteresis = 5
[[export]]
name = "q"
format = "csv"
minutes = 15
"""


@pytest.fixture
def site_path(tmp_path: Path) -> Path:
    (tmp_path / "edges.csv").write_text("time,level\n1,1\n1.1,0\n")
    path = tmp_path / "site.toml"
    path.write_text(SITE)
    return path


def level(value: str, minutes: float) -> PointReading:
    return PointReading(point="s/tank/level", time=T0 + timedelta(minutes=minutes),
                        value=Decimal(value), unit="%", quantity="level")


def rows(site_path: Path) -> list[tuple[str, str, object]]:
    with SQLiteHistory(site_path.parent / "data/history.sqlite") as history:
        out: list[tuple[str, str, object]] = []
        for point in history.points():
            out.extend((r.point, r.time.isoformat(), r.value) for r in history.readings(point))
        return sorted(out)


def alarm_events(site_path: Path) -> list[tuple[str, str]]:
    with SQLiteHistory(site_path.parent / "data/history.sqlite") as history:
        return [(r.alarm_id, r.event) for r in history.alarms()]


def test_a_step_goes_to_history_and_outputs(site_path: Path) -> None:
    site = load_site(site_path)
    runtime = Runtime(site, now=T0)
    step = runtime.pipeline.process([level("95", 1)], devices=["tank"],
                                    now=T0 + timedelta(minutes=1))
    runtime.commit(step)
    runtime.close(T0 + timedelta(minutes=2))
    assert rows(site_path) == [
        ("s/double", (T0 + timedelta(minutes=1)).isoformat(), Decimal("190")),
        ("s/tank/level", (T0 + timedelta(minutes=1)).isoformat(), Decimal("95"))]
    assert alarm_events(site_path) == [("s/tank/level.upper", "raised")]


def test_a_crash_between_state_and_history_is_repaired_on_start(site_path: Path) -> None:
    site = load_site(site_path)
    runtime = Runtime(site, now=T0)
    runtime.commit(runtime.pipeline.process([level("50", 1)], devices=["tank"], now=T0))
    # the next step reaches the state file, then the process dies before the history
    step = runtime.pipeline.process([level("95", 2)], devices=["tank"],
                                    now=T0 + timedelta(minutes=2))
    runtime._save([step])  # what commit() does first
    runtime.history.close()  # killed: no stop recorded, nothing else written

    again = Runtime(site, now=T0 + timedelta(minutes=3))
    assert again.run.previous_stop == "unclean"
    assert again.recovered == 2  # the level and the derived value
    # the restored engine knows the alarm is raised: 100 again does not raise twice
    again.commit(again.pipeline.process([level("100", 4)], devices=["tank"],
                                        now=T0 + timedelta(minutes=4)))
    again.close(T0 + timedelta(minutes=5))
    points = [row[:2] for row in rows(site_path)]
    assert len(points) == len(set(points)) == 6
    assert alarm_events(site_path) == [("s/tank/level.upper", "raised")]


def test_a_crash_after_the_history_write_doubles_nothing(site_path: Path) -> None:
    site = load_site(site_path)
    runtime = Runtime(site, now=T0)
    step = runtime.pipeline.process([level("95", 1)], devices=["tank"], now=T0)
    runtime.commit(step)  # state (with the step pending) and history both written
    runtime._save([step])  # as if the process died before the next save cleared it
    runtime.history.close()
    again = Runtime(site, now=T0 + timedelta(minutes=3))
    assert again.recovered == 0  # the history had the readings already
    again.close(T0 + timedelta(minutes=3))
    assert len(rows(site_path)) == 2
    assert alarm_events(site_path) == [("s/tank/level.upper", "raised")]


def test_steps_round_trip_through_json() -> None:
    step = Step(readings=(
        PointReading(point="a", time=T0, value=Decimal("1.50"), unit="kWh", quantity="e"),
        PointReading(point="b", time=T0, value=3, quality=("estimated",)),
        PointReading(point="c", time=T0, value=2.5), PointReading(point="d", time=T0, value=True),
        PointReading(point="e", time=T0, value=None, quality=("invalid",)),
        PointReading(point="f", time=T0, value="text")), time=T0)
    again = decode_step(json.loads(json.dumps(encode_step(step))))
    assert again == step
    assert type(again.readings[0].value) is Decimal and str(again.readings[0].value) == "1.50"


def test_an_unreadable_state_file_stops_the_start_with_a_clear_error(site_path: Path) -> None:
    site = load_site(site_path)
    site.data_dir.mkdir(parents=True)
    (site.data_dir / "state.json").write_text("{broken")
    with pytest.raises(StateFileError, match=r"state\.json"):
        Runtime(site, now=T0)


def test_s0_totals_continue_after_a_restart(site_path: Path) -> None:
    site = load_site(site_path)
    runtime = Runtime(site, now=T0)
    counter = runtime.pipeline.s0
    for second in range(10):
        counter.feed_pulse("grid", Decimal(second))
    runtime.save()
    runtime.close(T0)
    again = Runtime(site, now=T0 + timedelta(minutes=1))
    assert again.pipeline.s0["grid"].pulses == 10
    assert again.pipeline.s0["grid"].total == Decimal("0.010")
    again.close(T0 + timedelta(minutes=1))


def test_a_changed_s0_constant_keeps_the_counted_pulses(site_path: Path) -> None:
    runtime = Runtime(load_site(site_path), now=T0)
    runtime.pipeline.s0.feed_pulse("grid", Decimal(1))
    runtime.save()
    runtime.close(T0)
    site_path.write_text(SITE.replace("imp_per_unit = 1000", "imp_per_unit = 100"))
    again = Runtime(load_site(site_path), now=T0)
    assert again.pipeline.s0["grid"].pulses == 1
    assert again.pipeline.s0["grid"].total == Decimal("0.01")
    again.close(T0)
    with pytest.raises(SiteError):
        load_site(site_path.parent / "missing.toml")
