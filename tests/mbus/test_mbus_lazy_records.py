"""A decoded telegram makes its Record objects when ``records`` is first read."""

from __future__ import annotations

import copy
import dataclasses

import mbus
from mbus._telegram import _stored_records


def _frame() -> bytes:
    data = bytes.fromhex("785634122440010755000000" "0413e8030000" "026c5f2c"
                         "0c0678563412" "0f0102")
    return mbus.LongFrame(c=0x08, a=1, ci=0x72, data=data).encode()


def test_records_are_records_equal_to_decode_records() -> None:
    raw = _frame()
    telegram = mbus.decode(raw)
    expected = mbus.decode_records(raw[7:-2], 12, base_offset=7)
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
    assert isinstance(_stored_records(fresh), mbus.PendingRecords)  # to_dict made none
    _ = fresh.records
    assert not isinstance(_stored_records(fresh), mbus.PendingRecords)
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
    pairs = mbus.scan_records(raw[7:-2], 12)
    assert isinstance(pairs, mbus.PendingRecords)
    assert [tuple(record) for record in mbus.decode_records(raw[7:-2], 12)] == list(pairs)
