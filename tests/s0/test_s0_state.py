"""Restarts: save/restore of channels and counters, and the atomic state file."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from s0 import (
    Channel,
    ChannelConfig,
    EdgeError,
    PulseCounted,
    S0Counter,
    StateError,
    UnknownChannelError,
    load_state_file,
    save_state_file,
)

D = Decimal


def train(start: str, n: int, period: str = "1", width: str = "0.05") -> list[tuple[D, int]]:
    edges = []
    for i in range(n):
        t = D(start) + D(period) * i
        edges += [(t, 1), (t + D(width), 0)]
    return edges


def test_restart_mid_pulse_and_mid_debounce_loses_nothing(tmp_path: Path) -> None:
    edges = train("0", 10)
    whole = Channel(ChannelConfig(imp_per_unit=1000, offset="5"), name="grid")
    for t, level in edges:
        whole.feed_edge(t, level)
    whole.advance(20)
    # cut 1: inside a pulse (after a rising edge); cut 2: 5 ms after a falling edge
    for cut in (7, 10):
        first = Channel(ChannelConfig(imp_per_unit=1000, offset="5"), name="grid")
        for t, level in edges[:cut]:
            first.feed_edge(t, level)
        if cut == 10:
            first.advance(edges[cut - 1][0] + D("0.005"))
        path = tmp_path / "grid.json"
        save_state_file(path, first.save())
        second = Channel.restore(load_state_file(path))
        for t, level in edges[cut:]:
            second.feed_edge(t, level)
        second.advance(20)
        assert (second.pulses, second.total) == (10, D("5.010"))
        assert second.save() == whole.save()


def test_restore_with_a_new_configuration_keeps_the_count() -> None:
    ch = Channel(ChannelConfig(imp_per_unit=1000), name="m")
    for i in range(3):
        ch.feed_pulse(i)
    again = Channel.restore(ch.save(), config=ChannelConfig(imp_per_unit=1000, offset="100"))
    assert (again.pulses, again.total) == (3, D("100.003"))


def test_saved_state_is_plain_json_with_a_format_marker() -> None:
    ch = Channel(ChannelConfig(imp_per_unit="0.5", debounce=D("0.002"), rollover=1000), name="x")
    ch.feed_edge(D("1.5"), 1)
    saved = ch.save()
    assert json.loads(json.dumps(saved)) == saved
    assert saved["format"] == "meterkit.s0.channel" and saved["version"] == 1
    config = Channel.restore(saved).config
    assert (config.imp_per_unit, config.debounce, config.rollover) == (D("0.5"), D("0.002"), 1000)


def broken(path: str, value: object) -> dict[str, object]:
    saved = Channel(ChannelConfig(imp_per_unit=10), name="b").save()
    node: dict[str, object] = saved
    keys = path.split(".")
    for key in keys[:-1]:
        child = node[key]
        assert isinstance(child, dict)
        node = child
    if value is KeyError:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return saved


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("format", "other", "format"),
        ("version", 2, "version"),
        ("name", KeyError, "name"),
        ("config", KeyError, "config"),
        ("config.imp_per_unit", "zero", "config.imp_per_unit"),
        ("config.debounce", 0.01, "config.debounce"),
        ("config.min_on", "x", "config.min_on"),
        ("config.decimals", "3", "config.decimals"),
        ("state", [], "state"),
        ("state.pulses", -1, "state.pulses"),
        ("state.pulses", "3", "state.pulses"),
        ("state.pulses", True, "state.pulses"),
        ("state.rejected", {"bogus": 1}, "state.rejected"),
        ("state.rejected", {"on_too_short": -1}, "state.rejected.on_too_short"),
        ("state.level", 2, "state.level"),
        ("state.raw_level", 1, "state.raw_since_ns"),  # pending change without its start
        ("state.last_time_ns", 1.5, "state.last_time_ns"),
        ("state.prev_pulse_ns", 5, "state.prev_pulse_ns"),
    ],
)
def test_bad_saved_state_raises_state_error_naming_the_field(
    path: str, value: object, field: str
) -> None:
    with pytest.raises(StateError) as info:
        Channel.restore(broken(path, value))
    assert info.value.field == field


def test_not_a_mapping_is_a_state_error() -> None:
    with pytest.raises(StateError):
        Channel.restore([])  # type: ignore[arg-type]
    with pytest.raises(StateError):
        S0Counter.restore("x")  # type: ignore[arg-type]


# -- the state file ------------------------------------------------------------------------


def test_state_file_round_trip_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "s0.json"
    save_state_file(path, {"a": 1})
    save_state_file(path, {"a": 2})
    assert load_state_file(path) == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s0.json"]


def test_a_failed_write_keeps_the_previous_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s0.json"
    save_state_file(path, {"pulses": 1})
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)

    def crash(src: object, dst: object) -> None:
        raise OSError("power lost before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_state_file(path, {"pulses": 2})
    assert synced  # the data was fsync'ed before the rename was attempted
    assert load_state_file(path) == {"pulses": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s0.json"]


def test_state_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_state_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(StateError):
        load_state_file(bad)
    bad.write_text("[1]")
    with pytest.raises(StateError):
        load_state_file(bad)
    with pytest.raises(StateError):
        save_state_file(tmp_path / "x.json", {"x": object()})
    with pytest.raises(StateError):
        save_state_file(tmp_path / "x.json", {"x": float("nan")})


# -- many channels -------------------------------------------------------------------------


def test_channels_count_independently_and_events_come_in_time_order() -> None:
    counter = S0Counter(
        {
            "grid": ChannelConfig(imp_per_unit=1000),
            "pv": ChannelConfig(imp_per_unit=500),
            "gas": ChannelConfig(imp_per_unit=100, unit="m3", debounce=D("0.05")),
        }
    )
    counter.feed_edge("gas", D("0"), 1)
    counter.feed_edge("grid", D("0.01"), 1)
    counter.feed_edge("grid", D("0.05"), 0)
    counter.feed_edge("gas", D("0.1"), 0)
    counter.feed_pulse("pv", D("0.2"))
    assert counter.next_deadline() == pytest.approx(0.06)  # grid: 0.05 + 10 ms
    events = counter.advance(D("0.2"))
    assert [(e.channel, e.end) for e in events if isinstance(e, PulseCounted)] == [
        ("grid", 0.05),
        ("gas", 0.1),
    ]
    readings = {r.channel: r for r in counter.readings(1)}
    assert {name: str(r.total) for name, r in readings.items()} == {
        "grid": "0.001",
        "pv": "0.002",
        "gas": "0.01",
    }
    assert readings["gas"].unit == "m3"


def test_counter_save_restore_and_errors() -> None:
    counter = S0Counter({"a": ChannelConfig(imp_per_unit=1), "b": ChannelConfig(imp_per_unit=2)})
    counter.feed_pulse("a", 1)
    counter.feed_edge("b", 1, 1)
    restored = S0Counter.restore(json.loads(json.dumps(counter.save())))
    assert restored.save() == counter.save()
    assert list(restored) == ["a", "b"] and len(restored) == 2 and "a" in restored
    with pytest.raises(UnknownChannelError):
        counter.feed_pulse("c", 2)
    with pytest.raises(UnknownChannelError):
        counter.add_channel("a", ChannelConfig(imp_per_unit=1))
    saved = counter.save()
    saved["channels"]["a"]["name"] = "z"  # type: ignore[index]
    with pytest.raises(StateError) as info:
        S0Counter.restore(saved)
    assert info.value.field == "channels.a.name"
    saved["channels"]["a"]["state"]["pulses"] = "x"  # type: ignore[index]
    with pytest.raises(StateError) as info:
        S0Counter.restore(saved)
    assert info.value.field == "channels.a.state.pulses"


def test_counter_advance_refused_for_one_channel_changes_no_channel() -> None:
    counter = S0Counter({"a": ChannelConfig(imp_per_unit=1), "b": ChannelConfig(imp_per_unit=1)})
    counter.feed_edge("a", 0, 1)
    counter.feed_edge("b", 5, 1)
    before = counter.save()
    with pytest.raises(EdgeError):
        counter.advance(1)
    assert counter.save() == before
    removed = counter.remove_channel("b")
    assert removed.name == "b" and list(counter) == ["a"]
