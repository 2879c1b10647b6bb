"""Manufacturer byte layouts: synthetic records that field rules match; bounded reads."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mbus
from profiles import MeterProfile, ProfileError, apply_profile, load_meter_profile
from profiles._layouts import LayoutError, read_layout
from profiles.transforms import NO_CONTEXT, TRANSFORMS, TransformError

HEAD = '''kind = "meter"
[profile]
name = "meter"
description = "x"
[detect]
manufacturer = "ABC"
'''

LAYOUT = '''
[[layouts]]
from = "payload"
[[layouts.items]]
name = "config"
length = 1
[[layouts.items]]
quantity = "volume"
length = 4
type = "bcd"
unit = "m3"
scale = "0.001"
[[layouts.items]]
quantity = "flow_temperature"
length = 2
type = "int"
endian = "big"
unit = "degC"
scale = "0.1"
[[layouts.items]]
quantity = "battery_days"
length = 2
present_if = { item = "config", mask = 0x01 }
[[layouts.items]]
length = 1
type = "skip"
[[layouts.items]]
quantity = "alarm_bits"
length = 1
bits = "4-6"
[[layouts.items]]
quantity = "target_date"
type = "date"
storage = 1
[[layouts.items]]
quantity = "clock"
type = "datetime"
[[layouts.items]]
name = "months"
length = 1
[[layouts.items]]
group = [ { quantity = "volume", length = 2, unit = "l" } ]
repeat = "months"
storage_start = 1
[[layouts.items]]
quantity = "serial"
length = 3
type = "hex"
offset = 0
[[fields]]
name = "total_m3"
quantity = "volume"
origin = "layout"
unit = "m3"
[[fields]]
name = "flow_temperature_c"
quantity = "flow_temperature"
[[fields]]
name = "battery_days"
quantity = "battery_days"
[[fields]]
name = "alarm"
quantity = "alarm_bits"
[[fields]]
name = "target_date"
quantity = "target_date"
storage = 1
[[fields]]
name = "clock"
quantity = "clock"
[[fields]]
name = "consumption_{n}_months_ago_m3"
quantity = "volume"
storage = "1-3"
unit = "m3"
[[fields]]
name = "serial"
quantity = "serial"
'''


def profile_of(tmp_path: Path, text: str = LAYOUT) -> MeterProfile:
    path = tmp_path / "meter.toml"
    path.write_text(HEAD + text, encoding="utf-8")
    return load_meter_profile(path)


def payload(config: int, months: int) -> bytes:
    parts = [bytes([config]), bytes.fromhex("78563412"), (-125).to_bytes(2, "big", signed=True)]
    if config & 1:
        parts.append((400).to_bytes(2, "little"))
    parts += [b"\xee", bytes([0b0101_0000]),
              bytes([0x1F | (4 << 5), 0x0C | (2 << 4)]),  # 2020-12-31: year 20 = 0b10100
              bytes([30, 13, 0x1F | (4 << 5), 0x0C | (2 << 4)]),
              bytes([months])]
    parts += [(1000 * (index + 1)).to_bytes(2, "little") for index in range(months)]
    return b"".join(parts)


def test_a_layout_yields_records_that_fields_name(tmp_path: Path) -> None:
    profile = profile_of(tmp_path)
    data = payload(0x01, 2)
    result = apply_profile(profile, [], lambda index: None, payload=data)
    assert result.values == {
        "total_m3": Decimal("12345.678"), "flow_temperature_c": Decimal("-12.5"),
        "battery_days": 400, "alarm": 5, "target_date": "2020-12-31",
        "clock": "2020-12-31T13:30", "consumption_1_months_ago_m3": 1,
        "consumption_2_months_ago_m3": 2, "serial": data[:3].hex(), "status": "OK"}
    assert result.problems == ()
    assert result.units["consumption_1_months_ago_m3"] == "m3"


def test_a_gated_item_that_is_absent_reads_no_bytes(tmp_path: Path) -> None:
    result = apply_profile(profile_of(tmp_path), [], lambda index: None, payload=payload(0, 3))
    assert "battery_days" not in result.values
    assert result["alarm"] == 5 and result["consumption_3_months_ago_m3"] == 3


def test_bytes_that_end_early_keep_what_was_read_and_name_the_offset(tmp_path: Path) -> None:
    data = payload(0x01, 2)[:8]
    result = apply_profile(profile_of(tmp_path), [], lambda index: None, payload=data)
    assert result["total_m3"] == Decimal("12345.678")
    assert "battery_days" not in result.values
    assert result.problems == ("layouts[0]: item layouts[0].items[3] at byte 7: needs 2 "
                               "bytes, 1 left",)
    assert result.to_dict()["problems"] == list(result.problems)


def test_bad_bcd_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    data = bytearray(payload(0, 0))
    data[1] = 0xAB
    result = apply_profile(profile_of(tmp_path), [], lambda index: None, payload=bytes(data))
    assert "total_m3" not in result.values
    assert "at byte 1: ab563412 is not BCD" in result.problems[0]


@given(st.binary(max_size=80))
def test_any_bytes_give_records_or_a_layout_error(data: bytes) -> None:
    profile = PROFILE
    for layout in profile.layouts:
        records, fault = read_layout(layout, data)
        assert fault is None or isinstance(fault, LayoutError)
        assert len(records) <= 80


def _shipped_layout_profile() -> MeterProfile:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    (folder / "meter.toml").write_text(HEAD + LAYOUT, encoding="utf-8")
    return load_meter_profile(folder / "meter.toml")


PROFILE = _shipped_layout_profile()


def test_manufacturer_data_and_record_sources_through_mbus(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, '''
[[layouts]]
from = "manufacturer_data"
items = [ { quantity = "counter", length = 2 } ]
[[layouts]]
from = "record"
vib = "ff20"
items = [ { quantity = "flags", length = 1, bits = "0-1" } ]
[[fields]]
name = "counter"
quantity = "counter"
[[status]]
quantity = "flags"
origin = "layout"
bits = { "0x01" = "DRY", "0x02" = "LEAK" }
''')
    records = mbus.records.decode_records(bytes.fromhex("02ff2003000f3412"))
    result = apply_profile(profile, [record.shape for record in records],
                           lambda index: records[index].value,
                           data_of=lambda index: records[index].data)
    assert result.values == {"counter": 0x1234, "status": "DRY LEAK"}


@pytest.mark.parametrize(("items", "key", "message"), [
    ('[ { quantity = "x", length = 1, type = "float" } ]', "type", "'float' is not one of"),
    ('[ { quantity = "x", length = 9 } ]', "length", "above the maximum 8"),
    ('[ { quantity = "x", type = "date", length = 4 } ]', "length", "a date has 2 bytes"),
    ('[ { quantity = "x", length = 1, bits = "3-9" } ]', "bits", "not within the item's 8"),
    ('[ { quantity = "x", length = 1, type = "bcd", bits = "0-3" } ]', "bits",
     'bits are "first-last" of a uint or int item'),
    ('[ { length = 1 } ]', "quantity", "missing (an item without one needs a name"),
    ('[ { quantity = "x", length = 1, unit = "litre" } ]', "unit", "not a unit"),
    ('[ { quantity = "x", length = 1, present_if = { item = "nope", mask = 1 } } ]', "item",
     "no earlier item named 'nope'"),
    ('[ { group = [ { quantity = "x", length = 1 } ], repeat = "count" } ]', "repeat",
     "no earlier item named 'count'"),
    ('[ { group = [ { group = [], repeat = 1 } ], repeat = 2 } ]', "group", "groups do not nest"),
    ('[ { group = [ { quantity = "x", length = 1 } ], repeat = 65 } ]', "repeat", "0 to 64"),
    ('[ { quantity = "x", length = 1, colour = "red" } ]', "colour", "unknown key colour"),
])
def test_layout_faults_name_the_item_and_key(tmp_path: Path, items: str, key: str,
                                             message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        profile_of(tmp_path, f'[[layouts]]\nfrom = "payload"\nitems = {items}\n')
    assert message in str(caught.value)
    assert caught.value.key == key
    assert caught.value.table is not None and caught.value.table.startswith("layouts[0]")


def test_unknown_transforms_are_refused_and_known_ones_run(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no transform named 'rot13'"):
        profile_of(tmp_path, '[[layouts]]\nfrom = "payload"\ntransform = "rot13"\n'
                             'items = [ { quantity = "x", length = 1 } ]\n')
    profile = profile_of(tmp_path, '''
[[layouts]]
from = "payload"
transform = "nibble_swap"
items = [ { quantity = "volume", length = 2, type = "bcd", unit = "m3" } ]
[[fields]]
name = "total_m3"
quantity = "volume"
''')
    result = apply_profile(profile, [], lambda index: None, payload=bytes.fromhex("2143"))
    assert result["total_m3"] == 3412


def test_nibble_swap() -> None:
    swap = TRANSFORMS["nibble_swap"]
    assert swap(bytes.fromhex("12ab00f0"), NO_CONTEXT) == bytes.fromhex("21ba000f")
    assert swap(b"", NO_CONTEXT) == b""
    error = TransformError("bad", offset=3)
    assert error.offset == 3 and "at byte 3: bad" in str(error)
