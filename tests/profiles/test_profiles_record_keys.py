"""The keys family profiles need: record_unit, occurrence, and a layout item's invalid."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from profiles import MeterFields, ProfileError, apply_profile, load_meter_profile
from tests.profiles.heads import Head
from tests.profiles.test_profiles_engine import run

HEAD = 'kind = "meter"\n[profile]\nname = "meter"\ndescription = "x"\n' \
       '[detect]\nmanufacturer = "ABC"\n'


def test_record_unit_says_the_unit_of_a_record_that_has_none(tmp_path: Path) -> None:
    result = run('''
[[fields]]
name = "frequency_hz"
vib = "ff0b"
record_unit = "Hz"
[[fields]]
name = "power_kw"
vib = "ff842b"
record_unit = "W"
unit = "kW"
''', [(Head("manufacturer_specific", vif_hex="ff0b"), 49.5),
      (Head("manufacturer_specific", vif_hex="ff842b"), 7529)], tmp_path)
    assert result.values == {"frequency_hz": 49.5, "power_kw": Decimal("7.529"),
                             "status": "OK"}
    assert result.units == {"frequency_hz": "Hz", "power_kw": "kW"}


def test_record_unit_overrides_the_unit_the_record_says(tmp_path: Path) -> None:
    # Reactive energy sent under an active-energy VIF (the meter's subunit 1).
    result = run('''
[[fields]]
name = "total_reactive_energy_kvarh"
quantity = "energy"
subunit = 1
record_unit = "varh"
unit = "kvarh"
''', [(Head("energy", "Wh", subunit=1), 55764)], tmp_path)
    assert result["total_reactive_energy_kvarh"] == Decimal("55.764")
    assert result.units["total_reactive_energy_kvarh"] == "kvarh"


@pytest.mark.parametrize(("body", "key", "message"), [
    ('[[fields]]\nname = "x_kw"\nvib = "ff01"\nrecord_unit = "m3"\nunit = "kW"\n', "record_unit",
     "does not convert to the field's unit"),
    ('[[fields]]\nname = "x"\nvib = "ff01"\nrecord_unit = "litre"\n', "record_unit",
     "not a unit meterkit knows"),
    ('[[fields]]\nname = "x"\nformula = "1"\nrecord_unit = "W"\n', "formula",
     "leave out the record keys"),
    ('[[fields]]\nname = "x"\nvib = "ff01"\noccurrence = 0\n', "occurrence", "below the minimum 1"),
])
def test_faults_of_the_keys_name_file_table_and_key(tmp_path: Path, body: str, key: str,
                                                    message: str) -> None:
    path = tmp_path / "meter.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    with pytest.raises(ProfileError, match=message) as caught:
        load_meter_profile(path)
    assert (caught.value.table, caught.value.key) == ("fields[0]", key)


def test_occurrence_takes_the_nth_of_identical_records(tmp_path: Path) -> None:
    volume = Head("volume", "m3")
    profile_text = '''
[[fields]]
name = "heating_m3"
quantity = "volume"
[[fields]]
name = "cooling_m3"
quantity = "volume"
occurrence = 2
[[fields]]
name = "input_m3"
quantity = "volume"
occurrence = 4
'''
    two = run(profile_text, [(volume, Decimal("479.967")), (volume, Decimal("0.059"))], tmp_path)
    assert two.values == {"heating_m3": Decimal("479.967"), "cooling_m3": Decimal("0.059"),
                          "status": "OK"}
    four = run(profile_text, [(volume, 1), (volume, 2), (volume, 3), (volume, 4)], tmp_path)
    assert (four["cooling_m3"], four["input_m3"]) == (2, 4)


def layout_fields(tmp_path: Path, items: str, payload: bytes) -> MeterFields:
    path = tmp_path / "meter.toml"
    path.write_text(HEAD + '''
[[layouts]]
from = "payload"
items = [ ''' + items + ''' ]
[[fields]]
name = "value_{storage}"
quantity = "value"
origin = "layout"
storage = "0-3"
''', encoding="utf-8")
    return apply_profile(load_meter_profile(path), [], lambda index: None, payload=payload)


def test_an_items_invalid_pattern_gives_no_value(tmp_path: Path) -> None:
    result = layout_fields(
        tmp_path, '{ repeat = 3, group = [ { quantity = "value", length = 3, '
                  'invalid = 0xffffff } ] }, { quantity = "value", storage = 3, length = 2, '
                  'type = "int", invalid = -32768 }',
        bytes.fromhex("010000ffffff020000" "0080"))
    assert result.values == {"value_0": 1, "value_2": 2, "status": "OK"}


def test_invalid_is_for_integers_only(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="only uint and int items") as caught:
        layout_fields(tmp_path, '{ quantity = "value", length = 2, type = "bcd", '
                                'invalid = 0 }', b"")
    assert caught.value.key == "invalid"
