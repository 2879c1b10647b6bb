"""Secondary search on simulated segments: collisions as AND, parity drops, odd meters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mbus
import mbus.procedures
import mbus.records
from mbus import Bus, SecondaryAddress, Slave, build_record
from mbus.sim import Segment, SimulatedPort, random_meters


def found_addresses(result: mbus.SearchResult) -> set[SecondaryAddress]:
    return {meter.address for meter in result.meters}


def meter(text: str, primary: int = 0, value: int = 1) -> Slave:
    return Slave(SecondaryAddress.parse(text), [[build_record(0x13, value)]], primary=primary)


@pytest.mark.parametrize(("count", "clustered", "drop"), [
    (250, True, False), (250, True, True), (100, False, False), (100, False, True)])
def test_search_finds_all_meters(count: int, clustered: bool, drop: bool) -> None:
    slaves = random_meters(count, seed=3, clustered=clustered)
    bus = Bus(SimulatedPort(Segment(slaves, drop_parity_errors=drop)))
    result = bus.scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in slaves}
    assert result.unresolved == ()
    primaries = {meter.address: meter.primary for meter in result.meters}
    assert all(primaries[slave.secondary] == slave.primary for slave in slaves)


def test_ids_sharing_all_but_the_last_digit() -> None:
    slaves = [meter(f"1234567{digit}24232504", value=digit) for digit in range(10)]
    result = Bus(SimulatedPort(Segment(slaves, drop_parity_errors=True))).scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in slaves}


def test_empty_and_single_meter_segments() -> None:
    assert Bus(SimulatedPort(Segment([]))).scan_secondary().meters == ()
    bus = Bus(SimulatedPort(Segment([meter("0000000124232504")])))
    result = bus.scan_secondary()
    assert [str(m.address) for m in result.meters] == ["0000000124232504"]
    # root probe and read, confirmation (select + read), the root selected and read again
    assert bus.master.requests_sent == 6


def test_same_id_version_and_medium_different_manufacturer_are_told_apart() -> None:
    kam = mbus.records.encode_manufacturer("KAM")
    slaves = [meter("1111111124232504"),
              Slave(SecondaryAddress(id="11111111", manufacturer=kam, version=0x25, medium=4),
                    [[build_record(0x13, 2)]])]
    result = Bus(SimulatedPort(Segment(slaves))).scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in slaves}


def test_same_id_different_medium_and_version_are_told_apart() -> None:
    slaves = [meter("1111111124232504"), meter("1111111124232507"),
              meter("1111111124232604"), meter("2222222224232504")]
    result = Bus(SimulatedPort(Segment(slaves))).scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in slaves}


def test_non_bcd_digits_and_f_nibbles_are_found() -> None:
    slaves = [meter("1234ABCD24232504"), meter("1234ABCE24232504"), meter("9999999024232504")]
    result = Bus(SimulatedPort(Segment(slaves))).scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in slaves}
    # An F nibble is only selected by the wildcard itself: found where the BCD and A-E
    # digits do not explain the collision.
    slaves = [meter("9999999F24232504"), meter("1234567824232504")]
    result = Bus(SimulatedPort(Segment(slaves))).scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in slaves}


class DeadSlave(Slave):
    """Acknowledges selections but never sends data."""

    def handle_frame(self, frame: mbus.Frame) -> bytes:
        answer = super().handle_frame(frame)
        return answer if answer == b"\xe5" else b""


def test_dead_meter_is_reported_unresolved_and_others_are_found() -> None:
    dead = DeadSlave(SecondaryAddress.parse("5555555524232504"), [[]])
    alive = [meter("5555555424232504"), meter("1234567824232504")]
    result = Bus(SimulatedPort(Segment([dead, *alive]))).scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in alive}
    assert [u.mask.id for u in result.unresolved] == ["55555555"]
    assert "no data" in result.unresolved[0].reason


def test_collision_with_valid_checksum_and_made_up_id_is_not_accepted() -> None:
    # The AND of several answers can carry a valid checksum and an ID nobody has
    # (x AND 0 = 0). Replace every garbled answer to a wildcard read by such a frame.
    fake = mbus.build_telegram(address=0, header=mbus.Header(
        id="10000000", manufacturer="HYD", version=0x25, medium=4, access_number=0,
        status=0)).encode()
    slaves = [meter("1000000124232504"), meter("1000001024232504"), meter("1000010024232504")]

    def forge(request: bytes, answer: bytes) -> bytes:
        if answer.startswith(b"\x68"):
            try:
                mbus.decode(answer)
            except mbus.DecodeError:
                return fake
        return answer

    bus = Bus(SimulatedPort(Segment(slaves), tamper=forge))
    result = bus.scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in slaves}
    assert SecondaryAddress.parse("1000000024232504") not in found_addresses(result)


def test_filters_restrict_the_search() -> None:
    slaves = [meter("1111111124232504"), meter("2222222224232507"),
              meter("3333333324232507")]
    result = Bus(SimulatedPort(Segment(slaves))).scan_secondary(medium=0x07)
    assert {m.address.id for m in result.meters} == {"22222222", "33333333"}
    result = Bus(SimulatedPort(Segment(slaves))).scan_secondary(
        SecondaryAddress.parse("1FFFFFFFFFFFFFFF"))
    assert {m.address.id for m in result.meters} == {"11111111"}


def test_search_reports_progress_and_json() -> None:
    events: list[object] = []
    bus = Bus(SimulatedPort(Segment([meter("1234567824232504", primary=7)])),
              on_progress=events.append)
    result = bus.scan_secondary()
    assert any(isinstance(e, mbus.procedures.MeterFound) for e in events)
    # the root probe, and the root selected again after the confirmation
    assert [e.probes for e in events if isinstance(e, mbus.procedures.SearchProgress)] == [1, 2]
    assert result.meters[0].to_dict() == {
        "secondary": "1234567824232504", "id": "12345678", "manufacturer": "HYD",
        "version": 0x25, "medium": "heat", "primary": 7}


def test_libmbus_failure_modes_do_not_apply() -> None:
    # "E5 then no complete answer" is someone, not nobody: with parity-broken bytes
    # dropped every collision arrives truncated, and all meters are still found.
    slaves = random_meters(60, seed=11, clustered=True)
    result = Bus(SimulatedPort(Segment(slaves, drop_parity_errors=True))).scan_secondary()
    assert len(result.meters) == 60


def test_search_through_an_echoing_converter() -> None:
    slaves = random_meters(30, seed=4, clustered=True)
    bus = Bus(SimulatedPort(Segment(slaves, drop_parity_errors=True), echo=True))
    result = bus.scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in slaves}
    assert bus.master.echo_detected


def test_meters_at_another_baud_rate_are_not_heard() -> None:
    slaves = random_meters(3, seed=4, baud=9600)
    assert Bus(SimulatedPort(Segment(slaves))).scan_secondary().meters == ()
    bus = Bus(SimulatedPort(Segment(slaves, baud=9600)), baud=9600)
    assert len(bus.scan_secondary().meters) == 3


def crowded_segment(ids: set[str], media: list[int]) -> list[Slave]:
    slaves = [Slave(SecondaryAddress(id=ident, manufacturer=0x2324, version=0x25,
                                     medium=medium), [[build_record(0x13, index)]])
              for index, (ident, medium) in enumerate(zip(sorted(ids), media, strict=False))]
    # a twin: same ID, another medium
    first = slaves[0].secondary
    slaves.append(Slave(SecondaryAddress(id=first.id, manufacturer=first.manufacturer,
                                         version=first.version, medium=0x06), [[]]))
    return slaves


# Found by hypothesis: under FFFFFFF1 the answers of 00000001 and 10102991 AND to a frame
# with a valid checksum and ID 00000001 (a real meter, so it was confirmed).
LOST_BEHIND_A_REAL_ID: tuple[set[str], list[int]] = (
    {"00000000", "00000001", "00000002", "00000009", "00000010", "00000020", "00000100",
     "10102991"}, [4] * 12)


@settings(max_examples=60, deadline=None)
@given(ids=st.sets(st.text(alphabet="0129", min_size=8, max_size=8), min_size=1, max_size=12),
       media=st.lists(st.sampled_from([4, 7]), min_size=12, max_size=12),
       drop=st.booleans())
@example(ids=LOST_BEHIND_A_REAL_ID[0], media=LOST_BEHIND_A_REAL_ID[1], drop=False)
def test_search_finds_every_meter_of_small_crowded_segments(ids: set[str], media: list[int],
                                                           drop: bool) -> None:
    slaves = crowded_segment(ids, media)
    result = Bus(SimulatedPort(Segment(slaves, drop_parity_errors=drop))).scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in slaves}
    assert result.unresolved == ()


def test_collision_that_reads_as_another_real_meter_is_narrowed() -> None:
    want = {slave.secondary for slave in crowded_segment(*LOST_BEHIND_A_REAL_ID)}
    assert SecondaryAddress.parse("1010299124232504") in want
    segment = Segment(crowded_segment(*LOST_BEHIND_A_REAL_ID), drop_parity_errors=False)
    result = Bus(SimulatedPort(segment)).scan_secondary()
    assert found_addresses(result) == want
    assert result.unresolved == ()

    async def scan() -> mbus.SearchResult:
        segment = Segment(crowded_segment(*LOST_BEHIND_A_REAL_ID), drop_parity_errors=False)
        return await mbus.AsyncBus(SimulatedPort(segment).awaitable()).scan_secondary()

    in_async = asyncio.run(scan())
    assert found_addresses(in_async) == want
    assert in_async.unresolved == ()
    assert in_async.probes == result.probes


@pytest.mark.parametrize("ids", [("00000001", "00000005"), ("00000001", "00000011"),
                                 ("00000003", "00000013"), ("00000000", "00000010")])
@pytest.mark.parametrize("drop", [False, True])
def test_meter_whose_frame_hides_behind_its_twins(ids: tuple[str, str], drop: bool) -> None:
    # Same readout, IDs whose bits cover one another: the AND of both answers is exactly
    # the frame of the first meter, valid checksum included.
    slaves = [meter(f"{ident}24232504", value=0) for ident in ids]
    twin = Slave(SecondaryAddress.parse(f"{ids[0]}24232506"), [[build_record(0x13, 0)]])
    for segment in (slaves, [slaves[0], twin]):
        result = Bus(SimulatedPort(Segment(segment, drop_parity_errors=drop))).scan_secondary()
        assert found_addresses(result) == {slave.secondary for slave in segment}
        assert result.unresolved == ()


def test_lost_acknowledgement_is_recovered_when_silence_is_rechecked() -> None:
    # With two meters the search notices that the collision stays unexplained and finds
    # the hidden one anyway; with three, the other two explain the collision.
    slaves = [meter("1111111124232504"), meter("2222222224232504"), meter("3333333324232504")]
    target = mbus.procedures.select(SecondaryAddress.parse("FFFFFFF2FFFFFFFF")).encode()

    def make_tamper() -> Callable[[bytes, bytes], bytes]:
        lost = {"done": False}

        def tamper(request: bytes, answer: bytes) -> bytes:
            if request == target and not lost["done"]:
                lost["done"] = True
                return b""  # the E5 is lost once
            return answer
        return tamper

    plain = Bus(SimulatedPort(Segment(slaves), tamper=make_tamper())).scan_secondary()
    assert len(plain.meters) == 2  # silence is taken as clean: the meter is missed
    rechecked = Bus(SimulatedPort(Segment(slaves), tamper=make_tamper())).scan_secondary(
        recheck_silence=True)
    assert found_addresses(rechecked) == {slave.secondary for slave in slaves}


def test_one_lost_acknowledgement_among_two_is_recovered_without_rechecks() -> None:
    slaves = [meter("1111111124232504"), meter("2222222224232504")]
    target = mbus.procedures.select(SecondaryAddress.parse("FFFFFFF2FFFFFFFF")).encode()
    lost = {"done": False}

    def tamper(request: bytes, answer: bytes) -> bytes:
        if request == target and not lost["done"]:
            lost["done"] = True
            return b""
        return answer

    result = Bus(SimulatedPort(Segment(slaves), tamper=tamper)).scan_secondary()
    assert found_addresses(result) == {slave.secondary for slave in slaves}


class LiveMeter(Slave):
    """Its readout changes at every read (an instantaneous value)."""

    def handle_frame(self, frame: mbus.Frame) -> bytes:
        answer = super().handle_frame(frame)
        if len(answer) > 1:
            self.set_pages([[build_record(0x13, 7 * self.access_number)]])
        return answer


class UncountedMeter(Slave):
    """Sends the same access number in every telegram."""

    def handle_frame(self, frame: mbus.Frame) -> bytes:
        answer = super().handle_frame(frame)
        self.access_number = 0
        return answer


@pytest.mark.parametrize("kind", [LiveMeter, UncountedMeter])
def test_live_and_uncounted_meters_cost_no_narrowing(kind: type[Slave]) -> None:
    # The recheck looks at the header and access number only; a meter that does not
    # count its telegrams gives it nothing to check and is taken as found alone.
    addresses = [slave.secondary for slave in random_meters(50, seed=2, clustered=True)]
    plain = Bus(SimulatedPort(Segment([meter(str(a)) for a in addresses]))).scan_secondary()
    odd = [kind(address, [[build_record(0x13, 5)]]) for address in addresses]
    result = Bus(SimulatedPort(Segment(odd))).scan_secondary()
    assert found_addresses(result) == set(addresses)
    assert result.unresolved == ()
    assert result.probes <= plain.probes
