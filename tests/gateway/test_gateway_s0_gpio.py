"""S0 on GPIO lines under the gateway's runner.

This machine has no /dev/gpiochip and no gpio-sim module, so the edges come through the
s0 package's own seam: an object shaped like a gpiod v2 ``LineRequest`` (the only fake),
read by the real :class:`s0.GpioPulseReader` into the pipeline's real S0 counter, through
the real runner, state file and history. Real GPIO hardware was not tested here.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import pytest

import s0
from gateway import Clock, GatewayError, Runtime, SiteError, SiteRunner, Step, load_site
from gateway.__main__ import main
from gateway.history import SQLiteHistory

SITE = """
[site]
name = "plant"
data_dir = "data"

[[s0]]
name = "heat_pump"
gpio = "/dev/gpiochip0:17"
imp_per_unit = 1000
unit = "kWh"
offset = "100"
interval = "{interval}"
"""
MS = 1_000_000
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)


class Edge(enum.Enum):
    RISING_EDGE = 1
    FALLING_EDGE = 2


class Value(enum.Enum):
    INACTIVE = 0
    ACTIVE = 1


@dataclass(frozen=True)
class EdgeEvent:
    event_type: Edge
    timestamp_ns: int
    line_offset: int
    line_seqno: int


class FakeLines:
    """Edges of one line, timestamped on its own monotonic clock (``clock``).

    The meter's output is modelled at the pin: an open collector pulls the line low during
    a pulse (``pulse_high=False``), another output drives it high. The kernel reports the
    edges of the logical level, which ``active_low`` (the requested setting) inverts.
    """

    def __init__(self, line: int, start_ns: int, *, pulse_high: bool = False) -> None:
        self.line = line
        self.now_ns = start_ns
        self.pulse_high = pulse_high
        self.active_low = True
        self.queue: list[EdgeEvent] = []
        self.seqno = 0
        self.started = False
        self.released = False

    def clock(self) -> int:
        return self.now_ns

    def _logical(self, in_pulse: bool) -> int:
        pin_high = in_pulse == self.pulse_high
        return int(pin_high != self.active_low)

    def pulses(self, count: int, *, skip_seqno: int = 0) -> None:
        """``count`` pulses of 50 ms every 100 ms, the first 20 ms after the clock, then the
        clock 300 ms past them; ``skip_seqno`` edges dropped by the kernel after the first
        pulse."""
        for index in range(count):
            if index == 1:
                self.seqno += skip_seqno
            for in_pulse, at in ((True, 20 * MS), (False, 70 * MS)):
                self.seqno += 1
                kind = Edge.RISING_EDGE if self._logical(in_pulse) else Edge.FALLING_EDGE
                self.queue.append(EdgeEvent(kind, self.now_ns + at, self.line, self.seqno))
            self.now_ns += 100 * MS
        self.now_ns += 300 * MS

    def wait_edge_events(self, timeout: timedelta | float | None = None) -> bool:
        return bool(self.queue)

    def read_edge_events(self, max_events: int | None = None) -> Iterable[EdgeEvent]:
        taken, self.queue = self.queue[:max_events], self.queue[max_events:]
        return taken

    def get_value(self, line: int) -> Value:
        assert line == self.line
        self.started = True
        return Value.ACTIVE if self._logical(False) else Value.INACTIVE

    def release(self) -> None:
        self.released = True


Opened = tuple[str, dict[int, str], dict[str, bool]]


class Opener(Protocol):
    def __call__(self, chip: str, lines: Mapping[int, str], counter: s0.S0Counter, *,
                 active_low: bool, pull_up: bool) -> s0.GpioPulseReader: ...


def opener(fake: FakeLines, opened: list[Opened]) -> Opener:
    def open_lines(chip: str, lines: Mapping[int, str], counter: s0.S0Counter, *,
                   active_low: bool, pull_up: bool) -> s0.GpioPulseReader:
        opened.append((chip, dict(lines), {"active_low": active_low, "pull_up": pull_up}))
        fake.active_low = active_low
        return s0.GpioPulseReader(fake, lines, counter, clock_ns=fake.clock)
    return open_lines


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


def totals(steps: list[Step]) -> list[object]:
    return [r.value for step in steps for r in step.readings
            if r.point == "plant/heat_pump/total"]


def run(site_path: Path, fake: FakeLines, pulses: int, expect: Decimal, *, start: datetime,
        skip_seqno: int = 0, at_stop: int = 0) -> list[Opened]:
    """Run until the total ``expect`` is read; then ``at_stop`` pulses just before the stop
    (the runner has not polled them: its last poll on the way out must)."""
    site = load_site(site_path)
    opened: list[Opened] = []

    async def scenario() -> None:
        clock = Clock(speed=60, start=start)
        runtime = Runtime(site, now=clock.now(), durable=False)
        steps: list[Step] = []
        runner = SiteRunner(site, runtime, clock, on_step=steps.append,
                            open_lines=opener(fake, opened))
        stop = asyncio.Event()
        task = asyncio.ensure_future(runner.run(stop))
        try:
            await asyncio.wait_for(until(lambda: fake.started), timeout=60)
            fake.pulses(pulses, skip_seqno=skip_seqno)
            await asyncio.wait_for(until(lambda: expect in totals(steps)), timeout=60)
            fake.pulses(at_stop)
        finally:
            stop.set()
            await task
            runtime.close(clock.now())

    asyncio.run(scenario())
    return opened


def test_gpio_pulses_are_counted_and_totals_continue_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(interval="10s"))
    first = FakeLines(17, start_ns=50_000 * 10**9)
    # 25 pulses at 1000 imp/kWh on an offset of 100 kWh, 3 more as it stops
    opened = run(path, first, 25, Decimal("100.025"), start=T0, at_stop=3)
    assert opened == [("/dev/gpiochip0", {17: "heat_pump"},
                       {"active_low": True, "pull_up": True})]
    assert first.released
    # a reboot: the monotonic clock starts again below the saved times; 10 pulses more,
    # and two edges the kernel dropped among them (the seqno gap: logged, not counted)
    second = FakeLines(17, start_ns=5 * 10**9)
    run(path, second, 10, Decimal("100.038"), start=T0 + timedelta(days=1), skip_seqno=2)
    with SQLiteHistory(tmp_path / "data/history.sqlite") as history:
        stored = [Decimal(str(r.value)) for r in history.readings("plant/heat_pump/total")]
        failures = [entry.message for entry in history.audit(kinds=["failure"])]
    assert stored[0] == Decimal("100.000") and stored[-1] == Decimal("100.038")
    assert stored == sorted(stored)  # a total never goes back across the restart
    assert len([m for m in failures if "dropped 2 edges" in m]) == 1, failures


def test_gpio_pulses_are_saved_between_readouts(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Pulses counted after the last readout reach the state file without one (a crash
    then loses at most SAVE_INTERVAL seconds of them); set to 0 here, not waited for."""
    monkeypatch.setattr("gateway._drivers.SAVE_INTERVAL", 0.0)
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(interval="1h"))
    site = load_site(path)
    fake = FakeLines(17, start_ns=10**9)
    state = tmp_path / "data/state.json"

    def saved_pulses() -> int:
        try:
            data = json.loads(state.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return -1
        return s0.S0Counter.restore(data["s0"])["heat_pump"].pulses

    async def scenario() -> None:
        clock = Clock()
        runtime = Runtime(site, now=clock.now(), durable=False)
        steps: list[Step] = []
        runner = SiteRunner(site, runtime, clock, on_step=steps.append,
                            open_lines=opener(fake, []))
        stop = asyncio.Event()
        task = asyncio.ensure_future(runner.run(stop))
        try:
            await asyncio.wait_for(until(lambda: fake.started and bool(steps)), timeout=60)
            fake.pulses(7)
            await asyncio.wait_for(until(lambda: saved_pulses() == 7), timeout=60)
            assert totals(steps) == [Decimal("100.000")]  # no readout since the pulses
        finally:
            stop.set()
            await task
            runtime.close(clock.now())

    asyncio.run(scenario())


def test_a_gpio_line_that_cannot_be_requested_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(interval="10s"))
    site = load_site(path)

    def refuse(chip: str, lines: Mapping[int, str], counter: s0.S0Counter, *,
               active_low: bool, pull_up: bool) -> s0.GpioPulseReader:
        raise s0.GpioError(f"cannot request lines [17] on {chip}: busy")

    runtime = Runtime(site, now=Clock().now(), durable=False)
    try:
        with pytest.raises(GatewayError, match="S0 input heat_pump: cannot request lines"):
            SiteRunner(site, runtime, Clock(), open_lines=refuse)
    finally:
        runtime.close(Clock().now())


def test_check_prints_the_gpio_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(interval="10s"))
    assert main(["check", str(path)]) == 0
    assert ("s0 heat_pump: gpio /dev/gpiochip0:17 (active low, pull-up), 1000 imp/kWh, every "
            "10 s -> plant/heat_pump/total, plant/heat_pump/power") in capsys.readouterr().out


def test_an_active_high_line_without_pull_up_is_requested_so_and_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A meter output that drives the line high during a pulse: requested active high
    (pulses are the high phases) with the bias left as it is (no pull-up)."""
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(interval="10s") + "active_low = false\npull_up = false\n")
    assert main(["check", str(path)]) == 0
    assert ("s0 heat_pump: gpio /dev/gpiochip0:17 (active high, no pull-up), "
            in capsys.readouterr().out)
    fake = FakeLines(17, start_ns=50_000 * 10**9, pulse_high=True)
    opened = run(path, fake, 12, Decimal("100.012"), start=T0)
    assert opened == [("/dev/gpiochip0", {17: "heat_pump"},
                       {"active_low": False, "pull_up": False})]
    with SQLiteHistory(tmp_path / "data/history.sqlite") as history:
        stored = [Decimal(str(r.value)) for r in history.readings("plant/heat_pump/total")]
    assert stored[-1] == Decimal("100.012")


@pytest.mark.parametrize(("lines", "key", "words"), [
    ("active_low = \"high\"\n", "active_low", "boolean"),
    ("pull_up = 1\n", "pull_up", "boolean"),
])
def test_bad_line_settings_name_file_table_and_key(tmp_path: Path, lines: str, key: str,
                                                   words: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(interval="10s") + lines)
    with pytest.raises(SiteError) as caught:
        load_site(path)
    error = caught.value
    assert (error.file, error.table, error.key) == (str(path), "s0[0]", key), str(error)
    assert words in error.message


def test_line_settings_are_refused_on_a_replay_input(tmp_path: Path) -> None:
    (tmp_path / "edges.csv").write_text("0,0\n")
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(interval="10s").replace(
        'gpio = "/dev/gpiochip0:17"', 'replay = "edges.csv"') + "active_low = false\n")
    with pytest.raises(SiteError, match="applies to GPIO lines only") as caught:
        load_site(path)
    assert (caught.value.table, caught.value.key) == ("s0[0]", "active_low")
