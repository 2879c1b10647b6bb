"""Telegram documents and JSON lines -> readings (issue 6: "A function that turns the telegram
documents printed by ``mbus decode --json`` / ``wmbus decode --json`` into readings")."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporters import (
    DocumentError,
    ExportError,
    Reading,
    iter_json_values,
    read_json_readings,
    readings_from_document,
    readings_from_json,
)

UTC = timezone.utc
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)

# One document as `mbus decode --json` prints it (libmbus test frame
# ACW_Itron-BM-plus-m.hex), trimmed to five records.
MBUS_LINE = (
    '{"frame": {"type": "long", "c": 8, "a": 8, "ci": 114}, "header": {"id": "11490378", '
    '"manufacturer": "ACW", "version": 14, "medium": "cold_water", "access_number": 10, '
    '"status": 0, "signature": 0}, "records": [{"function": "instantaneous", "storage": 0, '
    '"tariff": 0, "subunit": 0, "quantity": "volume", "unit": "m3", "value": 54.321, '
    '"dif": "04", "vif": "13", "data": "31d40000", "coding": "int32"}, {"function": '
    '"instantaneous", "storage": 1, "tariff": 0, "subunit": 0, "quantity": "date", "unit": "", '
    '"value": null, "dif": "42", "vif": "6c", "data": "0000", "coding": "int16", "flags": '
    '["invalid_date"]}, {"function": "instantaneous", "storage": 1, "tariff": 0, "subunit": 0, '
    '"quantity": "volume", "unit": "m3", "value": 0.0, "dif": "44", "vif": "13", "data": '
    '"00000000", "coding": "int32"}, {"function": "instantaneous", "storage": 0, "tariff": 0, '
    '"subunit": 0, "quantity": "operating_time", "unit": "s", "value": 0, "dif": "02", "vif": '
    '"27", "data": "0000", "coding": "int16"}, {"function": "manufacturer_specific", '
    '"storage": 0, "tariff": 0, "subunit": 0, "quantity": "manufacturer_data", "unit": "", '
    '"value": "00017513", "dif": "0f", "vif": "", "data": "00017513", "coding": '
    '"manufacturer"}]}'
)


def doc(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = json.loads(MBUS_LINE, parse_float=Decimal)
    base.update(changes)
    return base


def test_mbus_document_to_readings() -> None:
    readings = readings_from_document(doc(), timestamp=T0)
    # The record with value null (invalid date) is skipped: four readings.
    assert [(r.quantity, r.value, r.unit, r.storage, r.function) for r in readings] == [
        ("volume", Decimal("54.321"), "m3", 0, "instantaneous"),
        ("volume", Decimal("0.0"), "m3", 1, "instantaneous"),
        ("operating_time", 0, "s", 0, "instantaneous"),
        ("manufacturer_data", "00017513", "", 0, "manufacturer_specific"),
    ]
    first = readings[0]
    assert first.meter_id == "11490378"
    assert first.timestamp == T0
    assert first.status == ()
    assert dict(first.metadata) == {
        "manufacturer": "ACW",
        "version": "14",
        "medium": "cold_water",
        "access_number": "10",
        "signature": "0",
        "dif": "04",
        "vif": "13",
        "data": "31d40000",
        "coding": "int32",
    }
    # Manufacturer data stays the exact string, never a number.
    assert type(readings[3].value) is str


def test_values_are_exact_even_from_plain_json_loads() -> None:
    plain = json.loads(MBUS_LINE)  # floats, not Decimals
    readings = readings_from_document(plain, timestamp=T0)
    assert readings[0].value == Decimal("54.321")
    assert isinstance(readings[0].value, Decimal)


def test_mantissa_exponent_values() -> None:
    d = doc(records=[{"quantity": "energy", "unit": "Wh", "value": {"mantissa": 12345,
                                                                    "exponent": -1}}])  # fmt: skip
    assert readings_from_document(d, timestamp=T0)[0].value == Decimal("1234.5")


def test_document_timestamp_wins_over_the_argument() -> None:
    d = doc(timestamp="2026-11-24T09:00:00+01:00")
    readings = readings_from_document(d, timestamp=T0 + timedelta(days=1))
    assert {r.timestamp for r in readings} == {T0}


def test_no_timestamp_raises() -> None:
    with pytest.raises(DocumentError) as info:
        readings_from_document(doc())
    assert info.value.field == "timestamp"
    assert isinstance(info.value, ExportError)


# EN 13757-3 status byte: bits 0-1 application status (01 busy, 10 error, 11 abnormal),
# bit 2 power low, bit 3 permanent error, bit 4 temporary error, bits 5-7 manufacturer.
@pytest.mark.parametrize(
    ("status", "flags"),
    [
        (0x00, ()),
        (0x01, ("application_busy",)),
        (0x02, ("application_error",)),
        (0x03, ("abnormal_condition",)),
        (0x04, ("power_low",)),
        (0x08, ("permanent_error",)),
        (0x10, ("temporary_error",)),
        (0x20, ("manufacturer_5",)),
        (0xE0, ("manufacturer_5", "manufacturer_6", "manufacturer_7")),
        (0x16, ("application_error", "power_low", "temporary_error")),
        (["power_low", "x"], ("power_low", "x")),
        ({"power_low": True, "permanent_error": False}, ("power_low",)),
        (None, ()),
    ],
)
def test_header_status(status: object, flags: tuple[str, ...]) -> None:
    header = dict(doc()["header"], status=status)
    readings = readings_from_document(doc(header=header), timestamp=T0)
    assert readings[0].status == flags


def test_record_flags_join_the_status() -> None:
    d = doc(records=[{"quantity": "date", "value": "2026-01-01", "flags": ["invalid_date"]}])
    d["header"]["status"] = 4
    [r] = readings_from_document(d, timestamp=T0)
    assert r.status == ("power_low", "invalid_date")
    assert "flags" not in r.metadata


def test_integer_ids_become_eight_digits_and_names_are_kept() -> None:
    d = doc(meter_name="Flat 3")
    d["header"]["id"] = 1234
    r = readings_from_document(d, timestamp=T0)[0]
    assert (r.meter_id, r.meter_name) == ("00001234", "Flat 3")


def test_strict_refuses_records_without_scalar_value() -> None:
    with pytest.raises(DocumentError) as info:
        readings_from_document(doc(), timestamp=T0, strict=True)
    assert info.value.field == "records[1]"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"records": []}, "header"),
        ({"header": {"id": "1"}}, "records"),
        ({"header": {"id": ""}, "records": []}, "header.id"),
        ({"header": {"id": True}, "records": []}, "header.id"),
        ({"header": {"id": "1", "status": 300}, "records": []}, "header.status"),
        ({"header": {"id": "1"}, "records": [5]}, "records[0]"),
        ({"header": {"id": "1"}, "records": [{"quantity": "q", "value": 1, "storage": -1}]},
         "records[0].storage"),
        ({"header": {"id": "1"}, "records": [{"quantity": "q", "value": 1, "flags": "x"}]},
         "records[0].flags"),
        ({"header": {"id": "1"}, "records": [], "timestamp": "noon"}, "timestamp"),
    ],
)  # fmt: skip
def test_malformed_documents(document: dict[str, Any], field: str) -> None:
    with pytest.raises(DocumentError) as info:
        readings_from_document(document, timestamp=T0)
    assert info.value.field == field


def test_readings_from_json_dispatch() -> None:
    reading = Reading(meter_id="1", quantity="q", value=Decimal("2.5"), unit="u", timestamp=T0)
    assert readings_from_json(reading.to_dict()) == [reading]
    assert len(readings_from_json([doc(), reading.to_dict()], timestamp=T0)) == 5
    # A reading without timestamp takes the given one.
    partial = {"meter_id": "1", "quantity": "q", "value": 1, "unit": "u"}
    assert readings_from_json(partial, timestamp=T0)[0].timestamp == T0
    with pytest.raises(DocumentError):
        readings_from_json({"hello": 1})
    with pytest.raises(DocumentError):
        readings_from_json(5)
    with pytest.raises(DocumentError):
        readings_from_json({"meter_id": "1"})


def test_json_lines_and_pretty_printed_values_mix() -> None:
    reading = Reading(meter_id="9", quantity="q", value=7, unit="u", timestamp=T0)
    text = (
        MBUS_LINE
        + "\n\n"
        + json.dumps(json.loads(MBUS_LINE), indent=2)
        + "\n"
        + json.dumps(reading.to_dict())
        + " "
        + json.dumps([reading.to_dict()])
        + "\n"
    )
    readings = list(read_json_readings(io.StringIO(text), timestamp=T0))
    assert len(readings) == 4 + 4 + 1 + 1
    assert readings[-1] == reading
    # Fractions are read as Decimal, not float.
    assert readings[4].value == Decimal("54.321")


def test_line_numbers_in_errors() -> None:
    text = MBUS_LINE + "\n" + MBUS_LINE + "\n{not json}\n"
    stream = read_json_readings(io.StringIO(text), timestamp=T0)
    with pytest.raises(DocumentError) as info:
        list(stream)
    assert info.value.line == 3
    text = "\n" + MBUS_LINE + "\n" + '{"hello": 1}\n'
    with pytest.raises(DocumentError) as info:
        list(read_json_readings(io.StringIO(text), timestamp=T0))
    assert info.value.line == 3


def test_truncated_json_at_end_of_stream() -> None:
    with pytest.raises(DocumentError):
        list(iter_json_values(io.StringIO('{"header": {"id": "1"},\n')))


def test_long_pretty_printed_document_is_read() -> None:
    big = doc(records=[{"quantity": "volume", "unit": "m3", "value": n} for n in range(20000)])
    text = json.dumps(big, indent=2)
    assert len(list(read_json_readings(io.StringIO(text), timestamp=T0))) == 20000


CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "libmbus" / "test-frames"


def _mbus_documents() -> str:
    """`mbus decode --json` over the libmbus corpus (skips when the corpus is absent)."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent")
    frames = "".join(path.read_text() + "\n" for path in sorted(CORPUS.glob("*.hex")))
    done = subprocess.run(
        [sys.executable, "-m", "mbus", "decode", "--json"],
        input=frames,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    return done.stdout


def test_every_document_mbus_prints_for_the_libmbus_corpus_converts() -> None:
    text = _mbus_documents()
    documents = [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line]
    readings = list(read_json_readings(io.StringIO(text), timestamp=T0))
    usable = sum(
        1
        for document in documents
        for record in document["records"]
        if record.get("quantity") and isinstance(record.get("value"), (int, Decimal, str))
        and not isinstance(record.get("value"), bool)
    )
    assert len(readings) == usable > 0
    assert all(isinstance(r.value, (int, Decimal, str)) for r in readings)


KEYS = ["header", "records", "id", "value", "quantity", "status", "storage", "meter_id",
        "unit", "timestamp", "flags", "x"]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(KEYS),
        inner,
        max_size=4,
    ),
    max_leaves=12,
)


@given(json_values)
@settings(max_examples=200, deadline=None)
def test_arbitrary_json_values_convert_or_raise_only_document_error(value: Any) -> None:
    with contextlib.suppress(DocumentError):
        readings_from_json(value, timestamp=T0)


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_arbitrary_text_streams_raise_only_document_error(text: str) -> None:
    with contextlib.suppress(DocumentError):
        list(read_json_readings(io.StringIO(text), timestamp=T0))


def test_deeply_nested_json_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="nested"):
        list(read_json_readings(io.StringIO("[" * 100_000 + "]" * 100_000), timestamp=T0))


@pytest.mark.parametrize(
    "value", [{"mantissa": 1, "exponent": 10**9}, {"mantissa": "x", "exponent": 1}]
)
def test_absurd_mantissa_exponent_is_a_document_error(value: object) -> None:
    d = doc(records=[{"quantity": "energy", "unit": "Wh", "value": value}])
    with pytest.raises(DocumentError):
        readings_from_document(d, timestamp=T0)


def test_absurd_exponent_in_json_is_a_document_error() -> None:
    line = (
        '{"meter_id": "1", "quantity": "q", "unit": "u", '
        '"timestamp": "2026-11-24T08:00:00Z", "value": 1e999999}'
    )
    with pytest.raises(DocumentError):
        list(read_json_readings(io.StringIO(line)))


def test_status_ok_string_means_no_flags() -> None:
    header = dict(doc()["header"], status="OK")
    assert readings_from_document(doc(header=header), timestamp=T0)[0].status == ()


# --- hostile input (issue 10 section 2): each finding, through the JSON and the Python path


def records_line(value: str) -> str:
    head = '{"header": {"id": "1"}, "records": [{"quantity": "q", "unit": "", "value": '
    return head + value + "}]}"


def test_a_value_of_4301_digits_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="more than 4000 digits") as caught:
        list(read_json_readings(io.StringIO("\n" + records_line("9" * 4301)), timestamp=T0))
    assert caught.value.line == 2
    with pytest.raises(DocumentError, match="digits") as caught:
        readings_from_document(doc(records=[{"quantity": "q", "value": 10**4400}]), timestamp=T0)
    assert caught.value.field == "records[0].value"
    with pytest.raises(DocumentError, match="digits") as caught:
        readings_from_document(doc(header={"id": "1", "version": 10**4400}), timestamp=T0)
    assert caught.value.field == "header.version"


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_header_field_nested_990_deep_is_a_document_error() -> None:
    line = '{"header": {"id": "1", "medium": ' + "[" * 990 + "]" * 990 + '}, "records": []}'
    with pytest.raises(DocumentError, match="nested deeper than 64"):
        list(read_json_readings(io.StringIO(line), timestamp=T0))
    # The Python path: the structure is already built; dumping it as metadata would recurse.
    header = {"id": "1", "medium": nested(990)}
    records = [{"quantity": "q", "unit": "", "value": 1}]
    with pytest.raises(DocumentError, match="nested too deeply") as caught:
        readings_from_document(doc(header=header, records=records), timestamp=T0)
    assert caught.value.field == "header.medium"
    record = {"quantity": "q", "unit": "", "value": 1, "extra": nested(990)}
    with pytest.raises(DocumentError, match="nested too deeply") as caught:
        readings_from_document(doc(records=[record]), timestamp=T0)
    assert caught.value.field == "records[0].extra"


def test_a_timestamp_out_of_range_after_utc_conversion_is_a_document_error() -> None:
    line = MBUS_LINE[:-1] + ', "timestamp": "9999-12-31T23:59:59-14:00"}'
    with pytest.raises(DocumentError, match="out of range once converted to UTC") as caught:
        list(read_json_readings(io.StringIO(line)))
    assert caught.value.line == 1
    reading = {"meter_id": "1", "quantity": "q", "value": 1, "unit": "",
               "timestamp": "9999-12-31T23:59:59-14:00"}  # fmt: skip
    with pytest.raises(DocumentError, match="out of range"):
        list(read_json_readings(io.StringIO(json.dumps(reading))))


@pytest.mark.parametrize("where", ["meter_name", "unit", "quantity", "value", "id", "flag", "dif"])
def test_a_lone_surrogate_in_a_text_field_is_a_document_error(where: str) -> None:
    record = {"quantity": "q", "unit": "u", "value": "v", "dif": "04"}
    header = {"id": "1"}
    bad = "\\ud800"  # as JSON writes it
    line = json.dumps({"meter_name": "n", "header": header, "records": [record]})
    target = {"meter_name": '"n"', "id": '"1"', "flag": '"flags": []'}.get(where)
    if where == "flag":
        line = line.replace('"dif"', f'"flags": ["{bad}"], "dif"')
    elif target is not None:
        line = line.replace(target, f'"{bad}"', 1)
    else:
        line = line.replace(f'"{record[where]}"', f'"{bad}"', 1)
    assert bad in line
    with pytest.raises(DocumentError, match="lone surrogate"):
        list(read_json_readings(io.StringIO(line), timestamp=T0))


def test_an_error_object_of_mbus_decode_is_refused_by_the_library() -> None:
    line = '{"line": 4, "error": "checksum at byte 31", "field": "checksum", "offset": 31}'
    with pytest.raises(DocumentError, match=r"an error object.*checksum at byte 31") as caught:
        list(read_json_readings(io.StringIO(line), timestamp=T0))
    assert (caught.value.line, caught.value.field) == (1, "error")


def test_the_meter_clock_is_the_reading_time_in_the_meter_zone() -> None:
    berlin = timezone(timedelta(hours=1))
    clock = {"quantity": "datetime", "unit": "", "value": "2026-11-24T09:15:00", "storage": 0}
    d = doc(records=[{"quantity": "q", "unit": "", "value": 1}, clock])
    readings = readings_from_document(d, timestamp=T0, meter_zone=berlin)
    assert {r.timestamp for r in readings} == {datetime(2026, 11, 24, 8, 15, tzinfo=UTC)}
    # Historic clocks (storage 1) and other functions do not count.
    for change in ({"storage": 1}, {"function": "maximum"}, {"tariff": 1}, {"subunit": 1}):
        d = doc(records=[{"quantity": "q", "unit": "", "value": 1}, dict(clock, **change)])
        assert {r.timestamp for r in readings_from_document(d, timestamp=T0)} == {T0}
    # A clock that is not a time falls through to the timestamp argument.
    for value in ("2026-02-30T09:15:00", "garbage", None, 5):
        d = doc(records=[{"quantity": "q", "unit": "", "value": 1}, dict(clock, value=value)])
        assert {r.timestamp for r in readings_from_document(d, timestamp=T0)} == {T0}


def test_the_timestamp_argument_may_be_a_function_called_only_when_needed() -> None:
    calls = []

    def now() -> datetime:
        calls.append(1)
        return T0

    assert {r.timestamp for r in readings_from_document(doc(), timestamp=now)} == {T0}
    assert calls == [1]
    stamped = doc(timestamp="2026-01-01T00:00:00Z")
    readings_from_document(stamped, timestamp=now)
    assert calls == [1]


def test_an_error_object_whose_error_is_not_text_is_still_a_document_error() -> None:
    # Found by fuzzing: str() of the error value (an int of 4301+ digits) raised ValueError.
    with pytest.raises(DocumentError, match="an error object") as caught:
        readings_from_json({"error": 10**4301}, timestamp=T0)
    assert "bits" in caught.value.message
    long_text = {"error": "x\n" * 10_000}
    with pytest.raises(DocumentError) as caught:
        readings_from_json(long_text, timestamp=T0)
    assert len(caught.value.message) < 700 and "\n" not in caught.value.message
