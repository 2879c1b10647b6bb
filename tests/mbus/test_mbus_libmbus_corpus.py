"""Conformance with libmbus's published test frames (../shared/corpus/libmbus).

Every record must agree with libmbus's normalised XML in value, unit, storage,
tariff, subunit and function. The only exceptions are listed in
``LIBMBUS_DEVIATIONS`` with the clause of the standard that decides them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import mbus

from .corpus import LIBMBUS, hex_bytes, libmbus_files, read_xml, require

FUNCTIONS = {
    "Instantaneous value": "instantaneous",
    "Maximum value": "maximum",
    "Minimum value": "minimum",
    "Value during error state": "error",
    "Manufacturer specific": "manufacturer_specific",
    "More records follow": "more_records_follow",
    "Actual value": "instantaneous",
    "Stored value": "instantaneous",
}
# libmbus unit -> (our unit, factor from libmbus's number to ours). None: unit not compared
# (dimensionless, text, identifiers: libmbus prints "-" or nothing).
UNITS: dict[str, tuple[str, Decimal] | None] = {
    "Wh": ("Wh", Decimal(1)), "kWh": ("Wh", Decimal(1000)), "J": ("J", Decimal(1)),
    "m^3": ("m3", Decimal(1)), "l": ("m3", Decimal("0.001")), "m^3/h": ("m3/h", Decimal(1)),
    "W": ("W", Decimal(1)), "°C": ("degC", Decimal(1)), "K": ("K", Decimal(1)),
    "s": ("s", Decimal(1)), "V": ("V", Decimal(1)), "A": ("A", Decimal(1)),
    "-": None, "": None, "Units for H.C.A.": ("", Decimal(1)), "Reserved": None,
}

# (frame, record index) -> why libmbus's expected value is not the standard's.
_INVALID_BCD = (
    "the data holds BCD digits A-F, which type A does not define (EN 13757-3:2018 Annex A, "
    "Table A.1); meters use them for error displays. libmbus multiplies such nibbles by powers "
    "of ten into a number; we keep the digits and flag the record invalid_bcd"
)
_PER_PULSE = (
    "VIFE 0x28 means 'increment per input pulse on input channel 0' (EN 13757-3:2018 Table "
    "15), so the value is a pulse constant in m3/pulse; libmbus ignores the VIFE and says m3"
)
_ZERO_DATE = (
    "type G data 0000 has day 0 and month 0, which is no date (EN 13757-3:2018 Annex A, "
    "Table A.6: day 1-31, month 1-12); libmbus prints 2000-00-00, we give no value and flag "
    "the record invalid_date"
)
LIBMBUS_DEVIATIONS: dict[tuple[str, int], str] = {
    ("ACW_Itron-BM-plus-m", 2): _ZERO_DATE,
    ("itron_bm_+m", 2): _ZERO_DATE,
    ("siemens_water", 3): _ZERO_DATE,
    ("siemens_wfh21", 3): _ZERO_DATE,
    ("REL-Relay-Padpuls2", 1): (
        "type F with the IV bit set (time invalid, EN 13757-3:2018 Annex A, Table A.5): "
        "libmbus prints 1900-01-00T00:00:00, we keep the transmitted date and flag the "
        "record time_invalid"
    ),
    ("ELS_Elster-F96-Plus", 4): _INVALID_BCD,
    ("ELS_Elster-F96-Plus", 5): _INVALID_BCD,
    ("abb_f95", 2): _INVALID_BCD,
    ("abb_f95", 3): _INVALID_BCD,
    ("EFE_Engelmann-Elster-SensoStar-2", 24): _PER_PULSE,
    ("EFE_Engelmann-WaterStar", 11): _PER_PULSE,
    ("engelmann_sensostar2c", 13): _PER_PULSE,
    ("example_binary16_lvar", 0): (
        "variable-length binary data is shown in frame order, as in every other libmbus "
        "expected file; this one file was made after libmbus started printing binary "
        "LSB-first (corpus README, 'Known inconsistency')"
    ),
    ("manual_frame2", 1): (
        "unit code 0x3E of the fixed data structure means 'same unit as counter 1, historic "
        "value' (EN 13757-3:2004 Table E.1, EN 1434-3); libmbus prints 'reserved but historic' "
        "and leaves the value unscaled (135) where the counter is 135 litres"
    ),
}


def _our_value_as_text(record: mbus.Record) -> str:
    value = record.value
    if isinstance(value, bytes):
        return value.hex(" ").upper()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return "" if value is None else str(value)


def _compare(name: str, index: int, expected: dict[str, str], record: mbus.Record) -> list[str]:
    problems = []
    function = FUNCTIONS[expected["Function"]]
    if record.function != function:
        problems.append(f"function {record.function} != {function}")
    storage = int(expected.get("StorageNumber") or (1 if expected["Function"] == "Stored value"
                                                     else 0))
    if record.storage != storage:
        problems.append(f"storage {record.storage} != {storage}")
    if record.tariff != int(expected.get("Tariff") or 0):
        problems.append(f"tariff {record.tariff} != {expected.get('Tariff')}")
    if record.subunit != int(expected.get("Device") or 0):
        problems.append(f"subunit {record.subunit} != {expected.get('Device')}")
    unit_key = expected.get("Unit", "")
    mapping = UNITS.get(unit_key) if unit_key in UNITS else ("?", Decimal(1))
    value_text = expected.get("Value", "")
    if record.function in ("manufacturer_specific", "more_records_follow"):
        # libmbus's files show manufacturer bytes in frame order (see the corpus README).
        ours = _our_value_as_text(record)
        if ours != value_text.upper():
            problems.append(f"manufacturer data {ours!r} != {value_text!r}")
        return problems
    if mapping is not None and record.unit != mapping[0]:
        problems.append(f"unit {record.unit!r} != {mapping[0]!r} ({unit_key})")
    value = record.value
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        try:
            theirs = Decimal(value_text) * (mapping[1] if mapping else Decimal(1))
        except ArithmeticError:
            problems.append(f"value {value} vs non-number {value_text!r}")
            return problems
        if abs(Decimal(value) - theirs) > Decimal("0.000001") * max(Decimal(1), abs(theirs)):
            problems.append(f"value {value} != {theirs}")
    else:
        ours = _our_value_as_text(record)
        # libmbus appends "Z" although type F/I times are the meter's local time (Annex A).
        if ours.strip() != value_text.strip().removesuffix("Z"):
            problems.append(f"value {ours!r} != {value_text!r}")
    return problems


@pytest.mark.parametrize("path", libmbus_files("test-frames"), ids=lambda p: p.stem)
def test_test_frame_matches_libmbus(path: Path) -> None:
    telegram = mbus.decode(hex_bytes(path))
    expected_root = read_xml(path.with_suffix(".norm.xml"))
    raw_root = read_xml(path.with_suffix(".xml"))
    expected: list[dict[str, str]] = []
    for norm, raw in zip(expected_root.findall("DataRecord"), raw_root.findall("DataRecord"),
                         strict=True):
        fields = {child.tag: (child.text or "") for child in norm}
        if not fields:
            # libmbus cannot normalise an unknown VIF (e.g. 0x7B with no VIFE): it leaves the
            # record empty; its raw file has the unscaled value, which is what we keep too.
            fields = {child.tag: (child.text or "") for child in raw if child.tag != "Unit"}
            assert "unknown_vif" in " ".join(telegram.records[len(expected)].flags) or \
                telegram.records[len(expected)].quantity == "unknown"
        expected.append(fields)
    assert len(telegram.records) == len(expected)
    problems = []
    for index, (want, record) in enumerate(zip(expected, telegram.records, strict=True)):
        found = _compare(path.stem, index, want, record)
        if found and (path.stem, index) not in LIBMBUS_DEVIATIONS:
            problems.append(f"record {index}: " + "; ".join(found))
        if not found and (path.stem, index) in LIBMBUS_DEVIATIONS:
            problems.append(f"record {index}: listed as a deviation but agrees with libmbus")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", libmbus_files("test-frames"), ids=lambda p: p.stem)
def test_test_frame_header_matches_libmbus(path: Path) -> None:
    telegram = mbus.decode(hex_bytes(path))
    info = read_xml(path.with_suffix(".xml")).find("SlaveInformation")
    assert info is not None and telegram.header is not None
    assert int(telegram.header.id or "0", 16) == int(info.findtext("Id") or "0", 16)
    assert telegram.header.access_number == int(info.findtext("AccessNumber") or -1)
    assert telegram.header.status == int(info.findtext("Status") or "-1", 16)
    if info.findtext("Manufacturer") is not None:
        assert telegram.header.manufacturer == info.findtext("Manufacturer")
        assert telegram.header.version == int(info.findtext("Version") or -1)
        assert telegram.header.signature == int(info.findtext("Signature") or "-1", 16)


def _error_frames(with_xml: bool) -> list[Path]:
    return [p for p in libmbus_files("error-frames") if p.with_suffix(".xml").exists() == with_xml]


@pytest.mark.parametrize("path", _error_frames(True), ids=lambda p: p.stem)
def test_application_error_frames(path: Path) -> None:
    telegram = mbus.decode(hex_bytes(path))
    assert telegram.error is not None
    element = next(read_xml(path.with_suffix(".xml")).iter("Error"))
    expected = (element.text or "").strip().lower()
    ours = telegram.error.message.lower()
    # libmbus words some messages differently; both name the same condition.
    key_words = {"unspecified": "unspecified", "ci": "ci", "too long": "too long",
                 "records": "records", "premature": "premature", "dife": "dife",
                 "vife": "vife", "busy": "busy", "readouts": "readouts"}
    matched = [word for word in key_words if word in expected]
    assert matched, f"no key word of {expected!r} known"
    assert all(key_words[word] in ours for word in matched), (ours, expected)
    assert telegram.to_dict()["error"]["message"] == telegram.error.message


@pytest.mark.parametrize("path", _error_frames(False), ids=lambda p: p.stem)
def test_malformed_frames_raise_typed_error(path: Path) -> None:
    data = hex_bytes(path)
    with pytest.raises(mbus.DecodeError) as caught:
        mbus.decode(data)
    error = caught.value
    assert error.field is not None and error.offset is not None
    assert 0 <= error.offset <= len(data)
    assert error.field in str(error) and str(error.offset) in str(error)


def test_unsupported_frames_raise_or_decode() -> None:
    require(LIBMBUS)
    outcomes = {}
    for path in libmbus_files("unsupported-frames"):
        text = path.read_text(encoding="utf-8").split()
        try:
            data = bytes.fromhex("".join(text))
        except ValueError:
            outcomes[path.stem] = "not hex"
            continue
        try:
            telegram = mbus.decode(data)
        except mbus.DecodeError as error:
            outcomes[path.stem] = f"{type(error).__name__}: {error.field}"
        else:
            outcomes[path.stem] = telegram.frame.control.function  # type: ignore[union-attr]
    assert outcomes == {
        "invalid_length": "FrameError: L",  # L = 0 cannot hold C, A and CI
        "invalid_length2": "RecordError: fixed_data",  # 15 bytes of fixed data, 16 needed
        "manual_frame1": "not hex",  # odd number of hex digits
        "manual_frame4": "SND_UD",  # set primary address 8 (EN 13757-3:2018 11.3)
        "manual_frame5": "SND_UD",  # write enhanced identification
        "manual_frame6": "SND_UD",  # write identification and energy
        # Well-formed: DIF 0x1F right after the header, the rest is manufacturer data.
        "svm_f22_telegram2": "RSP_UD",
    }


def test_set_address_frame_decodes_as_the_standard_says() -> None:
    path = require(LIBMBUS) / "unsupported-frames" / "manual_frame4.hex"
    telegram = mbus.decode(hex_bytes(path))
    (record,) = telegram.records
    assert (record.quantity, record.value) == ("bus_address", 8)
    assert telegram.frame.control.from_master  # type: ignore[union-attr]


def test_corpus_present_or_skipped() -> None:
    require(LIBMBUS)
    assert len(libmbus_files("test-frames")) == 76
