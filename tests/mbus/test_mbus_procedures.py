"""Procedures: every state table is total; under any sequence of outcomes each procedure
finishes, addresses only its meters and returns a result that the outcomes justify; and
master/slave pairs in process for each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mbus
import mbus.procedures
import mbus.records
from mbus import Bus, SecondaryAddress, Slave, build_record
from mbus.procedures import (
    AnswerReceived,
    AssignAddresses,
    ChecksumMismatch,
    CollisionDetected,
    Exchange,
    PrimaryScan,
    ProcedureFinished,
    ReadAll,
    ReadMeter,
    ResponseTimedOut,
    SecondarySearch,
    StateMachine,
)
from mbus.sim import Segment, SimulatedPort

OUTCOME_TYPES = (AnswerReceived, ResponseTimedOut, CollisionDetected, ChecksumMismatch)
ADDRESS = SecondaryAddress.parse("1234567824232504")

MACHINES: dict[str, Callable[[], StateMachine]] = {
    "read_primary": lambda: ReadMeter(5, max_telegrams=3),
    "read_secondary": lambda: ReadMeter(ADDRESS),
    "read_all": lambda: ReadAll([5, ADDRESS, 7]),
    "exchange": lambda: Exchange([mbus.procedures.deselect(), mbus.procedures.select(ADDRESS),
                                  mbus.procedures.snd_nke(253)], optional=[0]),
    "primary_scan": lambda: PrimaryScan(range(5), verify=True),
    "secondary_search": lambda: SecondarySearch(max_probes=40),
    "assign": lambda: AssignAddresses([ADDRESS, SecondaryAddress.parse("8765432124232504")],
                                      free=[1, 2, 3]),
}


def _rsp(ident: str, more: bool) -> mbus.Telegram:
    header = mbus.Header(id=ident, manufacturer="HYD", version=0x25, medium=4,
                         access_number=0, status=0)
    return mbus.build_telegram(address=5, header=header, records=[build_record(0x13, 1)],
                               more_records_follow=more)


@st.composite
def outcomes(draw: st.DrawFn, request: mbus.procedures.Request) -> Any:
    kind = draw(st.sampled_from(OUTCOME_TYPES))
    if kind is ResponseTimedOut:
        return ResponseTimedOut(request=request)
    if kind is CollisionDetected:
        return CollisionDetected(request=request, data=b"\x60", reason="test")
    if kind is ChecksumMismatch:
        return ChecksumMismatch(request=request, data=b"\x68", reason="test")
    shape = draw(st.sampled_from(["ack", "rsp", "rsp_more", "undecodable"]))
    if shape == "ack":
        return AnswerReceived(request=request, frame=mbus.ACK, raw=b"\xe5")
    if shape == "undecodable":
        frame = mbus.LongFrame(c=8, a=5, ci=0x72, data=b"\x01")
        return AnswerReceived(request=request, frame=frame, raw=frame.encode(),
                              decode_error="cut off")
    ident = draw(st.sampled_from(["12345678", "12345679", "87654321"]))
    telegram = _rsp(ident, shape == "rsp_more")
    return AnswerReceived(request=request, frame=telegram.frame, raw=telegram.encode(),
                          telegram=telegram)


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_state_table_covers_every_state_and_outcome(name: str) -> None:
    machine = MACHINES[name]()
    state_type: Any = type(machine.state)
    states = set(state_type)
    for state in states - set(machine.FINAL):
        for kind in OUTCOME_TYPES:
            assert (state, kind) in machine.TABLE, (state, kind)
    for state in machine.FINAL:
        assert not any(key[0] == state for key in machine.TABLE)


# Outcomes are fed straight to the procedure (the master's repeats are not involved), so
# a procedure sees each garbled or silent answer once: it must still finish soon.
MAX_OUTCOMES = 200
NETWORK = mbus.procedures.NETWORK_ADDRESS


def _telegrams_fed(fed: list[Any]) -> list[mbus.Telegram]:
    return [o.telegram for o in fed if isinstance(o, AnswerReceived) and o.telegram]


def _check_reading(reading: Any, meter: int | SecondaryAddress, fed: list[Any],
                   max_telegrams: int = 16) -> None:
    """A reading holds answers that were fed, of one meter, ending where the meter said so."""
    if isinstance(reading, mbus.BusError):
        return
    assert isinstance(reading, mbus.MeterReading) and reading.meter == meter
    telegrams = reading.telegrams
    assert 1 <= len(telegrams) <= max_telegrams
    assert all(any(t is f for f in _telegrams_fed(fed)) for t in telegrams)
    assert all(t.more_records_follow for t in telegrams[:-1])
    if len(telegrams) < max_telegrams:
        assert not telegrams[-1].more_records_follow
    ids = {t.header.id for t in telegrams if t.header is not None}
    assert len(ids) == 1, f"one reading merged the telegrams of several meters: {ids}"
    if isinstance(meter, SecondaryAddress):
        assert ids == {meter.id}


def _check_read_primary(result: Any, sent: list[Any], fed: list[Any]) -> None:
    assert {request.address for request in sent} == {5}
    _check_reading(result, 5, fed, max_telegrams=3)
    if isinstance(result, mbus.MeterReading):
        reads = [r for r in sent if r.function == "REQ_UD2"]
        assert len(reads) == len(result.telegrams)


def _check_read_secondary(result: Any, sent: list[Any], fed: list[Any]) -> None:
    assert {request.address for request in sent} == {NETWORK}
    _check_reading(result, ADDRESS, fed)


def _check_read_all(result: Any, sent: list[Any], fed: list[Any]) -> None:
    assert [entry.meter for entry in result] == [5, ADDRESS, 7]
    for entry in result:
        assert (entry.reading is None) != (entry.error is None)
        if entry.reading is not None:
            _check_reading(entry.reading, entry.meter, fed)
    assert {request.address for request in sent} <= {5, 7, NETWORK}


def _check_exchange(result: Any, sent: list[Any], fed: list[Any]) -> None:
    requests = MACHINES["exchange"]().requests  # type: ignore[attr-defined]
    assert sent == list(requests[:len(sent)])
    if isinstance(result, mbus.BusError):
        assert not isinstance(fed[-1], AnswerReceived)
        return
    assert len(result) == len(requests) == len(sent)
    for index, answer in enumerate(result):
        if answer is None:
            assert index == 0  # only the optional deselection may stay unanswered
        else:
            assert answer is fed[index]


def _check_primary_scan(result: Any, sent: list[Any], fed: list[Any]) -> None:
    found = [f.primary for f in result]
    assert found == sorted(set(found))
    assert {request.address for request in sent} <= set(range(5))
    heard = {o.request.address for o in fed if not isinstance(o, ResponseTimedOut)}
    assert set(found) <= heard


def _check_secondary_search(result: Any, sent: list[Any], fed: list[Any]) -> None:
    assert {request.address for request in sent} == {NETWORK}
    headers = [t.header for t in _telegrams_fed(fed)]
    addresses = [meter.address for meter in result.meters]
    assert len(addresses) == len(set(addresses))
    for meter in result.meters:
        assert meter.header in headers
        assert meter.address == SecondaryAddress.from_header(meter.header)
    assert result.probes <= 40


def _check_assign(result: Any, sent: list[Any], fed: list[Any]) -> None:
    assert [a.meter for a in result] == [ADDRESS, SecondaryAddress.parse("8765432124232504")]
    given = [a.primary for a in result if a.error is None]
    assert all(a.primary is None for a in result if a.error is not None)
    assert len(given) == len(set(given)) and set(given) <= {1, 2, 3}


CHECKS: dict[str, Callable[[Any, list[Any], list[Any]], None]] = {
    "read_primary": _check_read_primary,
    "read_secondary": _check_read_secondary,
    "read_all": _check_read_all,
    "exchange": _check_exchange,
    "primary_scan": _check_primary_scan,
    "secondary_search": _check_secondary_search,
    "assign": _check_assign,
}


@pytest.mark.parametrize("name", sorted(MACHINES))
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_outcomes_end_in_a_result_the_outcomes_justify(name: str,
                                                           data: st.DataObject) -> None:
    machine = MACHINES[name]()
    step = machine.start()
    sent: list[Any] = []
    fed: list[Any] = []
    for _ in range(MAX_OUTCOMES):
        if isinstance(step, ProcedureFinished):
            break
        assert isinstance(step, mbus.procedures.Request)
        sent.append(step)
        outcome = data.draw(outcomes(step))
        fed.append(outcome)
        step = machine.handle(outcome)
    else:
        pytest.fail(f"{name} did not finish after {MAX_OUTCOMES} outcomes")
    CHECKS[name](step.result, sent, fed)


# -- master/slave pairs in process -----------------------------------------------------


def meter(ident: str = "12345678", pages: int = 1, primary: int = 5, medium: int = 4) -> Slave:
    address = SecondaryAddress(id=ident, manufacturer=mbus.records.encode_manufacturer("HYD"),
                               version=0x25, medium=medium)
    return Slave(address, [[build_record(0x13, page + 1)] for page in range(pages)],
                 primary=primary)


def bus_for(*slaves: Slave, **options: Any) -> Bus:
    tamper = options.pop("tamper", None)
    echo = options.pop("echo", False)
    return Bus(SimulatedPort(Segment(slaves), tamper=tamper, echo=echo), **options)


def values(reading: mbus.MeterReading) -> list[Any]:
    return [record.value for record in reading.telegram.records]


def test_multi_telegram_read_merges_all_telegrams() -> None:
    bus = bus_for(meter(pages=3))
    reading = bus.read(5)
    assert len(reading.telegrams) == 3
    assert values(reading) == [1, 2, 3]
    assert reading.to_dict()["telegrams"] == 3
    assert [r["value"] for r in reading.to_dict()["records"]] == [1, 2, 3]


def test_a_read_stops_after_max_telegrams_even_if_more_follow() -> None:
    reading = bus_for(meter(pages=5)).read(5, max_telegrams=3)
    assert len(reading.telegrams) == 3
    assert reading.telegrams[-1].more_records_follow
    # the merge keeps the last "more records follow" marker: the readout is incomplete
    assert values(reading) == [1, 2, 3, b""]
    assert reading.telegram.records[-1].function == "more_records_follow"


def test_a_follow_up_telegram_from_another_meter_is_a_collision() -> None:
    # Telegram 2 arrives whole and with a good checksum, but from another meter (two
    # meters answering at one primary address can make such a frame): not merged.
    other = meter("87654321", pages=2)
    answers = {"count": 0}

    def swap_second(request: bytes, answer: bytes) -> bytes:
        if answer.startswith(b"\x68"):
            answers["count"] += 1
            if answers["count"] == 2:
                other.reset_link()
                other.receive_data(mbus.procedures.snd_nke(5).encode())
                return other.receive_data(request)
        return answer

    bus = bus_for(meter(pages=2), tamper=swap_second)
    with pytest.raises(mbus.CollisionError, match=r"telegram 2 .* another meter"):
        bus.read(5)


def test_second_multi_telegram_read_starts_at_the_first_telegram() -> None:
    # libmbus skips the FCB reset and returns only the last telegram on a second read.
    slave = meter(pages=3)
    bus = bus_for(slave)
    bus.read(5)
    # a read interrupted after the first telegram leaves the slave's FCB state behind
    bus.run(mbus.procedures.Exchange([mbus.procedures.req_ud2(5)]))
    assert values(bus.read(5)) == [1, 2, 3]
    assert values(bus.read(5)) == [1, 2, 3]


def test_read_by_secondary_address() -> None:
    bus = bus_for(meter("11111111", pages=2), meter("22222222", pages=1, primary=6))
    reading = bus.read(SecondaryAddress.parse("11111111FFFFFFFF"))
    assert values(reading) == [1, 2]


def test_read_by_secondary_address_rejects_collided_answers() -> None:
    # two meters match the mask: their answers collide
    bus = bus_for(meter("11111111"), meter("11111112", primary=6))
    with pytest.raises(mbus.CollisionError):
        bus.read(SecondaryAddress.parse("1111111FFFFFFFFF"))


def test_read_errors_dead_meter_no_meter() -> None:
    bus = bus_for(meter())
    with pytest.raises(mbus.NoAnswerError) as caught:
        bus.read(9)
    assert "primary address 9" in str(caught.value)
    with pytest.raises(mbus.NoMeterError):
        bus.read(SecondaryAddress.parse("99999999FFFFFFFF"))


def test_lost_answer_is_repeated_and_the_slave_repeats_its_telegram() -> None:
    lost = {"count": 0}

    def lose_second_rsp(request: bytes, answer: bytes) -> bytes:
        if answer.startswith(b"\x68"):
            lost["count"] += 1
            if lost["count"] == 2:
                return answer[:10]  # cut off: the master repeats with the same FCB
        return answer

    bus = bus_for(meter(pages=3), tamper=lose_second_rsp)
    assert values(bus.read(5)) == [1, 2, 3]


def test_wrong_checksum_then_good_answer() -> None:
    state = {"first": True}

    def corrupt_once(request: bytes, answer: bytes) -> bytes:
        if answer.startswith(b"\x68") and state["first"]:
            state["first"] = False
            return answer[:-2] + bytes(((answer[-2] + 1) & 0xFF,)) + answer[-1:]
        return answer

    bus = bus_for(meter(pages=2), tamper=corrupt_once)
    assert values(bus.read(5)) == [1, 2]


def test_echoing_converter_is_handled() -> None:
    bus = bus_for(meter(pages=2), echo=True)
    assert values(bus.read(5)) == [1, 2]
    assert bus.master.echo_detected
    assert [found.primary for found in bus.scan_primary(range(8))] == [5]


def test_collision_on_a_primary_address_is_an_error() -> None:
    bus = bus_for(meter("11111111"), meter("22222222"))  # both at primary 5
    with pytest.raises(mbus.CollisionError):
        bus.read(5)


def test_read_all_reports_each_meter() -> None:
    bus = bus_for(meter("11111111", primary=1), meter("22222222", primary=2, pages=2))
    entries = bus.read_all([1, 2, 3])
    assert [entry.error is None for entry in entries] == [True, True, False]
    assert entries[1].reading is not None and values(entries[1].reading) == [1, 2]
    assert isinstance(entries[2].error, mbus.NoAnswerError)
    assert entries[2].to_dict()["meter"] == 3


def test_set_primary_address_and_reset_by_secondary_address() -> None:
    slave = meter(primary=0)
    bus = bus_for(slave)
    bus.set_primary_address(slave.secondary, 42)
    assert slave.primary == 42
    bus.reset(42, subcode=0x10)
    assert slave.next_event() == mbus.AddressChanged(old=0, new=42)
    assert slave.next_event() == mbus.ApplicationResetReceived(subcode=0x10)
    bus.set_baud_rate(42, 9600)
    assert slave.baud == 9600
    with pytest.raises(mbus.NoAnswerError):  # the slave now listens at 9600
        bus.ping(42)


def test_assign_addresses_skips_taken_addresses_and_verifies() -> None:
    first, second = meter("11111111", primary=0), meter("22222222", primary=0)
    taken = meter("33333333", primary=1)
    bus = bus_for(first, second, taken)
    assignments = bus.assign_addresses([first.secondary, second.secondary,
                                        SecondaryAddress.parse("4444444424232504")])
    assert [a.primary for a in assignments[:2]] == [2, 3]
    assert (first.primary, second.primary, taken.primary) == (2, 3, 1)
    assert isinstance(assignments[2].error, mbus.NoMeterError)
    assert assignments[0].to_dict() == {"secondary": str(first.secondary), "primary": 2}


def test_primary_scan_finds_meters_and_flags_collisions() -> None:
    bus = bus_for(meter("11111111", primary=1), meter("22222222", primary=3),
                  meter("33333333", primary=3))
    found = bus.scan_primary(range(6), verify=True)
    assert [(f.primary, f.collision) for f in found] == [(1, False), (3, True)]
    assert [f.to_dict() for f in found] == [{"primary": 1}, {"primary": 3, "collision": True}]


def test_progress_events_are_reported() -> None:
    events: list[Any] = []
    bus = bus_for(meter(primary=2))
    bus.on_progress = events.append
    bus.scan_primary(range(4))
    assert [e.probes for e in events] == [1, 2, 3, 4]
    assert events[-1].found == 1


def test_silent_answer_during_a_read_is_asked_again() -> None:
    # The meter acknowledged the reset, so silence to REQ_UD2 is a lost frame: repeat it.
    state = {"dropped": False}

    def drop_first_rsp(request: bytes, answer: bytes) -> bytes:
        if answer.startswith(b"\x68") and not state["dropped"]:
            state["dropped"] = True
            return b""
        return answer

    bus = bus_for(meter(pages=2), tamper=drop_first_rsp)
    assert values(bus.read(5)) == [1, 2]
    assert state["dropped"]


def test_send_records_reaches_the_slave() -> None:
    slave = meter()
    bus = bus_for(slave)
    record = build_record(0x13, 9, from_master=True)
    bus.send_records(5, [record])
    event = slave.next_event()
    assert isinstance(event, mbus.DataReceived)
    assert event.records[0].value == 9


def test_procedures_validate_their_arguments() -> None:
    with pytest.raises(mbus.AddressError):
        PrimaryScan([251])
    with pytest.raises(mbus.AddressError):
        AssignAddresses([SecondaryAddress.parse("1234FFFFFFFFFFFF")])
    with pytest.raises(mbus.AddressError):
        mbus.procedures.set_primary_address(5, 253)
    with pytest.raises(mbus.AddressError):
        SecondaryAddress.parse("xyz")
    with pytest.raises(mbus.AddressError):
        SecondaryAddress(id="1234567", manufacturer=0)


def test_secondary_address_text_form_and_wildcards() -> None:
    # 16 hex digits as libmbus prints them: ID, manufacturer (low byte first), version, medium
    address = SecondaryAddress.parse("1234567824232504")
    assert address.encode() == bytes.fromhex("78563412" "2423" "25" "04")
    assert address.manufacturer_name == "HYD"
    assert SecondaryAddress.parse("12345") == SecondaryAddress.parse("12345FFFFFFFFFFF")
    mask = SecondaryAddress.parse("12F4F678FFFFFFFF")
    assert mask.has_wildcards and not address.has_wildcards
    assert mask.matches(address)
    assert not SecondaryAddress.parse("12345678FFFF2505").matches(address)
    assert not SecondaryAddress.parse("12345678FFFF2604").matches(address)
    assert mbus.procedures.parse_meter("5") == 5
    assert mbus.procedures.parse_meter("1234567824232504") == address


def test_class_1_data_is_e5_or_an_alarm_telegram() -> None:
    slave = meter()
    bus = bus_for(slave)
    assert bus.read_class1(5) is None
    slave.alarm = 0x02
    telegram = bus.read_class1(slave.secondary)
    assert telegram is not None and telegram.alarm == 0x02
