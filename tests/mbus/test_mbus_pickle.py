"""Decoded telegrams are plain data: picklable, equal when equal, immutable from outside."""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
from typing import Any

import pytest

import mbus
import mbus.records
import wmbus

from .corpus import LIBMBUS, WMBUS, hex_bytes, libmbus_files, require, wmbus_lines


def _libmbus_frames() -> list[bytes]:
    return [hex_bytes(path) for path in libmbus_files("test-frames")]


def _wmbus_items() -> list[tuple[bytes, bytes | None]]:
    out = []
    for line in wmbus_lines():
        key = line.get("key", "NOKEY")
        out.append((bytes.fromhex(line["telegram"]),
                    None if key == "NOKEY" else bytes.fromhex(key)))
    return out


def _wmbus_telegrams() -> list[Any]:
    decoder = wmbus.Decoder()
    telegrams = []
    for data, key in _wmbus_items():
        try:
            telegrams.append(decoder.decode(data, key))
        except (wmbus.WMBusError, mbus.MBusError):
            continue
    return telegrams


def test_every_libmbus_telegram_survives_a_pickle_round_trip() -> None:
    frames = _libmbus_frames()
    require(LIBMBUS / "test-frames")
    assert len(frames) == 76
    for frame in frames:
        telegram = mbus.decode(frame)
        copy = pickle.loads(pickle.dumps(telegram))
        assert copy == telegram
        assert copy.to_dict() == telegram.to_dict()
        assert copy.records == telegram.records
        assert [r.value for r in copy.records] == [r.value for r in telegram.records]


def test_every_wmbus_corpus_telegram_survives_a_pickle_round_trip() -> None:
    require(WMBUS)
    telegrams = _wmbus_telegrams()
    assert len(telegrams) > 250
    for telegram in telegrams:
        expected = telegram.to_dict()
        copy = pickle.loads(pickle.dumps(telegram))
        assert copy == telegram
        assert copy.to_dict() == expected
        assert hash(copy.header) == hash(telegram.header)


def _libmbus_dicts(frames: list[bytes]) -> list[dict[str, Any]]:
    return [mbus.decode(frame).to_dict() for frame in frames]


def _wmbus_dicts(items: list[tuple[bytes, bytes | None]]) -> list[dict[str, Any] | str]:
    decoder = wmbus.Decoder()
    out: list[dict[str, Any] | str] = []
    for data, key in items:
        try:
            out.append(decoder.decode(data, key).to_dict())
        except (wmbus.WMBusError, mbus.MBusError) as exc:
            out.append(type(exc).__name__)
    return out


def _decode_in_pool(data: bytes) -> mbus.Telegram:
    return mbus.decode(data)


def test_a_process_pool_decodes_as_this_process_does() -> None:
    frames = _libmbus_frames()
    require(LIBMBUS / "test-frames")
    items = _wmbus_items()
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: empty shape caches
    with context.Pool(2) as pool:
        libmbus_dicts = pool.apply(_libmbus_dicts, (frames,))
        wmbus_dicts = pool.apply(_wmbus_dicts, (items,))
        telegrams = pool.map(_decode_in_pool, frames)  # Telegrams pickled back to us
    assert libmbus_dicts == _libmbus_dicts(frames)
    assert wmbus_dicts == _wmbus_dicts(items)
    assert telegrams == [mbus.decode(frame) for frame in frames]
    assert [t.to_dict() for t in telegrams] == libmbus_dicts


RECORDS = bytes.fromhex("04fb8275") + bytes(4) + bytes.fromhex("0c13") + bytes.fromhex("4a012300")


def test_nothing_reachable_from_a_record_changes_later_dicts() -> None:
    # Records, shapes, headers and telegrams refuse assignment; the dicts they give are new
    # objects, so editing one (its lists too) leaves the next records' dicts as they were.
    expected = [record.to_dict() for record in mbus.records.decode_records(RECORDS)]
    for record in mbus.records.decode_records(RECORDS):
        for target, name in ((record, "data"), (record.shape, "unit"), (record.shape, "flags")):
            with pytest.raises(AttributeError):
                setattr(target, name, "edited")
        out = record.to_dict()
        for key, value in out.items():
            if isinstance(value, list):
                value.append("edited")
            else:
                out[key] = "edited"
        assert isinstance(record.shape.extensions, tuple)
        assert isinstance(record.shape.flags, tuple)
    assert [record.to_dict() for record in mbus.records.decode_records(RECORDS)] == expected


def _reachable(value: Any, seen: set[int]) -> list[Any]:
    """Every object reachable from ``value`` through its fields, items and slots."""
    if id(value) in seen or isinstance(value, str | bytes | int | float | type(None)):
        return []
    seen.add(id(value))
    found = [value]
    children: list[Any] = []
    if isinstance(value, tuple | list | set | frozenset):
        children = list(value)
    elif isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    else:
        for cls in type(value).__mro__:
            children += [getattr(value, name) for name in getattr(cls, "__slots__", ())
                         if hasattr(value, name)]
        children += list(getattr(value, "__dict__", {}).values())
    for child in children:
        found += _reachable(child, seen)
    return found


def test_no_mutable_container_is_reachable_from_a_telegram() -> None:
    frames = _libmbus_frames()
    require(LIBMBUS / "test-frames")
    for frame in frames:
        telegram = mbus.decode(frame)
        telegram.records  # noqa: B018 - the Records are made when first read
        mutable = [type(value).__name__ for value in _reachable(telegram, set())
                   if isinstance(value, dict | list | set | bytearray)]
        assert mutable == [], frame.hex()


def test_no_mutable_container_is_reachable_from_a_wmbus_telegram() -> None:
    require(WMBUS)
    for telegram in _wmbus_telegrams():
        telegram.records  # noqa: B018 - the Records are made when first read
        mutable = [type(value).__name__ for value in _reachable(telegram, set())
                   if isinstance(value, dict | list | set | bytearray)]
        assert mutable == [], telegram.link


def test_telegram_and_header_refuse_assignment() -> None:
    frame = bytes.fromhex("681b1b680801727856341 22d2c0804050000000406e79100000414 2cdb00009a16"
                          .replace(" ", ""))
    telegram = mbus.decode(frame)
    with pytest.raises(dataclasses.FrozenInstanceError):
        telegram.records = ()  # type: ignore[misc]
    assert telegram.header is not None
    with pytest.raises(AttributeError):
        telegram.header.id = "1"  # type: ignore[misc]
    assert mbus.decode(frame) == telegram


@pytest.mark.parametrize("frame", [
    "e5",  # acknowledgement
    "105b015c16",  # short frame REQ_UD2
    "680303680801707916",  # application error (CI 0x70)
    "6806066808017100ff007916",  # alarm (CI 0x71)
])
def test_other_telegram_kinds_pickle(frame: str) -> None:
    telegram = mbus.decode(bytes.fromhex(frame))
    copy = pickle.loads(pickle.dumps(telegram))
    assert copy == telegram
    assert copy.to_dict() == telegram.to_dict()


def test_a_record_error_pickles_with_the_records_before_it() -> None:
    data = bytes.fromhex("0413" + "01000000" + "0c13" + "0100")  # the second record is cut off
    with pytest.raises(mbus.RecordError) as caught:
        mbus.records.decode_records(data)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert str(copy) == str(caught.value)
    assert (copy.offset, copy.field) == (caught.value.offset, caught.value.field)
    assert len(caught.value.records_before) == 1
    assert copy.records_before == caught.value.records_before
