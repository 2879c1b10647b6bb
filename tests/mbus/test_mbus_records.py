"""Application layer (EN 13757-3:2018): codings, DIF/DIFE, VIF tables, VIFEs, special DIFs.

Expected values are worked out by hand from the standard's tables, not taken
from this decoder.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from decimal import Decimal

import pytest

import mbus
import mbus.records


def one(hex_text: str, *, from_master: bool = False) -> mbus.Record:
    (record,) = mbus.records.decode_records(bytes.fromhex(hex_text.replace(" ", "")),
                                    from_master=from_master)
    return record


# --- Annex A codings ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "value", "flags"),
    [
        ("3412", 1234, ()),
        ("23f1", -123, ()),  # type A: 0xF in the top nibble makes it negative
        ("000000f0", 0, ()),
        ("3a12", "123A", ("invalid_bcd",)),
        ("ffff", "FFFF", ("invalid_bcd",)),
    ],
)
def test_type_a_bcd(raw: str, value: int | str, flags: tuple[str, ...]) -> None:
    assert mbus.records.decode_bcd(bytes.fromhex(raw)) == (value, flags)


def test_type_g_date() -> None:
    # 2021-02-01: day 1, month 2, year 21 = 0b0010101 split 3 + 4 bits.
    assert mbus.records.decode_type_g(bytes((0xA1, 0x22))) == (dt.date(2021, 2, 1), ())
    assert mbus.records.decode_type_g(b"\xff\xff") == (None, ("invalid_date",))
    assert mbus.records.decode_type_g(bytes((0xA0, 0x22)))[1] == ("invalid_date",)  # day 0


def test_type_f_date_time_with_flags() -> None:
    raw = bytes((10, 20, 0xA1, 0x22))
    assert mbus.records.decode_type_f(raw) == (dt.datetime(2021, 2, 1, 20, 10), ())
    assert mbus.records.decode_type_f(bytes((10 | 0x80, 20 | 0x80, 0xA1, 0x22)))[1] == (
        "time_invalid", "summer_time")
    # Year 99 (hundred-year bits 0) is 1999; year 80 is 2080.
    assert mbus.records.decode_type_f(bytes((0, 0, 0x61, 0xC1)))[0] == dt.datetime(1999, 1, 1)


def test_type_i_and_j() -> None:
    raw = bytes((30, 10, 20, 0xA1, 0x22, 0))
    assert mbus.records.decode_type_i(raw) == (dt.datetime(2021, 2, 1, 20, 10, 30), ())
    assert mbus.records.decode_type_i(bytes((30, 10 | 0x80, 20, 0xA1, 0x22, 0)))[1] == (
        "time_invalid",)
    assert mbus.records.decode_type_j(bytes((59, 48, 11))) == (dt.time(11, 48, 59), ())


@pytest.mark.parametrize(
    ("lvar", "length"),
    [(0x00, 0), (0xBF, 191), (0xC3, 3), (0xC9, 9), (0xD2, 2), (0xE0, 0), (0xEF, 15),
     (0xF0, 16), (0xF4, 32), (0xF5, 48), (0xF6, 64), (0xF7, None), (0xCA, None)],
)
def test_lvar_lengths_follow_table_5(lvar: int, length: int | None) -> None:
    # 0xC0-0xC9: (LVAR - C0h) * 2 digits, i.e. LVAR - C0h bytes (not twice that, as libmbus).
    assert mbus.records.lvar_length(lvar) == length


# --- DIF, DIFE ---------------------------------------------------------------------------------

def test_dif_function_and_storage_lsb() -> None:
    record = one("5a 13 3412")  # DIF 0101 1010: storage LSB 1, function 01 maximum, BCD4
    assert (record.function, record.storage, record.shape.coding) == ("maximum", 1, "bcd4")
    assert record.value == Decimal("1.234")


def test_difes_assemble_storage_tariff_subunit() -> None:
    # DIF C4: storage LSB 1; DIFE 93: storage 3, tariff 1; DIFE 40: subunit 1 (second DIFE).
    record = one("c4 93 40 13 01000000")
    assert (record.storage, record.tariff, record.subunit) == (1 | 3 << 1, 1, 1 << 1)


def test_dife_and_vife_limits() -> None:
    ten = "84" + "80" * 9 + "00"  # DIF and exactly ten DIFE
    assert one(ten + "13 01000000").storage == 0
    with pytest.raises(mbus.RecordError) as caught:
        mbus.records.decode_records(bytes.fromhex("84" + "80" * 10 + "00" + "1301000000"))
    assert caught.value.field == "DIFE" and caught.value.offset == 11
    with pytest.raises(mbus.RecordError) as caught:
        mbus.records.decode_records(bytes.fromhex("04 93" + "a2" * 10 + "22" + "01000000"))
    assert caught.value.field == "VIFE"


@pytest.mark.parametrize(
    ("data", "field"),
    [("84", "DIFE"), ("04", "VIF"), ("04 93", "VIFE"), ("04 13 0100", "data"),
     ("0d 13", "LVAR"), ("0d 13 c3 0102", "data"), ("02 fc 05 4142", "VIF"),
     ("0d 13 f7", "LVAR"), ("3f", "DIF")],
)
def test_cut_off_records_name_the_field(data: str, field: str) -> None:
    with pytest.raises(mbus.DecodeError) as caught:
        mbus.records.decode_records(bytes.fromhex(data.replace(" ", "")))
    assert caught.value.field == field


# --- VIF tables --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("record_hex", "quantity", "unit", "value"),
    [
        ("04 06 e7910000", "energy", "Wh", 37351000),  # 0x06: 10^(6-3) Wh
        ("04 0e 01000000", "energy", "J", 1000000),  # 0x0E: 10^6 J
        ("04 14 2cdb0000", "volume", "m3", Decimal("561.08")),  # 0x14: 10^(4-6) m3
        ("02 1b 0500", "mass", "kg", 5),  # 0x1B: 10^0 kg
        ("02 22 0200", "on_time", "s", 7200),  # hours -> seconds
        ("02 27 0200", "operating_time", "s", 172800),  # days -> seconds
        ("02 2b 0a00", "power", "W", 10),
        ("02 3b 1f02", "volume_flow", "m3/h", Decimal("0.543")),
        ("01 43 01", "volume_flow", "m3/h", Decimal("0.0060")),  # 10^-4 m3/min
        ("01 4f 01", "volume_flow", "m3/h", Decimal("36")),  # 10^-2 m3/s
        ("02 59 e803", "flow_temperature", "degC", Decimal("10.00")),
        ("02 5d e803", "return_temperature", "degC", Decimal("10.00")),
        ("02 61 e803", "temperature_difference", "K", Decimal("10.00")),
        ("02 67 0500", "external_temperature", "degC", 5),
        ("02 69 0500", "pressure", "bar", Decimal("0.05")),
        ("02 6e 0500", "hca_units", "", 5),
        ("02 74 0100", "actuality_duration", "s", 1),
        ("0c 78 17588506", "fabrication_number", "", 6855817),
        ("01 7a 08", "bus_address", "", 8),
        ("04 fb 00 05000000", "energy", "Wh", 500000),  # FB 0x00: 10^-1 MWh
        ("04 fb 09 05000000", "energy", "J", 5000000000),  # FB 0x09: 10^0 GJ
        ("02 fb 1a 0500", "relative_humidity", "%", Decimal("0.5")),
        ("02 fb 2d 3213", "frequency", "Hz", Decimal("49.14")),
        ("02 fd 48 fd08", "voltage", "V", Decimal("230.1")),
        ("02 fd 59 1027", "current", "A", Decimal("10.00")),
        ("02 fd 02 0500", "credit", "currency", Decimal("0.5")),
        ("02 fd 6d 0200", "battery_operating_time", "s", 172800),  # FD 0x6D: days
        ("02 fd 74 0200", "remaining_battery_life", "s", 172800),  # in days
        ("01 fd 1c 60", "baud_rate", "", 96),
    ],
)
def test_vif_tables(record_hex: str, quantity: str, unit: str, value: object) -> None:
    record = one(record_hex)
    assert (record.quantity, record.unit) == (quantity, unit)
    assert record.value == value
    assert type(record.value) is type(value)


def test_time_points() -> None:
    assert one("02 6c a122").value == dt.date(2021, 2, 1)
    assert one("04 6d 0a14a122").value == dt.datetime(2021, 2, 1, 20, 10)
    assert one("06 6d 1e0a14a12200").value == dt.datetime(2021, 2, 1, 20, 10, 30)
    assert one("03 6d 3b300b").value == dt.time(11, 48, 59)
    invalid = one("04 6d 8a14a122")
    assert invalid.flags == ("time_invalid",) and invalid.to_dict()["flags"] == ["time_invalid"]


def test_combinable_vifes() -> None:
    assert one("01 93 7d 05").value == 5000 * Decimal("0.001")  # x 10^3 correction
    assert one("01 93 70 05").value == Decimal("5E-9")  # x 10^-6 correction
    # Additive correction 10^(nn-3) in the VIF's unit: 20 degC + 1 degC.
    assert one("01 db 7b 14").value == 21
    per_hour = one("01 96 22 05")
    assert (per_hour.unit, per_hour.shape.extensions) == ("m3/h", ("per_h",))
    phase = one("02 fd c8 fc 01 fd08")
    assert (phase.quantity, phase.shape.extensions) == ("voltage", ("phase_L1",))
    limit = one("02 ab 48 0a00")
    assert limit.shape.extensions == ("upper_limit_value",)


def test_record_errors_and_object_actions_depend_on_direction() -> None:
    slave = one("04 86 15 00000000")
    assert slave.shape.record_error == "no_data_available"
    assert slave.to_dict()["record_error"] == "no_data_available"
    master = one("04 86 00 00000000", from_master=True)
    assert master.shape.action == "write"


def test_plain_text_vif_unit_is_reversed_text() -> None:
    # From libmbus's ELV frame: "HR%" sent last character first, then VIFE 74 (x 10^-2).
    record = one("02 fc 03 485225 74 d411")
    assert (record.quantity, record.unit, record.value) == ("custom", "%RH", Decimal("45.64"))


def test_manufacturer_vif_and_unknown_codes_keep_going() -> None:
    records = mbus.records.decode_records(
        bytes.fromhex("01ff2105" "02fd770100" "047b05000000" "0113 07"))
    manufacturer, unknown, missing, volume = records
    assert (manufacturer.quantity, manufacturer.value) == ("manufacturer_specific", 5)
    assert manufacturer.shape.extensions == ("manufacturer_vife_0x21",)
    assert unknown.quantity == "unknown" and "unknown_vif" in unknown.flags
    assert missing.quantity == "unknown" and "missing_extension_vife" in missing.flags
    assert volume.value == Decimal("0.007")


def test_special_difs() -> None:
    records = mbus.records.decode_records(bytes.fromhex("2f2f 0113 05 2f 0f 0102030405"))
    volume, manufacturer = records
    assert volume.value == Decimal("0.005")
    assert manufacturer.function == "manufacturer_specific"
    assert manufacturer.value == bytes.fromhex("0102030405")
    assert manufacturer.to_dict()["value"] == "0102030405"  # bytes in frame order
    (more,) = mbus.records.decode_records(bytes.fromhex("1f aabb"))
    assert more.function == "more_records_follow"
    (readout,) = mbus.records.decode_records(b"\x7f", from_master=True)
    assert readout.function == "global_readout"
    with pytest.raises(mbus.RecordError):
        mbus.records.decode_records(b"\x7f")


def test_lvar_data() -> None:
    assert one("0d fd0c 03 434241").value == "ABC"
    assert one("0d 13 d2 3412").value == Decimal("-1.234")
    assert one("0d 13 c2 3412").value == Decimal("1.234")
    assert one("0d 13 e2 1027").value == Decimal("10.000")
    binary = one("0d 13 f0" + "00112233445566778899aabbccddeeff")
    assert binary.value == bytes.fromhex("00112233445566778899aabbccddeeff")


def test_real32_is_the_only_float() -> None:
    record = mbus.records.decode_records(b"\x05\x2b" + struct.pack("<f", 1.5))[0]
    assert record.value == 1.5 and isinstance(record.value, float)
    nan = mbus.records.decode_records(b"\x05\x2b" + struct.pack("<f", float("nan")))[0]
    assert nan.to_dict()["value"] == "nan" and "not_finite" in nan.flags


def test_json_values_are_exact() -> None:
    assert one("04 14 2cdb0000").to_dict()["value"] == 561.08
    assert json.dumps(one("04 14 2cdb0000").to_dict()["value"]) == "561.08"
    huge = one("07 10 ffffffffffffff7f")  # 2^63 - 1 at 10^-6 m3: more digits than a float holds
    assert huge.to_dict()["value"] == "9223372036854.775807"
    assert huge.value == Decimal("9223372036854.775807")
    json.dumps([record.to_dict() for record in mbus.records.decode_records(
        bytes.fromhex("0c7817588506" "046d0a14a122" "0f0102"))])


def test_msb_first_mode_2() -> None:
    (record,) = mbus.records.decode_records(bytes.fromhex("0414 0000db2c"), msb_first=True)
    assert record.value == Decimal("561.08")


def test_status_bits_are_named() -> None:
    # Table 5: bits 0-1 application state, bit 2 power low, bit 3 permanent error.
    assert mbus.records.status_flags(0x0D) == ("application_busy", "power_low", "permanent_error")
    assert mbus.records.status_flags(0) == ()
    header = mbus.Header(id="1", manufacturer="KAM", version=1, medium=4, access_number=1,
                         status=0x12, signature=0)
    assert header.to_dict()["status_flags"] == ["application_error", "temporary_error"]


def test_snd_ud_set_address_round_trip() -> None:
    record = mbus.build_record(0x7A, 8, coding="int8", from_master=True)
    telegram = mbus.build_telegram(address=0xFE, records=[record], ci=0x51, c=0x53)
    wire = telegram.encode()
    assert wire == bytes.fromhex("6806066853fe51017a082516")  # libmbus's manual_frame4
    decoded = mbus.decode(wire)
    assert decoded == telegram
    assert decoded.frame.control.function == "SND_UD"  # type: ignore[union-attr]


def test_fixed_data_structure() -> None:
    # libmbus's sen_pollusonic_2: BCD counters 6531 kWh and 69 l, medium heat.
    telegram = mbus.decode(bytes.fromhex("68131368080173939291901000056931650000690000003f16"))
    assert telegram.header is not None and telegram.header.medium_name == "heat"
    energy, volume = telegram.records
    assert (energy.quantity, energy.value, energy.unit) == ("energy", 6531000, "Wh")
    assert (volume.quantity, volume.value, volume.unit) == ("volume", Decimal("0.069"), "m3")


def test_record_error_says_how_far_decoding_got() -> None:
    good = bytes.fromhex("0413e8030000") + bytes.fromhex("026c5f2c")
    broken = bytes.fromhex("0c13") + bytes.fromhex("1234")  # BCD8 with 2 of its 4 bytes
    data = good + b"\x2f\x2f" + broken
    with pytest.raises(mbus.RecordError) as caught:
        mbus.records.decode_records(data)
    assert caught.value.records_before == mbus.records.decode_records(good)
    assert caught.value.record_offset == len(good) + 2  # after the fillers, at the DIF
    assert data[caught.value.record_offset:] == broken
    with pytest.raises(mbus.RecordError) as first:
        mbus.records.decode_records(broken)
    assert first.value.records_before == () and first.value.record_offset == 0
