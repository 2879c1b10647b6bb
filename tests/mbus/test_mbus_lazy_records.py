"""A decoded telegram makes its Record objects when ``records`` is first read."""

from __future__ import annotations

import copy
import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

import mbus
import mbus.records
from mbus._telegram import _stored_records


def _frame() -> bytes:
    data = bytes.fromhex("785634122440010755000000" "0413e8030000" "026c5f2c"
                         "0c0678563412" "0f0102")
    return mbus.LongFrame(c=0x08, a=1, ci=0x72, data=data).encode()


def test_records_are_records_equal_to_decode_records() -> None:
    raw = _frame()
    telegram = mbus.decode(raw)
    expected = mbus.records.decode_records(raw[7:-2], 12, base_offset=7)
    assert type(telegram.records) is tuple
    assert all(type(record) is mbus.Record for record in telegram.records)
    assert telegram.records == expected
    assert telegram.records is telegram.records  # made once, then kept
    assert [r.quantity for r in telegram.records] == ["volume", "date", "energy",
                                                      "manufacturer_data"]


def test_to_dict_is_the_same_before_and_after_reading_records() -> None:
    raw = _frame()
    fresh = mbus.decode(raw)
    before = fresh.to_dict()
    assert isinstance(_stored_records(fresh), mbus.records.PendingRecords)  # to_dict made none
    _ = fresh.records
    assert not isinstance(_stored_records(fresh), mbus.records.PendingRecords)
    assert fresh.to_dict() == before
    assert before["records"] == [record.to_dict() for record in fresh.records]


def test_equality_hash_repr_copy_and_replace_see_records() -> None:
    raw = _frame()
    first, second = mbus.decode(raw), mbus.decode(raw)
    assert first == second and hash(first) == hash(second)
    third = mbus.decode(raw)
    assert "Record(shape=" in repr(third)
    assert dataclasses.replace(mbus.decode(raw)).records == first.records
    assert copy.copy(mbus.decode(raw)).records == first.records


def test_a_telegram_built_with_records_keeps_them() -> None:
    records = mbus.decode(_frame()).records
    telegram = mbus.Telegram(frame=mbus.decode(_frame()).frame, records=records[:2])
    assert telegram.records == records[:2]
    assert len(telegram.to_dict()["records"]) == 2


def test_scan_records_gives_the_pairs_of_decode_records() -> None:
    raw = _frame()
    pairs = mbus.records.scan_records(raw[7:-2], 12)
    assert isinstance(pairs, mbus.records.PendingRecords)
    assert [tuple(record) for record in mbus.records.decode_records(raw[7:-2], 12)] == list(pairs)


# Whole records of several kinds (numbers, BCD, dates, extensions, text, REAL32, flags).
_RECORDS = [bytes.fromhex(h) for h in (
    "0413e8030000", "026c5f2c", "046d3b17e0ec", "0c0678563412", "04fb827500000080",
    "8c10139910f012", "0dfd0e03414243", "053e0000803f", "01fd1701", "0c1345a2ff00", "2f")]
_BODIES = st.lists(st.sampled_from(_RECORDS) | st.binary(max_size=4), max_size=8).map(b"".join)


@settings(max_examples=300)
@given(ci=st.sampled_from([0x72, 0x7A, 0x78, 0x76]), body=_BODIES,
       manufacturer=st.none() | st.binary(max_size=5))
def test_to_dict_of_pending_and_made_records_agree(ci: int, body: bytes,
                                                   manufacturer: bytes | None) -> None:
    header = {0x72: bytes.fromhex("785634122440010755000000"), 0x76: bytes(12),
              0x7A: bytes(4), 0x78: b""}[ci]
    if manufacturer is not None:
        body += b"\x0f" + manufacturer
    raw = mbus.LongFrame(c=0x08, a=1, ci=ci, data=header + body).encode()
    try:
        pending = mbus.decode(raw)
    except mbus.MBusError:
        return
    before = pending.to_dict()
    made = mbus.decode(raw)
    records = made.records
    assert made.to_dict() == before
    assert before["records"] == [record.to_dict() for record in records]


def test_with_meter_gives_a_new_telegram_and_leaves_its_argument() -> None:
    frame = mbus.decode_frame(_frame())
    assert isinstance(frame, mbus.LongFrame)
    plain = mbus.records.decode_application(frame)
    assert plain.meter is None and "meter" not in plain.to_dict()
    named = mbus.records.with_meter(plain, mbus.records.meter_profiles(True))
    assert named is not plain
    assert plain.meter is None and "meter" not in plain.to_dict()  # unchanged
    assert isinstance(_stored_records(named), mbus.records.PendingRecords)  # no Records made
    assert named == plain  # meter takes no part in comparisons
    assert named.to_dict()["meter"] == mbus.decode(_frame()).to_dict()["meter"]
    assert named.to_dict()["meter"]["fields"]["volume_m3"] == 1.0
    assert mbus.records.decode_application(frame, profiles=True).to_dict() == named.to_dict()
