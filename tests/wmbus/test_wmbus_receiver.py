"""Sans-IO receiver: duplicate suppression, last seen, failures as events."""

from __future__ import annotations

import mbus
import wmbus

RECORDS = [mbus.build_record(0x13, 1234)]


def _frame(ident: str = "12345678", access: int = 1, **kw: object) -> bytes:
    return wmbus.build_telegram(manufacturer="KAM", id=ident, records=RECORDS,
                                access_number=access, **kw)  # type: ignore[arg-type]


def test_duplicates_within_the_window_are_dropped() -> None:
    receiver = wmbus.Receiver(duplicate_window=10.0, report_duplicates=True)
    receiver.receive_frame(_frame(), time=100.0, rssi=-70)
    receiver.receive_frame(_frame(), time=103.0)  # heard again via a second receiver
    receiver.receive_frame(_frame(), time=111.0)  # the window has passed: new
    events = receiver.events()
    assert [type(e).__name__ for e in events] == ["TelegramReceived", "DuplicateSuppressed",
                                                  "TelegramReceived"]
    first = events[0]
    assert isinstance(first, wmbus.TelegramReceived) and first.rssi == -70
    duplicate = events[1]
    assert isinstance(duplicate, wmbus.DuplicateSuppressed) and duplicate.age == 3.0
    assert receiver.next_event() is wmbus.NEED_DATA


def test_repeated_frame_with_repeater_bits_is_a_duplicate() -> None:
    receiver = wmbus.Receiver()
    receiver.receive_frame(_frame(ell="short", ell_cc=0x20), time=0.0)
    receiver.receive_frame(_frame(ell="short", ell_cc=0x32), time=1.0)  # H and R bits set
    assert len(receiver.events()) == 1


def test_new_access_number_is_a_new_telegram() -> None:
    receiver = wmbus.Receiver()
    receiver.receive_frame(_frame(access=1), time=0.0)
    receiver.receive_frame(_frame(access=2), time=1.0)
    assert len(receiver.events()) == 2


def test_last_seen_and_silent_meters() -> None:
    receiver = wmbus.Receiver()
    receiver.receive_frame(_frame("1"), time=0.0)
    receiver.receive_frame(_frame("2"), time=50.0)
    assert receiver.last_seen == {"KAM.00000001": 0.0, "KAM.00000002": 50.0}
    assert receiver.silent_meters(now=100.0, timeout=60.0) == ["KAM.00000001"]


def test_failures_are_events() -> None:
    receiver = wmbus.Receiver()
    receiver.receive_frame(_frame(mode=5, key=bytes(16)), time=0.0)  # no key in the store
    receiver.receive_frame(b"\x05\x44", time=1.0)
    failed, garbage = receiver.events()
    assert isinstance(failed, wmbus.TelegramFailed) and failed.meter == "KAM.12345678"
    assert failed.error_type == "KeyMissingError"
    assert isinstance(garbage, wmbus.TelegramFailed) and garbage.error_type == "LinkError"
    assert failed.to_dict()["event"] == "failed"
    assert receiver.last_seen == {}  # a frame that failed does not prove the meter alive


def test_bytes_through_a_codec() -> None:
    receiver = wmbus.Receiver(codec=wmbus.HexLineCodec())
    stream = b"# capture\n" + wmbus.HexLineCodec.encode(_frame())
    for byte in stream:
        receiver.receive_data(bytes((byte,)), time=5.0)
    noise, received = receiver.events()
    assert isinstance(noise, wmbus.NoiseSkipped)
    assert isinstance(received, wmbus.TelegramReceived)
    assert received.telegram.records[0].value == RECORDS[0].value


def test_bounded_memory() -> None:
    receiver = wmbus.Receiver(max_remembered=3)
    for access in range(10):
        receiver.receive_frame(_frame(access=access), time=0.0)
    assert len(receiver._recent) == 3
