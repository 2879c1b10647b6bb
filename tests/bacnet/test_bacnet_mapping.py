"""Readings -> Analog Input properties; trend buffers; alarm events (all sans-IO)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bacnet import (
    AlarmNotice,
    ConfigurationError,
    DeviceHealth,
    EventBook,
    EventClass,
    PointSpec,
    TrendBuffer,
    object_state,
    reading_from_value,
)
from bacnet._events import AckRefused
from profiles import PointReading

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
ENERGY = PointSpec(point="m/e", object_type="analog-input", instance=1, unit="kWh")


def reading(value: object, unit: str = "kWh", quality: tuple[str, ...] = ()) -> PointReading:
    return PointReading(point="m/e", time=T0, value=value, unit=unit,  # type: ignore[arg-type]
                        quality=quality)


@pytest.mark.parametrize(
    ("quality", "fault", "reliability"),
    [
        ((), False, "no-fault-detected"),
        (("estimated",), False, "no-fault-detected"),
        (("stale",), True, "communication-failure"),
        (("comm_failure",), True, "communication-failure"),
        (("unverified",), True, "unreliable-other"),
        (("invalid",), True, "unreliable-other"),
        (("out_of_range",), True, "process-error"),
        (("out_of_range", "comm_failure"), True, "communication-failure"),
    ],
)
def test_quality_becomes_fault_flag_and_reliability(
        quality: tuple[str, ...], fault: bool, reliability: str) -> None:
    state = object_state(ENERGY, reading(Decimal("1.5"), quality=quality))
    assert (state.present_value, state.fault, state.reliability) == (1.5, fault, reliability)


def test_values_are_converted_into_the_points_unit_and_scaled_to_bacnets() -> None:
    assert object_state(ENERGY, reading(Decimal(2500), "Wh")).present_value == 2.5
    gj = PointSpec(point="m/e", object_type="analog-input", instance=1, unit="GJ")
    # GJ is published as megajoules: 1.5 GJ = 1500 MJ
    assert object_state(gj, reading(Decimal("1.5"), "GJ")).present_value == 1500.0
    assert object_state(ENERGY, reading(7)).present_value == 7.0
    assert object_state(ENERGY, reading(True)).present_value == 1.0
    assert object_state(ENERGY, reading(0.25)).present_value == 0.25


@pytest.mark.parametrize("bad", [reading("full"), reading(Decimal(1), "m3")])
def test_a_value_that_cannot_be_published_is_a_configuration_error(bad: PointReading) -> None:
    state = object_state(ENERGY, bad)
    assert (state.present_value, state.fault, state.reliability) == (
        None, True, "configuration-error")


def test_no_value_keeps_the_last_one() -> None:
    state = object_state(ENERGY, reading(None, quality=("stale",)))
    assert state.present_value is None and state.fault


# --- trend buffer --------------------------------------------------------------------------


def filled(count: int, size: int = 5, threshold: int = 0) -> TrendBuffer:
    buffer = TrendBuffer(size=size, notification_threshold=threshold)
    for i in range(count):
        buffer.append(T0 + timedelta(minutes=i), float(i))
    return buffer


def test_ring_keeps_the_newest_and_counts_all() -> None:
    buffer = filled(8)
    assert [r.value for r in buffer.records] == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert [r.sequence for r in buffer.records] == [4, 5, 6, 7, 8]
    assert (buffer.record_count, buffer.total_record_count) == (5, 8)


def test_buffer_ready_at_the_threshold() -> None:
    buffer = TrendBuffer(size=10, notification_threshold=3)
    due = [buffer.append(T0, 1.0) for _ in range(3)]
    assert due == [False, False, True]
    assert buffer.notified() == (0, 3)
    due = [buffer.append(T0, 1.0) for _ in range(3)]
    assert due == [False, False, True] and buffer.notified() == (3, 6)


def test_read_range_by_position() -> None:
    buffer = filled(8)  # holds sequences 4..8 at positions 1..5
    result = buffer.by_position(2, 2)
    assert [r.sequence for r in result.records] == [5, 6]
    assert (result.first_item, result.last_item, result.more_items) == (False, False, True)
    result = buffer.by_position(5, -3)
    assert [r.sequence for r in result.records] == [6, 7, 8]
    assert (result.first_item, result.last_item) == (False, True)
    assert buffer.by_position(1, 10).first_item and buffer.by_position(1, 10).last_item
    assert buffer.by_position(6, 1).records == ()
    assert buffer.by_position(0, 1).records == ()


def test_read_range_by_sequence_and_time() -> None:
    buffer = filled(8)
    assert [r.sequence for r in buffer.by_sequence(7, 5).records] == [7, 8]
    assert buffer.by_sequence(2, 5).records == ()  # overwritten already
    after = buffer.by_time(T0 + timedelta(minutes=5), 2)  # strictly newer than minute 5
    assert [r.value for r in after.records] == [6.0, 7.0]
    before = buffer.by_time(T0 + timedelta(minutes=5), -2)  # strictly older
    assert [r.value for r in before.records] == [3.0, 4.0]


# --- events ----------------------------------------------------------------------------------


def raise_(alarm: str = "a1", point: str = "m/e", **kw: object) -> AlarmNotice:
    return AlarmNotice(alarm_id=alarm, point=point, raised=True, time=T0,
                       **kw)  # type: ignore[arg-type]


def clear(alarm: str = "a1", point: str = "m/e", minutes: int = 5) -> AlarmNotice:
    return AlarmNotice(alarm_id=alarm, point=point, raised=False,
                       time=T0 + timedelta(minutes=minutes))


def test_limit_alarm_raise_and_clear() -> None:
    book = EventBook({"m/e": EventClass(priority=(10, 20, 200))})
    up = book.record(raise_(value=9.0, limit=8.0, direction="up", severity="critical",
                            text="too hot"))
    assert up is not None
    assert (up.from_state, up.to_state, up.event_type, up.priority, up.ack_required) == (
        "normal", "high-limit", "out-of-range", 32, True)
    assert [p for p, _ in book.alarms()] == ["m/e"]
    down = book.record(clear())
    assert down is not None
    assert (down.from_state, down.to_state, down.priority, down.limit) == (
        "high-limit", "normal", 200, 8.0)
    assert book.alarms() == []
    # the raise is still unacknowledged: GetEventInformation lists the object
    assert [p for p, _ in book.summaries()] == ["m/e"]
    assert book.objects["m/e"].priorities == [32, 20, 200]  # raise: its severity's


def test_alarm_without_limit_is_a_change_of_state_to_offnormal() -> None:
    transition = EventBook().record(raise_(severity="warning"))
    assert transition is not None
    assert (transition.to_state, transition.event_type, transition.priority) == (
        "offnormal", "change-of-state", 160)


def test_second_alarm_on_an_object_in_alarm_and_clears_of_unknown_alarms() -> None:
    book = EventBook()
    assert book.record(raise_("a1")) is not None
    assert book.record(raise_("a2")) is None  # already offnormal
    assert book.record(clear("a1")) is None  # a2 still active
    assert book.record(clear("nope")) is None
    assert book.record(clear("a2")) is not None


def test_acknowledge() -> None:
    book = EventBook()
    book.record(raise_(value=1.0, limit=2.0, direction="down"))
    with pytest.raises(AckRefused) as refused:
        book.acknowledge("m/e", "high-limit", T0, source="op", acknowledged_at=None, process=1)
    assert refused.value.code == "invalid-event-state"
    with pytest.raises(AckRefused) as refused:
        book.acknowledge("m/e", "low-limit", T0 + timedelta(seconds=1), source="op",
                         acknowledged_at=None, process=1)
    assert refused.value.code == "invalid-time-stamp"
    with pytest.raises(AckRefused):
        book.acknowledge("other", "low-limit", T0, source="op", acknowledged_at=None, process=1)
    ack = book.acknowledge("m/e", "low-limit", T0, source="op", acknowledged_at=T0, process=7)
    assert (ack.alarm_ids, ack.source, ack.process) == (("a1",), "op", 7)
    assert book.objects["m/e"].acked == [True, True, True]


def test_acknowledge_takes_the_time_stamp_to_the_hundredth_it_was_sent_with() -> None:
    # an alarm raised at 08:00:00.123456 is notified with the stamp 08:00:00.12
    raised_at = T0 + timedelta(microseconds=123456)
    book = EventBook()
    book.record(AlarmNotice(alarm_id="a1", point="m/e", raised=True, time=raised_at))
    with pytest.raises(AckRefused):
        book.acknowledge("m/e", "offnormal", T0 + timedelta(microseconds=130000),
                         source="op", acknowledged_at=None, process=1)
    ack = book.acknowledge("m/e", "offnormal", T0 + timedelta(microseconds=120000),
                           source="op", acknowledged_at=None, process=1)
    assert ack.alarm_ids == ("a1",)


def test_acknowledgement_made_elsewhere_covers_the_transitions_up_to_its_time() -> None:
    # to-normal needs its own acknowledgement in this class
    book = EventBook({"m/e": EventClass(ack_required=(True, True, True))})
    book.record(raise_("a1"))
    book.record(raise_("a2", point="m/f"))
    assert book.unacknowledged_alarms() == {"a1", "a2"}
    assert book.acknowledge_alarm("a1", T0 - timedelta(seconds=1)) == []  # before the raise
    assert book.acknowledge_alarm("a1", T0 + timedelta(minutes=1)) == [("m/e", 0)]
    assert book.objects["m/e"].acked == [True, True, True]
    assert book.objects["m/f"].acked == [False, True, True]  # another alarm's object
    book.record(clear("a1", minutes=5))
    assert book.objects["m/e"].acked == [True, True, False]
    # the acknowledgement came before the return to normal: that one still waits
    assert book.acknowledge_alarm("a1", T0 + timedelta(minutes=1)) == []
    assert book.acknowledge_alarm("a1", T0 + timedelta(minutes=6)) == [("m/e", 2)]
    assert book.state_acknowledged("m/e", 2) == "normal"
    assert book.acknowledge_alarm("a1", T0 + timedelta(minutes=7)) == []  # nothing left
    assert book.unacknowledged_alarms() == {"a2"}


def test_a_restored_alarm_is_in_its_state_as_it_was_acknowledged() -> None:
    book = EventBook()
    restored = book.restore(raise_("a1", value=9.0, limit=8.0, direction="up"),
                            acknowledged=False)
    assert restored is not None and restored.to_state == "high-limit"
    book.restore(raise_("a2", point="m/f"), acknowledged=True)
    assert [(p, e.state, e.acked, e.times[0]) for p, e in book.alarms()] == [
        ("m/e", "high-limit", [False, True, True], T0),
        ("m/f", "offnormal", [True, True, True], T0)]
    assert book.state_acknowledged("m/e", 0) == "high-limit"


def test_notice_is_checked_when_built() -> None:
    with pytest.raises(ConfigurationError):
        raise_(severity="apocalyptic")
    with pytest.raises(ConfigurationError):
        AlarmNotice(alarm_id="a", point="", raised=True, time=datetime(2026, 1, 1))


# --- device communication state ----------------------------------------------------------


def test_device_health_reports_each_change_once() -> None:
    health = DeviceHealth("boiler", "10.0.0.5:47808", failures_to_fail=2)
    assert health.answered(T0) is None
    assert health.failed("timeout") is None  # one failure is not yet a failed device
    failed = health.failed("timeout")
    assert failed is not None
    assert (failed.state, failed.failures, failed.last_ok, failed.error) == (
        "failed", 2, T0, "timeout")
    assert health.failed("timeout") is None  # still failed: no second report
    back = health.answered(T0 + timedelta(minutes=1))
    assert back is not None and (back.state, back.failures) == ("ok", 0)
    assert back.to_dict()["last_ok"] == "2026-12-01T08:01:00+00:00"


def test_readings_from_device_values() -> None:
    spec = PointSpec(point="dev/t", object_type="analog-input", instance=1, unit="degC",
                     quantity="temperature")
    good = reading_from_value(spec, 21.5, [0, 0, 0, 0], T0)
    assert (good.value, good.unit, good.quantity, good.quality) == (
        21.5, "degC", "temperature", ())
    assert reading_from_value(spec, 21.5, [0, 1, 0, 1], T0).quality == ("invalid",
                                                                        "estimated")
    refused = reading_from_value(spec, {"error": "unknown-object"}, None, T0)
    assert (refused.value, refused.quality) == (None, ("invalid",))
