"""The counting rules of issue 5, pinned one by one (times exactly at the thresholds too).

Defaults from the issue: debounce 0.010 s, min_on 0.030 s, min_off 0.030 s. Times are given
as Decimal text so that "exactly at the threshold" really is exact.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from s0 import (
    Channel,
    ChannelConfig,
    ConfigError,
    EdgeError,
    Event,
    PulseCounted,
    PulseRejected,
    RejectReason,
    TotalRolledOver,
)

D = Decimal


def make(**overrides: object) -> Channel:
    config: dict[str, object] = {"imp_per_unit": 1000}
    config.update(overrides)
    return Channel(ChannelConfig(**config), name="ch")  # type: ignore[arg-type]


def feed(channel: Channel, edges: list[tuple[str, int]], until: str | None = None) -> list[Event]:
    events: list[Event] = []
    for time, level in edges:
        events.extend(channel.feed_edge(D(time), level))
    if until is not None:
        events.extend(channel.advance(D(until)))
    return events


def counted(events: list[Event]) -> list[PulseCounted]:
    return [e for e in events if isinstance(e, PulseCounted)]


def rejected(events: list[Event]) -> list[PulseRejected]:
    return [e for e in events if isinstance(e, PulseRejected)]


# -- debounce: "a level counts only after it has been stable for debounce" -----------------


def test_defaults_are_the_issues() -> None:
    config = ChannelConfig(imp_per_unit=1000)
    assert (config.debounce, config.min_on, config.min_off) == (0.010, 0.030, 0.030)


def test_a_pulse_is_counted_when_its_end_is_confirmed_and_not_before() -> None:
    ch = make()
    assert feed(ch, [("1.000", 1), ("1.050", 0)]) == []
    assert ch.next_deadline() == pytest.approx(1.060)
    assert ch.advance(D("1.0599999")) == []
    (event,) = ch.advance(D("1.060"))  # stable for exactly debounce: confirmed
    assert isinstance(event, PulseCounted)
    assert (event.start, event.end) == (1.0, 1.05)
    assert event.on_duration == pytest.approx(0.05)
    assert event.off_duration is None  # the low phase began before observation
    assert (event.pulses, event.total) == (1, D("0.001"))
    assert ch.next_deadline() is None


def test_an_edge_exactly_debounce_after_the_last_confirms_the_level_before_it() -> None:
    # high for exactly 0.010 s: the high level is confirmed (a phase of 10 ms, too short)
    ch = make()
    events = feed(ch, [("2.000", 1), ("2.010", 0)], until="2.020")
    (event,) = rejected(events)
    assert event.reason is RejectReason.ON_TOO_SHORT
    assert event.on_duration == pytest.approx(0.010)


def test_a_glitch_shorter_than_debounce_leaves_no_trace() -> None:
    ch = make()
    assert feed(ch, [("5.000", 1), ("5.0099999", 0)], until="9") == []
    assert (ch.pulses, ch.rejected, ch.level) == (0, 0, 0)


def test_contact_bounce_on_both_edges_gives_one_pulse_timed_from_the_stable_edges() -> None:
    ch = make()
    edges = [
        ("1.000", 1), ("1.002", 0), ("1.004", 1),  # closing bounce
        ("1.060", 0), ("1.061", 1), ("1.063", 0),  # opening bounce
    ]  # fmt: skip
    events = feed(ch, edges, until="2")
    (pulse,) = counted(events)
    assert rejected(events) == []
    assert (pulse.start, pulse.end) == (1.004, 1.063)
    assert pulse.on_duration == pytest.approx(0.059)


def test_repeating_the_current_level_is_not_a_change() -> None:
    ch = make()
    events = feed(ch, [("1.000", 1), ("1.005", 1), ("1.009", 1), ("1.050", 0)], until="2")
    (pulse,) = counted(events)
    assert pulse.start == 1.0


def test_zero_debounce_takes_every_level_at_once() -> None:
    ch = make(debounce=0)
    (pulse,) = counted(feed(ch, [("1.000", 1), ("1.030", 0)]))
    assert pulse.on_duration == pytest.approx(0.030)


# -- min_on / min_off ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fall", "is_counted"),
    [("3.030", True), ("3.0299999", False), ("3.031", True), ("3.029", False)],
)
def test_min_on_is_inclusive(fall: str, is_counted: bool) -> None:
    ch = make()
    events = feed(ch, [("3.000", 1), (fall, 0)], until="4")
    assert len(counted(events)) == int(is_counted)
    if not is_counted:
        assert rejected(events)[0].reason is RejectReason.ON_TOO_SHORT
        assert ch.rejected_by_reason == {RejectReason.ON_TOO_SHORT: 1}


@pytest.mark.parametrize(
    ("second_rise", "is_counted"),
    [("1.080", True), ("1.0799999", False), ("1.070", False), ("1.200", True)],
)
def test_min_off_is_inclusive_and_measured_from_the_previous_end(
    second_rise: str, is_counted: bool
) -> None:
    ch = make()
    end = str(D(second_rise) + D("0.040"))
    events = feed(ch, [("1.000", 1), ("1.050", 0), (second_rise, 1), (end, 0)], until="3")
    assert len(counted(events)) == 1 + int(is_counted)
    if not is_counted:
        (event,) = rejected(events)
        assert event.reason is RejectReason.OFF_TOO_SHORT
        assert event.off_duration == pytest.approx(float(D(second_rise) - D("1.050")))


def test_custom_thresholds() -> None:
    ch = make(debounce=D("0.002"), min_on=D("0.100"), min_off=D("0.200"))
    events = feed(
        ch,
        [("0", 1), ("0.100", 0), ("0.299", 1), ("0.400", 0), ("0.700", 1), ("0.799", 0)],
        until="1",
    )
    assert [type(e).__name__ for e in events] == ["PulseCounted", "PulseRejected", "PulseRejected"]
    assert [e.reason for e in rejected(events)] == [
        RejectReason.OFF_TOO_SHORT,
        RejectReason.ON_TOO_SHORT,
    ]


def test_a_glitch_that_is_too_short_in_every_way_is_reported_as_on_too_short() -> None:
    ch = make()
    events = feed(ch, [("1.000", 1), ("1.050", 0), ("1.060", 1), ("1.075", 0)], until="2")
    (event,) = rejected(events)
    assert event.reason is RejectReason.ON_TOO_SHORT


def test_a_rejected_high_phase_still_ends_the_low_phase_before_the_next_pulse() -> None:
    # pulse, then a 20 ms glitch, then a real pulse 20 ms after the glitch: the low phase
    # before the real pulse is 20 ms (from the glitch), not 500 ms (from the first pulse)
    ch = make()
    edges = [("0.000", 1), ("0.050", 0), ("0.500", 1), ("0.520", 0), ("0.540", 1), ("0.600", 0)]
    events = feed(ch, edges, until="1")
    assert [e.reason for e in rejected(events)] == [
        RejectReason.ON_TOO_SHORT,
        RejectReason.OFF_TOO_SHORT,
    ]
    assert ch.pulses == 1 and ch.rejected == 2


def test_pulses_too_close_together() -> None:
    # 40 ms pulses every 60 ms: 20 ms pauses, each pulse after the first is rejected
    ch = make()
    edges = []
    for i in range(5):
        start = D("0.060") * i
        edges += [(str(start), 1), (str(start + D("0.040")), 0)]
    events = feed(ch, edges, until="1")
    assert ch.pulses == 1
    assert [e.reason for e in rejected(events)] == [RejectReason.OFF_TOO_SHORT] * 4


def test_the_first_pulse_after_start_needs_no_observed_low_phase() -> None:
    ch = make()
    assert len(counted(feed(ch, [("0.000", 1), ("0.040", 0)], until="1"))) == 1


def test_a_high_phase_whose_start_was_not_observed_is_rejected() -> None:
    ch = make(initial_level=1)
    (event,) = feed(ch, [("7.000", 0)], until="8")
    assert isinstance(event, PulseRejected)
    assert event.reason is RejectReason.START_UNKNOWN
    assert event.start is None and event.on_duration is None


# -- bare pulse times ---------------------------------------------------------------------


def test_bare_pulses_are_counted_as_they_come() -> None:
    ch = make()
    events = [e for t in ("1", "1.001", "2") for e in ch.feed_pulse(D(t))]
    assert [e.pulses for e in counted(events)] == [1, 2, 3]
    assert ch.total == D("0.003")


def test_a_bare_pulse_starts_the_low_phase_an_edge_pulse_is_checked_against() -> None:
    ch = make()
    ch.feed_pulse(D("1.000"))
    events = feed(ch, [("1.020", 1), ("1.060", 0)], until="2")
    assert rejected(events)[0].reason is RejectReason.OFF_TOO_SHORT


def test_a_bare_pulse_while_the_input_is_high_is_refused_without_changing_state() -> None:
    ch = make()
    feed(ch, [("1.000", 1)], until="1.5")
    before = ch.save()
    with pytest.raises(EdgeError):
        ch.feed_pulse(D("2"))
    assert ch.save() == before


# -- input errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time", "level", "field"),
    [
        (D("0.5"), 1, "time"),  # earlier than the previous edge at 1.0
        (D("2"), 2, "level"),
        (D("2"), -1, "level"),
        (D("2"), "1", "level"),
        (float("nan"), 1, "time"),
        (float("inf"), 1, "time"),
        (D("NaN"), 1, "time"),
        ("2.0", 1, "time"),
        (None, 1, "time"),
        (True, 1, "time"),
        (D("1e20"), 1, "time"),
    ],
)
def test_bad_edges_raise_edge_error_and_change_nothing(
    time: object, level: object, field: str
) -> None:
    ch = make()
    ch.feed_edge(D("1.0"), 1)
    before = ch.save()
    with pytest.raises(EdgeError) as info:
        ch.feed_edge(time, level)  # type: ignore[arg-type]
    assert info.value.field == field
    assert ch.save() == before


@pytest.mark.parametrize("time_ns", [10**22, -(10**22), 1.5, True, None])
def test_bad_nanosecond_times(time_ns: object) -> None:
    ch = make()
    with pytest.raises(EdgeError):
        ch.feed_edge_ns(time_ns, 1)  # type: ignore[arg-type]
    with pytest.raises(EdgeError):
        ch.advance_ns(time_ns)  # type: ignore[arg-type]


def test_equal_times_are_allowed_and_bool_levels_accepted() -> None:
    ch = make()
    ch.feed_edge(D(1), True)
    ch.feed_edge(D(1), False)
    assert ch.save()["state"]["raw_level"] == 0  # type: ignore[index]


def test_advance_cannot_go_back_either() -> None:
    ch = make()
    ch.advance(5)
    with pytest.raises(EdgeError):
        ch.feed_edge(4, 1)


def test_float_and_integer_nanosecond_times_meet_the_thresholds_exactly() -> None:
    ch = make()
    ch.feed_edge(1.0, 1)
    ch.feed_edge(1.03, 0)  # 1.03 - 1.0 is 0.030000000000000027 in floats; ns rounding is exact
    ch.advance(1.04)
    assert ch.pulses == 1
    ch2 = make()
    ch2.feed_edge_ns(1_000_000_000, 1)
    ch2.feed_edge_ns(1_030_000_000, 0)
    ch2.advance_ns(1_040_000_000)
    assert ch2.pulses == 1


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"imp_per_unit": 0}, "imp_per_unit"),
        ({"imp_per_unit": "-5"}, "imp_per_unit"),
        ({"imp_per_unit": "abc"}, "imp_per_unit"),
        ({"imp_per_unit": D("Infinity")}, "imp_per_unit"),
        ({"imp_per_unit": None}, "imp_per_unit"),
        ({"debounce": -0.001}, "debounce"),
        ({"min_on": float("nan")}, "min_on"),
        ({"min_off": "0.03"}, "min_off"),
        ({"power_timeout": 0}, "power_timeout"),
        ({"rollover": 0}, "rollover"),
        ({"decimals": -1}, "decimals"),
        ({"decimals": True}, "decimals"),
        ({"initial_level": 2}, "initial_level"),
        ({"unit": ""}, "unit"),
        ({"offset": "1e99"}, "offset"),
        ({"offset": -1}, "offset"),
        ({"offset": 10, "rollover": 10}, "offset"),
    ],
)
def test_bad_configuration_names_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        make(**overrides)
    assert info.value.field == field


def test_configuration_normalises_numbers_to_decimal() -> None:
    config = ChannelConfig(imp_per_unit="1000", offset=12.5, rollover=100000)
    assert (config.imp_per_unit, config.offset, config.rollover) == (
        D(1000),
        D("12.5"),
        D(100000),
    )
    assert config.power_unit == "kW"
    assert ChannelConfig(imp_per_unit=100, unit="m3").power_unit == "m3/h"


# -- totals --------------------------------------------------------------------------------


def pulses(ch: Channel, n: int, start: int = 0) -> list[Event]:
    return [e for i in range(start, start + n) for e in ch.feed_pulse(i)]


def test_total_is_exact_decimal_at_the_resolution_of_one_pulse() -> None:
    ch = make()
    pulses(ch, 12345)
    assert ch.total == D("12.345")
    assert str(ch.total) == "12.345"
    ch2 = make()
    pulses(ch2, 12000)
    assert str(ch2.total) == "12.000"


@pytest.mark.parametrize(
    ("imp", "n", "offset", "total"),
    [
        ("800", 5, "0", "0.00625"),
        ("1", 3, "0", "3"),
        ("0.5", 3, "0", "6"),
        ("2000", 1, "12345.6", "12345.6005"),
        ("1000", 1, "12345.678", "12345.679"),
        ("10", 7, "100", "100.7"),
        ("375", 1, "0", "0.002666666"),  # no finite expansion: 9 places, rounded down
        ("3", 2, "0", "0.666666666"),
    ],
)
def test_total_with_impulse_constant_and_offset(imp: str, n: int, offset: str, total: str) -> None:
    ch = make(imp_per_unit=imp, offset=offset)
    pulses(ch, n)
    assert str(ch.total) == total


def test_decimals_rounds_down_like_a_register() -> None:
    ch = make(imp_per_unit=1000, decimals=2)
    pulses(ch, 1999)
    assert str(ch.total) == "1.99"


def test_total_rolls_over_at_the_register_modulus() -> None:
    ch = make(imp_per_unit=1000, offset="99999.998", rollover=100000)
    events = pulses(ch, 3)
    assert [str(e.total) for e in counted(events)] == ["99999.999", "0.000", "0.001"]
    (wrap,) = [e for e in events if isinstance(e, TotalRolledOver)]
    assert (wrap.total, wrap.rollover, wrap.time) == (D("0.000"), D(100000), 1.0)
    assert ch.pulses == 3  # the count is the truth and never wraps


def test_total_rolls_over_repeatedly_and_never_goes_negative() -> None:
    ch = make(imp_per_unit=1, rollover=10)
    events = pulses(ch, 25)
    totals = [e.total for e in counted(events)]
    assert totals[8:12] == [D(9), D(0), D(1), D(2)]
    assert min(totals) >= 0 and max(totals) < 10
    assert sum(isinstance(e, TotalRolledOver) for e in events) == 2


# -- power ---------------------------------------------------------------------------------


def test_power_from_the_interval_between_the_last_two_pulses() -> None:
    ch = make()  # 1000 imp/kWh: one pulse every 3.6 s is 1 kW
    assert ch.power(0) is None
    ch.feed_pulse(D("10"))
    assert ch.power(D("10")) is None  # one pulse gives no interval
    ch.feed_pulse(D("13.6"))
    assert ch.power(D("13.6")) == 1.0
    assert ch.power(D("17.2")) == 1.0  # exactly one interval later: the bound equals it


def test_power_is_bounded_by_the_time_since_the_last_pulse() -> None:
    ch = make()
    ch.feed_pulse(D("10"))
    ch.feed_pulse(D("13.6"))
    assert ch.power(D("20.8")) == 0.5  # 7.2 s without a pulse: at most 0.5 kW
    assert ch.power(D("49.6")) == 0.1


def test_power_falls_to_zero_at_the_timeout() -> None:
    ch = make(power_timeout=60)
    ch.feed_pulse(D("0"))
    ch.feed_pulse(D("1"))
    assert ch.power(D("60.9999")) == pytest.approx(3600 / 59.9999 / 1000)
    assert ch.power(D("61")) == 0.0
    one = make(power_timeout=60)
    one.feed_pulse(0)
    assert one.power(59) is None and one.power(60) == 0.0


def test_flow_unit_is_the_unit_per_hour() -> None:
    ch = make(imp_per_unit=100, unit="m3")  # 100 imp/m3, a pulse every 36 s: 1 m3/h
    ch.feed_pulse(0)
    ch.feed_pulse(36)
    reading = ch.reading(36)
    assert (reading.power, reading.power_unit, reading.unit) == (1.0, "m3/h", "m3")


def test_power_uses_pulse_starts() -> None:
    ch = make()
    feed(ch, [("0", 1), ("0.05", 0), ("3.6", 1), ("3.9", 0)], until="4")
    assert ch.power(4) == 1.0


def test_reading_to_dict_is_json() -> None:
    import json

    ch = make()
    feed(ch, [("0", 1), ("0.01", 0), ("1", 1), ("1.05", 0)], until="2")
    data = json.loads(json.dumps(ch.reading(2).to_dict()))
    assert data["pulses"] == 1 and data["rejected"] == 1
    assert data["rejected_by_reason"] == {"on_too_short": 1}
    assert data["total"] == "0.001" and data["power_unit"] == "kW"


def test_events_are_frozen_keyword_only_and_serialise() -> None:
    import dataclasses
    import json

    ch = make()
    events = feed(ch, [("0", 1), ("0.05", 0), ("0.06", 1), ("0.07", 0)], until="1")
    for event in events:
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.channel = "x"  # type: ignore[misc]
        json.dumps(event.to_dict())
    with pytest.raises(TypeError):
        PulseCounted("ch", 0.0, 0.0, None, None, 1, D(0))  # type: ignore[call-arg]
