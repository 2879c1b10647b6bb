"""The sans-IO slave against the rules of EN 13757-2:2018 5.5 and EN 13757-3:2018 11."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

import mbus
import mbus.procedures
from mbus import SecondaryAddress, Slave, build_record, decode
from mbus.procedures import req_ud2, select

ADDRESS = SecondaryAddress.parse("1234567824232504")


def make_slave(pages: int = 1, primary: int = 5) -> Slave:
    return Slave(ADDRESS, [[build_record(0x13, page + 1)] for page in range(pages)],
                 primary=primary)


def send(slave: Slave, request: mbus.procedures.Request, fcb: bool = False) -> bytes:
    return slave.receive_data(request.encode(fcb))


def test_snd_nke_to_own_address_is_acknowledged_others_are_ignored() -> None:
    slave = make_slave()
    assert send(slave, mbus.procedures.snd_nke(5)) == b"\xe5"
    assert send(slave, mbus.procedures.snd_nke(6)) == b""
    assert send(slave, mbus.procedures.snd_nke(255)) == b""  # broadcast without reply


def test_req_ud2_answers_rsp_ud_with_long_header_and_records() -> None:
    slave = make_slave()
    telegram = decode(send(slave, mbus.procedures.req_ud2(5), fcb=True))
    assert isinstance(telegram.frame, mbus.LongFrame)
    assert telegram.frame.control.function == "RSP_UD"
    assert telegram.ci == 0x72
    assert telegram.header is not None
    assert SecondaryAddress.from_header(telegram.header) == ADDRESS
    assert [r.value for r in telegram.records] == [1]


def test_same_fcb_repeats_the_last_answer_toggled_fcb_moves_on() -> None:
    slave = make_slave(pages=3)
    send(slave, mbus.procedures.snd_nke(5))
    first = send(slave, mbus.procedures.req_ud2(5), fcb=True)
    assert decode(first).more_records_follow
    assert send(slave, mbus.procedures.req_ud2(5), fcb=True) == first  # repeat: same bytes
    second = decode(send(slave, mbus.procedures.req_ud2(5), fcb=False))
    assert [r.value for r in second.records if r.function != "more_records_follow"] == [2]
    third = decode(send(slave, mbus.procedures.req_ud2(5), fcb=True))
    assert not third.more_records_follow
    assert [r.value for r in third.records] == [3]
    # after the last page the readout starts again
    again = decode(send(slave, mbus.procedures.req_ud2(5), fcb=False))
    assert [r.value for r in again.records if r.function != "more_records_follow"] == [1]


def test_snd_nke_resets_fcb_so_the_first_request_is_always_new() -> None:
    slave = make_slave(pages=3)
    send(slave, mbus.procedures.snd_nke(5))
    send(slave, mbus.procedures.req_ud2(5), fcb=True)
    send(slave, mbus.procedures.snd_nke(5))
    # the same FCB as before the reset is a new request: page 1 again, not a repeat
    page = decode(send(slave, mbus.procedures.req_ud2(5), fcb=True))
    assert [r.value for r in page.records if r.function != "more_records_follow"] == [1]


def test_selection_with_wildcards_and_deselection() -> None:
    slave = make_slave()
    assert send(slave, select(SecondaryAddress.parse("12FFFFFFFFFFFFFF"))) == b"\xe5"
    assert slave.selected
    assert decode(send(slave, mbus.procedures.req_ud2(253), fcb=True)).header is not None
    # a non-matching selection deselects silently
    assert send(slave, mbus.procedures.select(SecondaryAddress.parse("13FFFFFFFFFFFFFF"))) == b""
    assert not slave.selected
    assert send(slave, mbus.procedures.req_ud2(253), fcb=False) == b""
    send(slave, mbus.procedures.select(ADDRESS))
    assert send(slave, mbus.procedures.deselect()) == b"\xe5"
    assert not slave.selected


def test_wildcards_only_whole_bytes_for_manufacturer_version_medium() -> None:
    slave = make_slave()
    # medium 0x05 differs from the meter's 0x04: not selected
    assert send(slave, mbus.procedures.select(SecondaryAddress.parse("12345678FFFFFF05"))) == b""
    assert send(slave, select(SecondaryAddress.parse("12345678FFFF2504"))) == b"\xe5"


def test_set_primary_address_via_vif_7a() -> None:
    slave = make_slave()
    assert send(slave, mbus.procedures.set_primary_address(5, 17), fcb=True) == b"\xe5"
    assert slave.primary == 17
    assert slave.next_event() == mbus.AddressChanged(old=5, new=17)
    assert send(slave, mbus.procedures.snd_nke(17)) == b"\xe5"


def test_repeated_snd_ud_is_acknowledged_but_executed_once() -> None:
    slave = make_slave()
    send(slave, mbus.procedures.snd_nke(5))
    send(slave, mbus.procedures.application_reset(5, 0x10), fcb=True)
    send(slave, mbus.procedures.application_reset(5, 0x10), fcb=True)
    assert slave.next_event() == mbus.ApplicationResetReceived(subcode=0x10)
    assert slave.next_event() is None


def test_baud_change_is_acknowledged_then_applied() -> None:
    slave = make_slave()
    assert send(slave, mbus.procedures.set_baud_rate(5, 9600), fcb=True) == b"\xe5"
    assert slave.baud == 9600


def test_req_ud1_without_alarm_is_e5_with_alarm_is_ci_71() -> None:
    slave = make_slave()
    assert send(slave, mbus.procedures.req_ud1(5), fcb=True) == b"\xe5"
    slave.alarm = 3
    assert decode(send(slave, mbus.procedures.req_ud1(5), fcb=False)).alarm == 3


def test_from_telegrams_serves_given_telegrams() -> None:
    header = mbus.Header(id="87654321", manufacturer="KAM", version=1, medium=7,
                         access_number=3, status=0)
    telegrams = [mbus.build_telegram(address=0, header=header,
                                     records=[build_record(0x13, 1)], more_records_follow=True),
                 mbus.build_telegram(address=0, header=header, records=[build_record(0x13, 2)])]
    slave = Slave.from_telegrams(telegrams, primary=9)
    assert slave.secondary == SecondaryAddress.parse("876543212D2C0107")
    first = decode(send(slave, mbus.procedures.req_ud2(9), fcb=True))
    second = decode(send(slave, mbus.procedures.req_ud2(9), fcb=False))
    assert first.records == telegrams[0].records
    assert second.records == telegrams[1].records


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=30), max_size=6))
@example([b"h", b"h", b"h", b"h"])  # the start of a long frame that never ends
def test_arbitrary_bytes_never_break_the_slave(chunks: list[bytes]) -> None:
    slave = make_slave(pages=2)
    for chunk in chunks:
        answer = slave.receive_data(chunk)
        if answer:
            decode(answer)  # whatever it answers is a valid frame
    # After an idle line (which ends any partial frame) the slave still answers.
    slave.reset_link()
    assert send(slave, mbus.procedures.snd_nke(slave.primary)) == b"\xe5"


def test_set_telegrams_replaces_the_readout() -> None:
    header = mbus.Header(id="87654321", manufacturer="KAM", version=1, medium=7,
                         access_number=0, status=0)
    slave = Slave.from_telegrams([mbus.build_telegram(address=0, header=header,
                                                      records=[build_record(0x13, 1)])])
    slave.set_telegrams([mbus.build_telegram(address=0, header=header,
                                             records=[build_record(0x13, 2)])])
    assert [r.value for r in decode(send(slave, req_ud2(0), fcb=True)).records] == [2]
