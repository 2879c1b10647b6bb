"""The gpiod adapter's logic against an in-memory line request shaped like gpiod v2's."""

from __future__ import annotations

import enum
import io
import json
import logging
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from s0 import (
    ChannelConfig,
    EdgesLost,
    Event,
    GpioError,
    GpioPulseReader,
    PulseCounted,
    S0Counter,
    UnknownChannelError,
)

MS = 1_000_000


class EdgeType(enum.Enum):  # gpiod.EdgeEvent.Type
    RISING_EDGE = 1
    FALLING_EDGE = 2


class Value(enum.Enum):  # gpiod.line.Value
    INACTIVE = 0
    ACTIVE = 1


@dataclass(frozen=True)
class FakeEdgeEvent:  # gpiod.EdgeEvent
    event_type: EdgeType
    timestamp_ns: int
    line_offset: int
    global_seqno: int
    line_seqno: int


class FakeLineRequest:
    """An in-memory gpiod v2 LineRequest: edges are queued as the kernel would."""

    def __init__(self, values: dict[int, int]) -> None:
        self.values = dict(values)
        self.queue: deque[FakeEdgeEvent] = deque()
        self.line_seqno = dict.fromkeys(values, 0)
        self.global_seqno = 0
        self.waits: list[timedelta | float | None] = []
        self.released = False

    def edge(self, offset: int, level: int, t_ns: int, *, dropped: int = 0) -> None:
        self.values[offset] = level
        self.line_seqno[offset] += 1 + dropped
        self.global_seqno += 1 + dropped
        self.queue.append(
            FakeEdgeEvent(
                event_type=EdgeType.RISING_EDGE if level else EdgeType.FALLING_EDGE,
                timestamp_ns=t_ns,
                line_offset=offset,
                global_seqno=self.global_seqno,
                line_seqno=self.line_seqno[offset],
            )
        )

    def wait_edge_events(self, timeout: timedelta | float | None = None) -> bool:
        self.waits.append(timeout)
        return bool(self.queue)

    def read_edge_events(self, max_events: int | None = None) -> list[FakeEdgeEvent]:
        count = len(self.queue) if max_events is None else min(max_events, len(self.queue))
        return [self.queue.popleft() for _ in range(count)]

    def get_value(self, line: int) -> Value:
        return Value(self.values[line])

    def release(self) -> None:
        self.released = True


class Clock:
    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns


def setup(
    values: dict[int, int] | None = None, now: int = 1000 * MS
) -> tuple[FakeLineRequest, Clock, S0Counter, GpioPulseReader]:
    request = FakeLineRequest(values or {17: 0})
    clock = Clock(now)
    counter = S0Counter({f"line{o}": ChannelConfig(imp_per_unit=1000) for o in request.values})
    reader = GpioPulseReader(
        request, {o: f"line{o}" for o in request.values}, counter, clock_ns=clock
    )
    return request, clock, counter, reader


def test_kernel_timestamped_pulses_are_counted() -> None:
    request, clock, counter, reader = setup()
    assert reader.poll() == []
    request.edge(17, 1, 1100 * MS)
    request.edge(17, 0, 1150 * MS)
    clock.now_ns = 1155 * MS  # Python reads late; the kernel's times still rule
    assert reader.poll() == []  # the low level is not confirmed yet
    clock.now_ns = 1200 * MS
    (event,) = reader.poll()
    assert isinstance(event, PulseCounted)
    assert (event.start, event.end) == (1.1, 1.15)
    assert counter["line17"].total == Decimal("0.001")


def test_many_lines_one_request() -> None:
    request, clock, _, reader = setup({17: 0, 27: 0})
    reader.start()
    for offset, level, t in ((17, 1, 1100), (27, 1, 1110), (17, 0, 1150), (27, 0, 1170)):
        request.edge(offset, level, t * MS)
    clock.now_ns = 2000 * MS
    events = reader.poll()
    assert [(e.channel, e.end) for e in events if isinstance(e, PulseCounted)] == [
        ("line17", 1.15),
        ("line27", 1.17),
    ]


def test_the_current_level_is_fed_at_start() -> None:
    request, clock, _, reader = setup({17: 1})
    reader.start()
    request.edge(17, 0, 1040 * MS)
    clock.now_ns = 1100 * MS
    (event,) = reader.poll()
    assert isinstance(event, PulseCounted)
    assert event.start == 1.0  # the high phase is timed from the start of observation


def test_a_sequence_gap_reports_lost_edges(caplog: pytest.LogCaptureFixture) -> None:
    request, clock, _, reader = setup()
    reader.start()
    request.edge(17, 1, 1100 * MS)
    request.edge(17, 0, 1150 * MS, dropped=2)
    clock.now_ns = 1300 * MS
    with caplog.at_level(logging.WARNING, logger="s0._gpio"):
        events = reader.poll()
    lost = [e for e in events if isinstance(e, EdgesLost)]
    assert [(e.channel, e.missing, e.time) for e in lost] == [("line17", 2, 1.15)]
    assert "dropped 2 edges" in caplog.text


def test_edges_of_unknown_lines_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    request, clock, counter, reader = setup()
    reader.start()
    request.values[5] = 0
    request.line_seqno[5] = 0
    request.edge(5, 1, 1100 * MS)
    clock.now_ns = 1300 * MS
    with caplog.at_level(logging.WARNING, logger="s0._gpio"):
        assert reader.poll() == []
    assert "maps to no channel" in caplog.text
    assert counter["line17"].pulses == 0


def test_an_edge_queued_after_the_counter_moved_on_is_kept_not_fatal() -> None:
    request, clock, counter, reader = setup()
    reader.start()
    clock.now_ns = 5000 * MS
    reader.poll()  # the counter is now at 5 s minus the settle margin
    request.edge(17, 1, 1100 * MS)  # impossible in a sane kernel, but never crash on it
    request.edge(17, 0, 5100 * MS)
    clock.now_ns = 6000 * MS
    events = reader.poll()
    assert len(events) == 1 and counter["line17"].pulses == 1


def test_a_restored_counter_ahead_of_the_clock_continues_after_a_reboot() -> None:
    request, clock, counter, reader = setup(now=100_000 * MS)
    reader.start()
    request.edge(17, 1, 100_100 * MS)
    request.edge(17, 0, 100_150 * MS)
    clock.now_ns = 100_200 * MS
    reader.poll()
    saved = counter.save()
    # reboot: the monotonic clock starts again near zero
    request2 = FakeLineRequest({17: 0})
    restored = S0Counter.restore(saved)
    reader2 = GpioPulseReader(request2, {17: "line17"}, restored, clock_ns=Clock(5000 * MS))
    reader2.start()
    request2.edge(17, 1, 5100 * MS)
    request2.edge(17, 0, 5150 * MS)
    reader2._clock_ns = Clock(5300 * MS)
    events = reader2.poll()
    assert [e.pulses for e in events if isinstance(e, PulseCounted)] == [2]


def test_run_until_stopped_and_close() -> None:
    request, clock, _, reader = setup()
    request.edge(17, 1, 1100 * MS)
    request.edge(17, 0, 1150 * MS)
    seen: list[Event] = []
    polls = iter(range(3))

    def stop() -> bool:
        clock.now_ns += 100 * MS
        return next(polls, None) is None

    with reader:
        reader.run(seen.append, should_stop=stop, interval=0.25)
    assert [type(e).__name__ for e in seen] == ["PulseCounted"]
    assert request.released
    assert all(isinstance(w, float) and w <= 0.25 for w in request.waits)


def _without_gpiod(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import gpiod`` fail as when it is not installed (runs whether it is or not)."""
    monkeypatch.setitem(sys.modules, "gpiod", None)
    monkeypatch.setitem(sys.modules, "gpiod.line", None)


def test_lines_must_map_to_known_channels() -> None:
    with pytest.raises(UnknownChannelError):
        GpioPulseReader(FakeLineRequest({1: 0}), {1: "nope"}, S0Counter())


def test_open_without_gpiod_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_gpiod(monkeypatch)
    counter = S0Counter({"a": ChannelConfig(imp_per_unit=1)})
    with pytest.raises(GpioError) as info:
        GpioPulseReader.open("/dev/gpiochip0", {17: "a"}, counter)
    assert "meterkit[gpio]" in str(info.value)


def test_importing_s0_does_not_import_gpiod() -> None:
    code = "import sys, s0; print('gpiod' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "False"


# -- s0 watch ------------------------------------------------------------------------------


class ScriptedRequest(FakeLineRequest):
    """Delivers a script of edges, then stops the command as Ctrl-C would."""

    def __init__(self, script: list[tuple[int, int, int]]) -> None:
        super().__init__({offset: 0 for offset, _, _ in script})
        self.script = list(script)

    def wait_edge_events(self, timeout: timedelta | float | None = None) -> bool:
        if not self.queue and self.script:
            offset, level, t = self.script.pop(0)
            self.edge(offset, level, t)
        elif not self.queue and len(self.waits) > 40:
            raise KeyboardInterrupt
        return super().wait_edge_events(timeout)


def patch_open(
    monkeypatch: pytest.MonkeyPatch, script: list[tuple[int, int, int]]
) -> list[dict[str, object]]:
    calls: list[dict[str, object]] = []
    clock = Clock(0)

    def tick() -> int:
        clock.now_ns += 30 * MS
        return clock.now_ns

    def fake_open(
        cls: type[GpioPulseReader],
        /,
        chip: str,
        lines: dict[int, str],
        counter: S0Counter,
        **options: object,
    ) -> GpioPulseReader:
        calls.append({"chip": chip, "lines": dict(lines), **options})
        return cls(ScriptedRequest(script), lines, counter, clock_ns=tick)

    monkeypatch.setattr(GpioPulseReader, "open", classmethod(fake_open))
    return calls


def pulse_script(offset: int, starts_ms: list[int]) -> list[tuple[int, int, int]]:
    return [
        step for s in starts_ms for step in ((offset, 1, s * MS), (offset, 0, (s + 50) * MS))
    ]


def test_watch_counts_prints_json_lines_and_keeps_counts_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from s0 import main

    state = tmp_path / "state.json"
    calls = patch_open(monkeypatch, pulse_script(17, [100, 400]))
    argv = ["watch", "--line", "17=grid", "--imp-per-unit", "1000", "--state", str(state)]
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["event"], x["channel"], x["total"]) for x in lines] == [
        ("counted", "grid", "0.001"),
        ("counted", "grid", "0.002"),
    ]
    assert calls == [
        {"chip": "/dev/gpiochip0", "lines": {17: "grid"}, "active_low": True, "pull_up": True}
    ]
    # restart with a new offset: the saved count carries on
    patch_open(monkeypatch, pulse_script(17, [100]))
    assert main([*argv, "--offset", "100"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["pulses"], x["total"]) for x in lines] == [(3, "100.003")]
    saved = json.loads(state.read_text())
    assert saved["channels"]["grid"]["state"]["pulses"] == 3


def test_watch_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from s0 import main

    with pytest.raises(SystemExit):
        main(["watch", "--line", "x", "--imp-per-unit", "1"])
    assert main(["watch", "--line", "1=a", "--line", "2=a", "--imp-per-unit", "1"]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["watch", "--line", "1", "--imp-per-unit", "1", "--state", str(bad)]) == 1
    assert "format" in capsys.readouterr().err


def test_watch_without_gpiod_exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from s0 import main

    _without_gpiod(monkeypatch)
    assert main(["watch", "--line", "17", "--imp-per-unit", "1000"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "meterkit[gpio]" in err


class _ClosedPipe(io.StringIO):
    """Standard output whose reader went away (``s0 watch ... | head -1``)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise io.UnsupportedOperation("no file descriptor")  # keeps the real stdout alone


def test_watch_whose_reader_went_away_still_saves_its_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from s0 import main

    state = tmp_path / "state.json"
    patch_open(monkeypatch, pulse_script(17, [100, 400]))
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    argv = ["watch", "--line", "17=grid", "--imp-per-unit", "1000", "--state", str(state)]
    assert main(argv) == 141
    assert capsys.readouterr().err == ""
    saved = json.loads(state.read_text())
    assert saved["channels"]["grid"]["state"]["pulses"] == 1  # counted before the write failed


def test_watch_that_cannot_start_says_so_in_one_line_and_saves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No chip (or no gpiod): one line; the state file, unwritable here, is not touched."""
    from s0 import main

    def no_chip(cls: type[GpioPulseReader], /, chip: str, *args: object,
                **options: object) -> GpioPulseReader:
        raise GpioError(f"cannot open {chip}: no such chip", field="chip")

    monkeypatch.setattr(GpioPulseReader, "open", classmethod(no_chip))
    state = tmp_path / "missing-folder" / "state.json"
    argv = ["watch", "--line", "17=grid", "--imp-per-unit", "1000", "--state", str(state)]
    assert main(argv) == 1
    assert capsys.readouterr().err.splitlines() == [
        "s0 watch: chip: cannot open /dev/gpiochip0: no such chip"]
    assert not state.parent.exists()
