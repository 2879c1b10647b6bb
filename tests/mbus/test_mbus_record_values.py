"""Record values: one reader per coding and one scaling rule behind every output."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mbus
from mbus import _frames as mbus_frames
from mbus._record_values import json_value
from mbus._records import decode_records, records_to_dicts

# DIF/VIF pairs of every reading: type F and G dates, BCD and binary numbers scaled up and
# down, identifiers, REAL32, LVAR, additive corrections, plain-text and manufacturer data.
HEADERS = [
    bytes.fromhex(h) for h in (
        "046d", "026c", "0c13", "0c06", "0b3b", "0a5a", "0e03", "0913", "0c78", "0413",
        "0403", "0206", "0178", "07fd17", "0c0e", "8c1013", "04fd0b", "0d13", "0dfd0e",
        "0513", "0b2b", "0a3b", "0e06", "03fd74", "0493f4", "0c93f4", "0d78", "0f", "0d6d",
        "036d", "066d", "04fd17", "0cfd0e",
    )
]


def _json_of_value(value: Any) -> Any:
    """What the JSON value of a record must be, worked out from its Python value alone."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    assert isinstance(value, Decimal)
    return value


def _general_json(record: mbus.Record) -> tuple[Any, list[str]]:
    """The JSON value and flags through the general path (reader, scale, json_number)."""
    value, flags = json_value(record.shape, record.data)
    return value, [*record.shape.flags, *flags]


def _same(json_value: Any, expected: Any) -> bool:
    if isinstance(expected, Decimal):  # a float that prints back as the decimal, or its text
        if isinstance(json_value, str):
            return Decimal(json_value) == expected and len(expected.as_tuple().digits) > 15
        return isinstance(json_value, float) and Decimal(repr(json_value)) == expected
    return type(json_value) is type(expected) and json_value == expected


@settings(max_examples=400)
@given(header=st.sampled_from(HEADERS), body=st.binary(min_size=0, max_size=12),
       msb_first=st.booleans())
def test_dict_value_is_the_json_form_of_the_python_value(header: bytes, body: bytes,
                                                         msb_first: bool) -> None:
    try:
        records = decode_records(header + body, max_records=1, msb_first=msb_first)
    except mbus.DecodeError:
        return
    for record in records:
        (out,) = records_to_dicts((record,))
        assert out == record.to_dict()
        assert (out["value"], out.get("flags", [])) == _general_json(record)
        assert _same(out["value"], _json_of_value(record.value)), (out, record.value)
        assert out.get("flags", []) == list(record.flags)
        assert out["data"] == record.data.hex()
        assert bytes.fromhex(out["dif"] + out["vif"]) == record.shape.header


@pytest.mark.parametrize(("hex_record", "value", "json_value"), [
    ("0c13 78563412", Decimal("12345.678"), 12345.678),  # BCD, 1e-3 m3
    ("0413 78563412", Decimal("305419.896"), 305419.896),  # int32, 1e-3 m3
    ("0406 78563412", 305419896000, 305419896000),  # int32, kWh -> Wh scales up
    ("049378 0a000000", Decimal("0.011"), 0.011),  # 10 l + additive 10**-3 m3 (VIFE 0x78)
    ("0c13 450123f0", Decimal("-230.145"), -230.145),  # negative BCD (F nibble)
    ("0e13 999999999999", Decimal("999999999.999"), 999999999.999),  # 12 digits, 1e-3
    ("0713 ffffffffffffff7f", Decimal("9223372036854775.807"), "9223372036854775.807"),
])
def test_one_scaling_rule_for_value_and_json(hex_record: str, value: Any, json_value: Any) -> None:
    (record,) = decode_records(bytes.fromhex(hex_record.replace(" ", "")))
    assert record.value == value and type(record.value) is type(value)
    out = record.to_dict()["value"]
    assert out == json_value and type(out) is type(json_value)


@settings(max_examples=200)
@given(raw=st.binary(min_size=4, max_size=4))
def test_type_f_json_is_the_isoformat_of_the_value(raw: bytes) -> None:
    (record,) = decode_records(b"\x04\x6d" + raw)
    value = record.value
    out = record.to_dict()
    assert out["value"] == _json_of_value(value)
    assert out.get("flags", []) == list(record.flags)


@settings(max_examples=200)
@given(raw=st.binary(min_size=2, max_size=2))
def test_type_g_json_is_the_isoformat_of_the_value(raw: bytes) -> None:
    (record,) = decode_records(b"\x02\x6c" + raw)
    value = record.value
    out = record.to_dict()
    assert out["value"] == _json_of_value(value)
    assert out.get("flags", []) == list(record.flags)


def test_type_f_examples_from_the_standard_layout() -> None:
    # 31 Dec 2023 23:59 (year 23: low bits 0b111 in byte 2, high bits 0b0010 in byte 3).
    raw = bytes((59, 23, 0xE0 | 31, 0x20 | 12))
    (record,) = decode_records(b"\x04\x6d" + raw)
    assert record.to_dict()["value"] == "2023-12-31T23:59:00"
    assert record.value == dt.datetime(2023, 12, 31, 23, 59)
    # Invalid flag and summer time keep their flags.
    (flagged,) = decode_records(b"\x04\x6d" + bytes((59 | 0x80, 23 | 0x80)) + raw[2:])
    assert flagged.to_dict()["flags"] == ["time_invalid", "summer_time"]
    # FFFF is an invalid date in type G.
    (invalid,) = decode_records(b"\x02\x6c\xff\xff")
    assert invalid.to_dict()["value"] is None
    assert invalid.to_dict()["flags"] == ["invalid_date"]


def test_bcd_fast_path_keeps_invalid_and_negative_values() -> None:
    (negative,) = decode_records(bytes.fromhex("0c13") + bytes.fromhex("450123f0"))
    assert negative.value == Decimal("-230.145")
    assert negative.to_dict()["value"] == -230.145
    (broken,) = decode_records(bytes.fromhex("0c13") + bytes.fromhex("4a012300"))
    assert broken.to_dict()["value"] == "0023014A"
    assert broken.to_dict()["flags"] == ["invalid_bcd"]


def test_manufacturer_data_is_hex() -> None:
    (record,) = decode_records(bytes.fromhex("0f0102ab"))
    assert record.to_dict()["value"] == "0102ab"
    assert record.to_dict()["data"] == "0102ab"


@settings(max_examples=200)
@given(prefix=st.binary(max_size=3), raw=st.binary(min_size=12, max_size=12),
       msb_first=st.booleans())
def test_long_header_fields(prefix: bytes, raw: bytes, msb_first: bool) -> None:
    # EN 13757-3:2018 6.1: ID (4 bytes BCD), manufacturer (2), version, medium, access
    # number, status, signature (2); multi-byte fields least significant byte first
    # (most significant first for CI 0x76).
    header = mbus.Header.decode_long(prefix + raw, len(prefix), msb_first)

    def field(chunk: bytes) -> bytes:
        return chunk if msb_first else chunk[::-1]

    assert header.id == field(raw[0:4]).hex().upper()
    assert header.manufacturer == mbus.records.decode_manufacturer(
        int.from_bytes(field(raw[4:6]), "big"))
    assert (header.version, header.medium, header.access_number, header.status) == tuple(raw[6:10])
    assert header.signature == int.from_bytes(field(raw[10:12]), "big")
    out = header.to_dict()
    assert list(out)[:6] == ["id", "manufacturer", "version", "medium", "access_number", "status"]
    assert out["medium"] == header.medium_name
    assert out.get("status_flags", []) == list(header.status_flags)
    assert out["signature"] == header.signature


def test_header_dict_leaves_out_what_the_form_lacks() -> None:
    short = mbus.Header.decode_short(bytes((7, 0, 0, 0)), 0)
    assert short.to_dict() == {"access_number": 7, "status": 0, "signature": 0}
    selection = mbus.Header(id="12345678", manufacturer="ABC", version=1, medium=0x99)
    assert selection.to_dict() == {"id": "12345678", "manufacturer": "ABC", "version": 1,
                                   "medium": "reserved_0x99"}


def test_prm_bit_chooses_object_actions_or_record_errors() -> None:
    # EN 13757-3:2018 6.4.5: VIFE 0x00-0x1F are object actions in a master's
    # telegram (C field PRM bit set) and record errors in a slave's.
    header = bytes.fromhex("78563412244001070a000000")
    record = bytes.fromhex("04930701000000")  # volume, VIFE 0x07, 4 data bytes
    for c, key in ((0x53, "action"), (0x73, "action"), (0x08, "record_error"),
                   (0x28, "record_error")):
        frame = mbus.LongFrame(c=c, a=1, ci=0x72, data=header + record)
        (out,) = mbus.decode(frame.encode()).to_dict()["records"]
        assert key in out, (hex(c), out)
        assert ("record_error" if key == "action" else "action") not in out


@st.composite
def _long_frames(draw: st.DrawFn) -> bytes:
    frame = mbus.LongFrame(c=draw(st.integers(0, 255)), a=draw(st.integers(0, 255)),
                           ci=draw(st.integers(0, 255)), data=draw(st.binary(max_size=40)))
    return frame.encode()


@settings(max_examples=200)
@given(raw=_long_frames(), index=st.integers(0, 60), byte=st.integers(0, 255),
       prefix=st.binary(max_size=3), trailer=st.binary(max_size=3))
def test_long_frame_decoding_is_exact(raw: bytes, index: int, byte: int, prefix: bytes,
                                      trailer: bytes) -> None:
    # EN 13757-2: 68 L L 68 C A CI data CS 16, CS the sum of C, A, CI and data mod 256.
    frame = mbus.decode_frame(prefix + raw + trailer, len(prefix), exact=False)
    assert frame.encode() == raw
    with_trailer = raw + trailer
    if trailer:
        with pytest.raises(mbus.FrameError):
            mbus.decode_frame(with_trailer)
    # One changed byte: either an error naming the field, or a frame that is exactly the bytes.
    mutated = bytearray(raw)
    mutated[index % len(raw)] = byte
    try:
        decoded = mbus.decode_frame(mutated)
    except mbus.DecodeError as exc:
        assert exc.field
        return
    assert decoded.encode() == bytes(mutated)
    assert isinstance(decoded, mbus.LongFrame)
    assert type(decoded.data) is bytes


def _date_dict(header: str, raw: bytes) -> tuple[object, list[str]]:
    """value and flags of a date record's dict (the table path where it applies)."""
    (record,) = decode_records(bytes.fromhex(header) + raw)
    out = record.to_dict()
    return out["value"], out.get("flags", [])


@pytest.mark.parametrize(("year", "leap"), [(2024, True), (2023, False), (2000, True),
                                            (1996, True), (2080, True), (1981, False)])
def test_29_february_only_in_leap_years(year: int, leap: bool) -> None:
    short = year % 100
    raw_g = bytes(((short & 0x07) << 5 | 29, (short & 0x78) << 1 | 2))
    assert _date_dict("026c", raw_g)[0] == (f"{year}-02-29" if leap else None)
    raw_f = bytes((30, 12)) + raw_g
    assert _date_dict("046d", raw_f)[0] == (f"{year}-02-29T12:30:00" if leap else None)


def test_editing_a_dict_leaves_the_next_ones_alone() -> None:
    # Each dict is made anew: editing its lists leaves the next records' dicts alone.
    data = bytes.fromhex("04fb8275") + bytes(4) + bytes.fromhex("0c13") + bytes.fromhex("4a012300")
    first = [record.to_dict() for record in decode_records(data)]
    for out in first:
        for value in out.values():
            if isinstance(value, list):
                value.append("edited")
    again = [record.to_dict() for record in decode_records(data)]
    assert all("edited" not in value for out in again for value in out.values()
               if isinstance(value, list))
    assert any(isinstance(value, list) for out in again for value in out.values())


@settings(max_examples=300)
@given(data=st.binary(max_size=600))
def test_byte_sum_is_the_sum_modulo_256(data: bytes) -> None:
    assert mbus_frames.byte_sum(data) == sum(data) % 256
    assert mbus_frames.byte_sum(b"\xff" * 256) == (255 * 256) % 256
    assert mbus_frames.byte_sum(b"\xff" * 257) == (255 * 257) % 256


@settings(max_examples=300)
@given(header=st.sampled_from(["0913", "0a5a", "0b3b", "0c13", "0c06", "0e03", "0c78", "0c0e",
                               "8c1013", "0cfd0e"]),
       digits=st.text("0123456789", min_size=12, max_size=12))
def test_bcd_dicts_agree_with_the_general_path(header: str, digits: str) -> None:
    # BCD data of decimal digits only (random bytes are seldom all decimal).
    size = {"09": 1, "0a": 2, "0b": 3, "0c": 4, "0e": 6, "8c": 4}[header[:2]]
    data = bytes.fromhex(digits[:2 * size])[::-1]
    (record,) = decode_records(bytes.fromhex(header) + data)
    (out,) = records_to_dicts((record,))
    assert (out["value"], out.get("flags", [])) == _general_json(record)
    assert _same(out["value"], _json_of_value(record.value))
    assert record.value == Decimal(digits[:2 * size]).scaleb(record.shape.exponent) * (
        record.shape.factor)
