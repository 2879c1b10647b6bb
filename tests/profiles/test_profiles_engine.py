"""Applying meter profiles to records: matching, conversion, expansion, status, formulas."""

from __future__ import annotations

import json
import pickle
from decimal import Decimal
from pathlib import Path

import pytest

from profiles import (
    MeterFields,
    ProfileError,
    apply_profile,
    generic_fields,
    load_meter_profile,
    load_meter_profiles,
)
from tests.profiles.heads import Head


def run(profile_text: str, records: list[tuple[Head, object]], tmp_path: Path,
        status: int | None = None) -> MeterFields:
    path = tmp_path / "meter.toml"
    path.write_text('kind = "meter"\n[profile]\nname = "meter"\ndescription = "x"\n'
                    '[detect]\nmanufacturer = "ABC"\n' + profile_text, encoding="utf-8")
    profile = load_meter_profile(path)
    heads = [head for head, _ in records]
    return apply_profile(profile, heads, lambda index: records[index][1], status=status,
                         meter_id="12345678")


def test_fields_match_by_quantity_storage_function_and_convert_exactly(tmp_path: Path) -> None:
    result = run('''
[[fields]]
name = "total_kwh"
quantity = "energy"
storage = 0
unit = "kWh"
[[fields]]
name = "target_kwh"
quantity = "energy"
storage = 1
unit = "kWh"
[[fields]]
name = "max_flow_l_h"
quantity = "volume_flow"
function = "maximum"
unit = "l/h"
[[fields]]
name = "flow_m3h"
quantity = "volume_flow"
''', [(Head("energy", "Wh"), 37351000), (Head("energy", "Wh", storage=1), Decimal("1234.5")),
      (Head("volume_flow", "m3/h", function="maximum"), Decimal("0.317")),
      (Head("volume_flow", "m3/h"), Decimal("0.012"))], tmp_path)
    assert result.values == {"total_kwh": 37351, "target_kwh": Decimal("1.2345"),
                             "max_flow_l_h": 317, "flow_m3h": Decimal("0.012"), "status": "OK"}
    assert result.units == {"total_kwh": "kWh", "target_kwh": "kWh", "max_flow_l_h": "l/h",
                            "flow_m3h": "m3/h"}
    assert [field.record for field in result.fields] == [0, 1, 2, 3, None]


def test_the_first_matching_record_wins_and_unconvertible_units_do_not_match(
        tmp_path: Path) -> None:
    result = run('''
[[fields]]
name = "total_kwh"
quantity = "energy"
unit = "kWh"
''', [(Head("energy", "cal"), 5), (Head("energy", "J"), 3600000), (Head("energy", "Wh"), 7)],
        tmp_path)
    assert result["total_kwh"] == 1  # cal is no unit meterkit converts; J is
    assert result.fields[0].record == 1


def test_extensions_vif_and_vib_selectors(tmp_path: Path) -> None:
    result = run('''
[[fields]]
name = "plain_m3"
quantity = "volume"
[[fields]]
name = "negative_m3"
quantity = "volume"
extensions = ["accumulation_abs_if_negative"]
[[fields]]
name = "any_m3"
quantity = "volume"
any_extensions = true
storage = 2
[[fields]]
name = "by_vif"
vif = "0x10-0x17"
storage = 3
[[fields]]
name = "by_vib"
vib = "FD 17"
''', [(Head("volume", "m3", extensions=("accumulation_abs_if_negative",), vif_hex="93bc"), 5),
      (Head("volume", "m3", vif_hex="13"), 6),
      (Head("volume", "m3", storage=2, extensions=("future_value",), vif_hex="13fe"), 7),
      (Head("volume", "m3", storage=3, vif_hex="95"), 8),
      (Head("volume", "m3", storage=3, vif_hex="18"), 9),
      (Head("error_flags", "", vif_hex="fd17"), 10)], tmp_path)
    assert result.values == {"plain_m3": 6, "negative_m3": 5, "any_m3": 7, "by_vif": 8,
                             "by_vib": 10, "status": "OK"}


def test_ranges_expand_into_indexed_names_in_file_order(tmp_path: Path) -> None:
    result = run('''
[[fields]]
name = "consumption_{n}_months_ago_m3"
quantity = "volume"
storage = "8-10"
[[fields]]
name = "energy_tariff_{tariff}_kwh"
quantity = "energy"
tariff = [1, 2]
unit = "kWh"
[[fields]]
name = "history_{storage}_m3"
quantity = "volume"
storage = "9-10"
n_start = 0
''', [(Head("volume", "m3", storage=10), 3), (Head("volume", "m3", storage=8), 1),
      (Head("energy", "Wh", tariff=2), 2000), (Head("energy", "Wh", tariff=1), 1000)],
        tmp_path)
    assert list(result.values) == ["consumption_1_months_ago_m3", "consumption_3_months_ago_m3",
                                   "energy_tariff_1_kwh", "energy_tariff_2_kwh",
                                   "history_10_m3", "status"]
    assert result["consumption_3_months_ago_m3"] == 3
    assert result["energy_tariff_2_kwh"] == 2


def test_values_that_are_dates_texts_or_floats(tmp_path: Path) -> None:
    import datetime as dt
    result = run('''
[[fields]]
name = "meter_date"
quantity = "date"
[[fields]]
name = "version"
quantity = "firmware_version"
[[fields]]
name = "power_kw"
quantity = "power"
unit = "kW"
[[fields]]
name = "empty"
quantity = "nothing"
''', [(Head("date"), dt.date(2024, 1, 31)), (Head("firmware_version"), b"\x01\x02"),
      (Head("power", "W"), 1234.5), (Head("nothing"), None)], tmp_path)
    assert result.values == {"meter_date": "2024-01-31", "version": "0102",
                             "power_kw": 1.2345, "status": "OK"}


def test_scale_and_temperature_differences(tmp_path: Path) -> None:
    result = run('''
[[fields]]
name = "total_m3"
quantity = "volume"
scale = "0.1"
[[fields]]
name = "delta_k"
quantity = "temperature_difference"
unit = "K"
[[fields]]
name = "flow_k"
quantity = "flow_temperature"
unit = "K"
''', [(Head("volume", "m3"), Decimal("64.08")), (Head("temperature_difference", "degF"), 9),
      (Head("flow_temperature", "degC"), Decimal("20"))], tmp_path)
    assert result.values == {"total_m3": Decimal("6.408"), "delta_k": 5,
                             "flow_k": Decimal("293.15"), "status": "OK"}


def test_formulas_read_fields_and_other_formulas(tmp_path: Path) -> None:
    text = '''
[[fields]]
name = "used_l"
formula = "used_m3 * 1000"
unit = "l"
[[fields]]
name = "used_m3"
formula = "total_m3 - target_m3"
unit = "m3"
[[fields]]
name = "total_m3"
quantity = "volume"
[[fields]]
name = "target_m3"
quantity = "volume"
storage = 1
[[fields]]
name = "ratio"
formula = "total_m3 / target_m3"
'''
    result = run(text, [(Head("volume", "m3"), Decimal("6.408")),
                        (Head("volume", "m3", storage=1), Decimal("6.1"))], tmp_path)
    assert result.values == {"used_l": 308, "used_m3": Decimal("0.308"),
                             "total_m3": Decimal("6.408"), "target_m3": Decimal("6.1"),
                             "ratio": Decimal("1.050491803278688524590163934"),
                             "status": "OK"}
    assert result.units["used_l"] == "l"
    missing = run(text, [(Head("volume", "m3"), Decimal("6.408"))], tmp_path)
    assert list(missing.values) == ["total_m3", "status"]  # no input, no value, no error
    with pytest.raises(ProfileError) as caught:
        run(text, [(Head("volume", "m3"), Decimal("6.408")),
                   (Head("volume", "m3", storage=1), 0)], tmp_path)
    assert "meter 12345678: division by zero" in str(caught.value)
    assert (caught.value.table, caught.value.key) == ("fields[4]", "formula")
    assert caught.value.file is not None and caught.value.file.endswith("meter.toml")


STATUS = '''
[[fields]]
name = "flags"
quantity = "error_flags"
[[status]]
header = true
bits = { "0x04" = "POWER_LOW", "0x18" = "BOTH" }
[[status]]
vib = "ff20"
bits = { "0x01" = "DRY", "0x04" = "LEAK" }
[[status]]
field = "flags"
ignore = 0x80
values = { "0" = "", "1" = "ALARM" }
unknown = "ERROR_{value}"
[[status]]
vib = "ff20"
into = "time_dry"
mask = 0x70
values = { "0x00" = "", "0x70" = "22-31 days" }
'''


@pytest.mark.parametrize(("header", "info", "flags", "status", "time_dry"), [
    (0, 0, 0, "OK", ""),
    (None, 0x71, 0, "DRY", "22-31 days"),
    (0x04, 0x05, 1, "POWER_LOW DRY LEAK ALARM", ""),
    (0x18, 0, 0x81, "BOTH ALARM", ""),  # a group of bits; 0x80 ignored
    (0x08, 0, 2, "ERROR_0x02", ""),  # one bit of a group is not enough
    (0, 0x20, 0, "OK", ""),  # an index value not listed, no unknown text: nothing
])
def test_status_tables_combine_into_one_field(tmp_path: Path, header: int | None, info: int,
                                              flags: int, status: str, time_dry: str) -> None:
    result = run(STATUS, [(Head("manufacturer_specific", vif_hex="ff20",
                                extensions=("manufacturer_vife_0x20",)), info),
                          (Head("error_flags"), flags)], tmp_path, status=header)
    assert result["status"] == status
    assert result["time_dry"] == time_dry


def test_a_status_field_whose_source_is_absent_is_not_given(tmp_path: Path) -> None:
    """No record, no text: a status field is given only when one of its tables read a
    value ("OK" would claim what the telegram does not say)."""
    text = STATUS + '[[status]]\nvib = "ff21"\ninto = "alarms"\nbits = { "0x01" = "A" }\n'
    info, alarms = (Head("manufacturer_specific", vif_hex=f"ff{vife:02x}",
                         extensions=(f"manufacturer_vife_0x{vife:02x}",)) for vife in (32, 33))
    result = run(text, [(Head("volume", "m3"), 1)], tmp_path)
    assert result.values == {}  # no table read a value, no header byte: no status either
    # No table of "status" read a value: the header byte's standard texts.
    only_records = '[[status]]\nvib = "ff20"\nbits = { "0x01" = "DRY" }\n'
    assert run(only_records, [], tmp_path, status=0x08)["status"] == "PERMANENT_ERROR"
    assert run(only_records, [(info, 1)], tmp_path, status=0x08)["status"] == "DRY"
    result = run(text, [(alarms, 0)], tmp_path, status=0)
    assert result.values == {"status": "OK", "alarms": "OK"}  # a bits table: no bit set
    result = run(text, [(alarms, 1), (info, 0x10)], tmp_path)
    assert result.values == {"status": "OK", "time_dry": "", "alarms": "A"}  # values: ""


def test_hidden_fields_feed_formulas_and_status_tables_but_are_not_output(
        tmp_path: Path) -> None:
    text = '''
[[fields]]
name = "low"
quantity = "low"
hidden = true
[[fields]]
name = "high"
quantity = "high"
hidden = true
[[fields]]
name = "flags"
quantity = "error_flags"
hidden = true
[[fields]]
name = "total"
formula = "high * 256 + low"
[[status]]
field = "flags"
into = ["alarms", "status"]
bits = { "0x01" = "LEAK" }
'''
    result = run(text, [(Head("low"), 2), (Head("high"), 1), (Head("error_flags"), 1)],
                 tmp_path)
    assert result.values == {"total": 258, "status": "LEAK", "alarms": "LEAK"}
    assert result.to_dict()["fields"] == {"total": 258, "status": "LEAK", "alarms": "LEAK"}
    profile = load_meter_profile(tmp_path / "meter.toml")
    assert profile.hidden_fields == {"low", "high", "flags"}
    result = run(text, [(Head("low"), 2), (Head("high"), 1)], tmp_path, status=0x04)
    assert result.values == {"total": 258, "status": "POWER_LOW"}  # no flags: no alarms


def test_a_bits_table_says_ok_or_its_none_text_when_no_bit_is_set(tmp_path: Path) -> None:
    text = '''
[[status]]
quantity = "contents"
into = "contents"
none = ""
bits = { "0x01" = "BATTERY" }
[[status]]
quantity = "contents"
into = "alarms"
bits = { "0x80" = "LEAK" }
'''
    assert run(text, [(Head("contents"), 0)], tmp_path, status=0).values == {
        "status": "OK", "contents": "", "alarms": "OK"}
    assert run(text, [(Head("contents"), 0x81)], tmp_path, status=0).values == {
        "status": "OK", "contents": "BATTERY", "alarms": "LEAK"}


def test_a_profile_whose_status_sources_are_all_absent_gives_no_status(
        tmp_path: Path) -> None:
    """Nothing in the telegram says how the meter is: no status rather than a false OK."""
    text = '[[fields]]\nname = "v"\nquantity = "volume"\n[[status]]\nquantity = "error_flags"\n' \
        'bits = { "0x01" = "LEAK" }\n'
    assert run(text, [(Head("volume"), 1)], tmp_path).values == {"v": 1}
    assert run(text, [(Head("volume"), 1)], tmp_path, status=0).values == {"v": 1,
                                                                           "status": "OK"}
    assert run(text, [(Head("error_flags"), 0)], tmp_path).values == {"status": "OK"}


def test_without_status_tables_the_header_byte_gives_the_standard_status(
        tmp_path: Path) -> None:
    text = '[[fields]]\nname = "v"\nquantity = "volume"\n'
    assert run(text, [], tmp_path, status=0x00)["status"] == "OK"
    assert run(text, [], tmp_path, status=0x0C)["status"] == "POWER_LOW PERMANENT_ERROR"
    assert run(text, [], tmp_path, status=0x13)["status"] == "ABNORMAL_CONDITION TEMPORARY_ERROR"


def test_generic_names_for_any_meter() -> None:
    records = [(Head("volume", "m3", vif_hex="13"), Decimal("6.408")),
               (Head("volume", "m3", storage=1), Decimal("6.1")),
               (Head("energy", "Wh", tariff=2), 1500),
               (Head("flow_temperature", "degC", function="minimum", storage=1), 19),
               (Head("volume", "m3"), Decimal("7")),
               (Head("volume_flow", "m3/h", extensions=("future_value",)), Decimal("0.5")),
               (Head("relative_humidity", "%"), 40),
               (Head("manufacturer_data", function="manufacturer_specific"), b"\x01"),
               (Head("fabrication_number"), 1234)]
    result = generic_fields([head for head, _ in records], lambda index: records[index][1],
                            status=0x04)
    assert result.profile is None
    assert result.values == {
        "volume_m3": Decimal("6.408"), "volume_m3_storage_1": Decimal("6.1"),
        "energy_kwh_tariff_2": Decimal("1.5"), "flow_temperature_c_storage_1_minimum": 19,
        "volume_m3_2": 7, "volume_flow_m3h_future_value": Decimal("0.5"),
        "relative_humidity_pct": 40, "fabrication_number": 1234, "status": "POWER_LOW"}
    assert result.units["energy_kwh_tariff_2"] == "kWh"


def test_generic_names_number_repeats_past_names_taken() -> None:
    # The third "count" record finds count_2 and count_3 (a record's own name) taken.
    heads = [Head("count"), Head("count"), Head("count_3"), Head("count"), Head("count"),
             Head("", "m3"), Head("volume", "", extensions=("", "future_value"))]
    result = generic_fields(heads, lambda index: index)
    assert [field.name for field in result.fields] == [
        "count", "count_2", "count_3", "count_4", "count_5", "m3", "volume_future_value",
        "status"]
    assert [field.record for field in result.fields][:5] == [0, 1, 2, 3, 4]


def test_to_dict_follows_the_json_rules_of_record_values(tmp_path: Path) -> None:
    result = run('''
[[fields]]
name = "a"
quantity = "a"
[[fields]]
name = "b"
quantity = "b"
[[fields]]
name = "c"
quantity = "c"
[[fields]]
name = "d"
quantity = "d"
''', [(Head("a", "m3"), Decimal("6.408")), (Head("b"), Decimal("1E+3")),
      (Head("c"), Decimal("1234567890.123456789")), (Head("d"), 12)], tmp_path)
    document = result.to_dict()
    assert document == {"profile": "meter",
                        "fields": {"a": 6.408, "b": 1000, "c": "1234567890.123456789", "d": 12,
                                   "status": "OK"},
                        "units": {"a": "m3"}}
    assert json.loads(json.dumps(document)) == document
    assert pickle.loads(pickle.dumps(result)) == result


def test_shipped_profiles_and_generic_fields_through_the_library() -> None:
    library = load_meter_profiles()
    records = [(Head("volume", "m3"), Decimal("1"))]
    unknown = library.apply([head for head, _ in records], lambda index: records[index][1],
                            manufacturer="ZZZ", version=1, device_type=7)
    assert unknown.profile is None and unknown["volume_m3"] == 1
