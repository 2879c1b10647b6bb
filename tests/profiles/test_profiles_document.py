"""MeterProfiles.document: the meter part's dict written from the records' JSON forms must
say what the made fields say (apply(...).to_dict()), whatever the values."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mbus.records
from profiles import UNITS, MeterProfiles, ProfileError, load_meter_profile
from profiles import _engine as engine
from profiles._engine import _conversion
from profiles._fields import field_json
from profiles._layouts import LayoutHead, scaled_value
from tests.profiles.heads import METER_HEADER, Head


def _json(value: object) -> object:
    """A record's JSON form, as the decoders write it (ints and texts here)."""
    assert isinstance(value, (int, str)) or value is None
    return value


def _both(library: MeterProfiles, records: Sequence[tuple[Head, object]],
          status: int | None) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(document(...), apply(...).to_dict()) for one telegram of manufacturer ABC."""
    dicts = [{"value": _json(value)} for _, value in records]
    written = library.document(records, dicts, lambda head, data: data, "ABC", 1, 7, 0x72,
                               status)
    made = library.apply([head for head, _ in records], lambda index: records[index][1],
                         manufacturer="ABC", version=1, device_type=7, ci=0x72,
                         status=status)
    return written, made.to_dict()


# A profile with a field and status tables of the header and of a record (the tests of
# texts kept per plan).
_STATUS_PROFILE = METER_HEADER + '''[[fields]]
name = "total_kwh"
quantity = "energy"
unit = "kWh"
'''
_STATUS_TABLES = '''[[status]]
header = true
bits = { "0x04" = "POWER_LOW" }
[[status]]
vib = "ff20"
bits = { "0x01" = "DRY", "0x04" = "LEAK" }
[[status]]
vib = "ff20"
into = "time_dry"
mask = 0x70
values = { "0x00" = "", "0x70" = "22-31 days" }
unknown = "{value}"
'''


def test_status_texts_follow_each_telegrams_values(tmp_path: Path) -> None:
    # One library, one record layout, many values: texts kept per layout must never be
    # another value's.
    path = tmp_path / "meter.toml"
    path.write_text(_STATUS_PROFILE + _STATUS_TABLES, encoding="utf-8")
    library = MeterProfiles([load_meter_profile(path)])
    seen = set()
    # Decoders share head objects between telegrams (the engine plans by their ids).
    energy_head = Head("energy", "Wh")
    info_head = Head("manufacturer_specific", vif_hex="ff20",
                     extensions=("manufacturer_vife_0x20",))
    for energy, info, status in itertools.product((0, 1500, 2000, -7), (0, 1, 5, 0x71, 0x20),
                                                  (None, 0, 4, 0x0C)):
        records = [(energy_head, energy), (info_head, info)]
        written, made = _both(library, records, status)
        assert written == made
        seen.add((written or {})["fields"]["status"])
    assert {"OK", "DRY", "DRY LEAK", "POWER_LOW DRY LEAK", "POWER_LOW"} <= seen


# Heads a decoder shares between telegrams, and values their records can have (None: no
# value, so the plan without that record).
_POOL = [Head("energy", "Wh"), Head("energy", "Wh", storage=1), Head("power", "W"),
         Head("volume", "m3"), Head("manufacturer_specific", vif_hex="ff20",
                                     extensions=("manufacturer_vife_0x20",))]
_STRUCTURE_LIBRARY: list[MeterProfiles] = []


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(range(len(_POOL))),
                          st.sampled_from([0, 1, 1500, 2000, -7, 0x71, None])),
                min_size=1, max_size=6),
       st.sampled_from(["ABC", "XYZ"]), st.sampled_from([None, 0, 4]))
def test_a_structure_stands_for_its_heads(records: list[tuple[int, object]],
                                          manufacturer: str, status: int | None) -> None:
    # document() finds the plan by the structure the decoder passes where it has one, by
    # the heads' ids elsewhere: both must write what apply() makes, for one library that
    # sees many telegrams (ABC: a profile with status tables; XYZ: generic names).
    if not _STRUCTURE_LIBRARY:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "meter.toml"
            path.write_text(_STATUS_PROFILE + _STATUS_TABLES, encoding="utf-8")
            _STRUCTURE_LIBRARY.append(MeterProfiles([load_meter_profile(path)]))
    library = _STRUCTURE_LIBRARY[0]
    pairs = [(_POOL[index], value) for index, value in records]
    heads = tuple(head for head, _ in pairs)
    structure = _STRUCTURES.setdefault(tuple(index for index, _ in records), heads)
    dicts = [{"value": _json(value)} for _, value in pairs]
    made = library.apply(list(heads), lambda index: pairs[index][1],
                         manufacturer=manufacturer, version=1, device_type=7, ci=0x72,
                         status=status).to_dict()
    for given_structure in (structure, None, structure):
        written = library.document(pairs, dicts, lambda head, data: data, manufacturer, 1, 7,
                                   0x72, status, b"", None, given_structure)
        assert written == made
        assert list((written or {})["fields"]) == list(made["fields"])


def test_a_structure_takes_the_entry_its_heads_had(monkeypatch: pytest.MonkeyPatch) -> None:
    # A decoder passes a structure only once it knows where the records lie: the profile
    # found and the plan made for the heads before serve it, without a second search.
    library = MeterProfiles()
    pairs = [(Head("energy", "Wh"), 1500), (Head("volume", "m3"), 7)]
    heads = tuple(head for head, _ in pairs)
    dicts = [{"value": _json(value)} for _, value in pairs]
    first = library.document(pairs, dicts, lambda head, data: data, "ABC", 1, 7, 0x72, 0,
                             b"", None, None)

    def searched(*args: object) -> None:
        raise AssertionError("profile searched again for heads it has an entry for")

    monkeypatch.setattr(library, "find", searched)
    assert library.document(pairs, dicts, lambda head, data: data, "ABC", 1, 7, 0x72, 0,
                            b"", None, heads) == first


# One structure object per sequence of heads, kept alive as a decoder's layouts keep theirs.
_STRUCTURES: dict[tuple[int, ...], tuple[Head, ...]] = {}


def test_generic_names_follow_each_telegrams_values() -> None:
    library = MeterProfiles()
    heads = [Head("energy", "Wh"), Head("energy", "Wh", storage=1), Head("power", "W"),
             Head("volume", "m3"), Head("energy", "J"), Head("on_time", "s")]
    for energy, power, volume in itertools.product(
            (0, 1, 999, 1000, -1500, 123456789, 10**15 - 1, 10**15, 10**20),
            (7, 5000, -10**16), (None, 3, "12a4")):
        records = list(zip(heads, (energy, energy, power, volume, energy, energy),
                           strict=True))
        written, made = _both(library, records, 0)
        assert written == made, records


@pytest.mark.parametrize("difference", [False, True])
def test_int_arithmetic_converts_as_the_decimal_way(difference: bool) -> None:
    values = [0, 1, -1, 7, 9, 10, 999, 1000, 1500, -1500, 3600, 1800, 36000, 123456789,
              3600000, 10**14 + 1, 10**15 - 1, 10**15, -(10**15), 10**18 + 3]
    taken = 0
    for source, target in itertools.permutations(UNITS, 2):
        if UNITS[source][0] != UNITS[target][0]:
            continue
        quantity = "temperature_difference" if difference else "energy"
        conversion = _conversion(source, target, True, quantity, None)
        assert conversion is not None
        for value in values:
            fast = conversion.number_json(value)
            if fast is None:
                continue
            taken += 1
            slow = conversion.json(value)
            assert (type(fast), fast) == (type(slow), slow), (source, target, value)
    assert taken > 3000
    wh = _conversion("Wh", "kWh", True, "energy", None)
    assert wh is not None
    assert (wh.number_json(1000), wh.number_json(1500)) == (1, 1.5)
    joules = _conversion("J", "kWh", True, "energy", None)
    assert joules is not None
    assert joules.number_json(1) == "2.777777777777777777777777778E-7"
    hours = _conversion("s", "h", True, "energy", None)
    assert hours is not None
    assert (hours.number_json(9000), hours.number_json(-900)) == (2.5, -0.25)
    assert _conversion("kWh", "kWh", False, "energy", Decimal("0.01")) is not None


# Every conversion by a fraction, both ways of temperature.
_RATIOS = [conversion for source, target in itertools.permutations(UNITS, 2)
           for quantity in ("energy", "temperature_difference")
           if UNITS[source][0] == UNITS[target][0]
           and (conversion := _conversion(source, target, True, quantity, None)) is not None
           and conversion.ratio is not None]


@given(st.sampled_from(_RATIOS), st.integers(min_value=-(10**18), max_value=10**18))
@example(_conversion("s", "h", True, "energy", None), 9000)
@example(_conversion("s", "h", True, "energy", None), 999999999999999 * 9)
@example(_conversion("min", "h", True, "energy", None), 3)
def test_ints_convert_as_the_decimal_way(conversion: Any, value: int) -> None:
    fast = conversion.number_json(value)
    slow = conversion.json(value)  # the decimal way
    assert fast is None or (type(fast), fast) == (type(slow), slow), (conversion, value)


# The conversions by a fraction over a power of ten, which number_json makes from floats.
_DECIMAL_RATIOS = [conversion for source, target in itertools.permutations(UNITS, 2)
                   if UNITS[source][0] == UNITS[target][0]
                   and (conversion := _conversion(source, target, True, "energy", None))
                   is not None and conversion.ratio is not None and conversion.ratio[3]]


@given(st.sampled_from(_DECIMAL_RATIOS),
       st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
       st.integers(min_value=1, max_value=20))
@example(_conversion("W", "kW", True, "power", None), 0, 1)
@example(_conversion("W", "kW", True, "power", None), 15000, 1)
@example(_conversion("Wh", "MWh", True, "energy", None), 999999999999999, 3)
@example(_conversion("W", "kW", True, "power", None), 99999999999999, 6)
@example(_conversion("W", "kW", True, "power", None), 100000000000001, 6)
def test_floats_of_decimals_convert_as_the_decimal_way(conversion: Any, mantissa: int,
                                                      places: int) -> None:
    # A record whose Python value is a Decimal of at most 15 digits: its JSON value is
    # that decimal's float.
    value = Decimal(mantissa).scaleb(-places)
    fast = conversion.number_json(float(value))
    slow = field_json(conversion.python(value))  # the decimal way
    assert fast is None or (type(fast), fast) == (type(slow), slow), (conversion, value)


@given(st.sampled_from(_DECIMAL_RATIOS), st.floats(allow_nan=False, allow_infinity=False))
@example(_conversion("W", "kW", True, "power", None), 0.0)
@example(_conversion("W", "kW", True, "power", None), 1234.5677490234375)
@example(_conversion("W", "kW", True, "power", None), 1500.0)
def test_floats_convert_as_the_decimal_way(conversion: Any, value: float) -> None:
    # A record whose Python value is a float (REAL32 data): its JSON value is the float.
    fast = conversion.number_json(value)
    slow = field_json(conversion.python(value))  # the decimal way
    assert fast is None or (type(fast), fast) == (type(slow), slow), (conversion, value)


_FLOAT_RATIOS = [_conversion(conversion.source, conversion.target, True, "energy", None, True)
                 for conversion in _DECIMAL_RATIOS]


@given(st.sampled_from(_FLOAT_RATIOS), st.floats(allow_nan=False, allow_infinity=False))
@example(_conversion("W", "kW", True, "power", None, True), 0.0)
@example(_conversion("W", "kW", True, "power", None, True), -1500.0)
@example(_conversion("W", "kW", True, "power", None, True), 1234.5677490234375)
@example(_conversion("Wh", "MWh", True, "energy", None, True), 123456789012345.0)
def test_floats_of_real32_records_convert_as_the_decimal_way(conversion: Any, value: float
                                                             ) -> None:
    # A record whose head says REAL32: its Python value, and so its JSON value, is the float.
    fast = conversion.number_json(value)
    slow = field_json(conversion.python(value))  # the decimal way
    assert fast is None or (type(fast), fast) == (type(slow), slow), (conversion, value)


def test_real32_records_convert_whole_results_the_int_way() -> None:
    # What number_json leaves to the decimal way where the value may be a Decimal's float
    # (test_floats_take_the_int_way_where_the_value_says_which) it makes for REAL32 records.
    watts = _conversion("W", "kW", True, "power", None, True)
    assert watts is not None
    assert (watts.number_json(1000.0), watts.number_json(0.0)) == (1.0, 0.0)
    assert type(watts.number_json(0.0)) is float
    assert watts.number_json(1.5e-07) is None and watts.number_json("nan") is None
    assert engine._gives_floats(Head("power", "W", coding="real32"))
    assert not engine._gives_floats(Head("power", "W"))
    assert not engine._gives_floats(LayoutHead("power", "W"))
    real32, int32 = mbus.records.decode_records(bytes.fromhex("052b0000803f" "042b00000000"))
    assert engine._gives_floats(real32.shape) and not engine._gives_floats(int32.shape)


def test_floats_take_the_int_way_where_the_value_says_which() -> None:
    watts = _conversion("W", "kW", True, "power", None)
    assert watts is not None
    assert (watts.number_json(1.5), watts.number_json(-2500.5)) == (0.0015, -2.5005)
    assert watts.number_json(1234.5677490234375) == 1.2345677490234375  # only a float's
    # A whole result or one over 15 digits: int or text from a Decimal, float from a float.
    assert watts.number_json(1000.0) is None
    assert watts.number_json(0.0) is None
    kilowatts = _conversion("kW", "W", True, "power", None)
    assert kilowatts is not None and kilowatts.number_json(123456789012.345) is None
    assert watts.number_json(1e-05) == 1e-08  # six places at most: no repr() needed
    assert watts.number_json(1.5e-07) is None and watts.number_json(1e16) is None
    joules = _conversion("J", "kWh", True, "energy", None)
    assert joules is not None and joules.number_json(1.5) is None


def test_scales_apply_to_ints_as_the_decimal_way() -> None:
    values = [0, 1, -1, 7, 10, 99, 100, 1500, -1500, 123456789, 10**13 - 1, 10**13,
              10**15 - 1, 10**15, -(10**15), 10**18 + 3]
    for text in ("0.01", "0.5", "0.25", "2.50", "1", "2", "1E+3", "0.001", "1E-12", "7E-1"):
        conversion = _conversion("kWh", "kWh", False, "energy", Decimal(text))
        assert conversion is not None and conversion.scaling is not None
        for value in values:
            fast = conversion.number_json(value)
            slow = conversion.json(value)
            assert fast is None or (type(fast), fast) == (type(slow), slow), (text, value)
            assert fast is not None or abs(value) * conversion.scaling[0] >= 10**15
    negative = _conversion("kWh", "kWh", False, "energy", Decimal("-0.5"))
    assert negative is not None and negative.number_json(3) is None


def test_computed_fields_are_written_as_apply_makes_them(tmp_path: Path) -> None:
    # Formulas (one failing for some values), a date, a lookup that can miss, a hidden
    # input, a status table reading a computed field, units converted on the way.
    path = tmp_path / "meter.toml"
    path.write_text(METER_HEADER + '''[lookups]
modes = { "0" = "idle", "1" = "run", "2" = 7 }
[[fields]]
name = "per_count"
formula = "100 / count"
[[fields]]
name = "total_kwh"
quantity = "energy"
unit = "kWh"
[[fields]]
name = "count"
quantity = "on_time"
hidden = true
[[fields]]
name = "packed"
quantity = "manufacturer_specific"
[[fields]]
name = "mode"
formula = "bits(packed, 0, 2)"
lookup = "modes"
[[fields]]
name = "day"
[fields.date]
year = "2000 + bits(packed, 9, 7)"
month = "bits(packed, 5, 4)"
day = "bits(packed, 0, 5)"
[[fields]]
name = "double_mwh"
formula = "total_kwh * 2"
unit = "MWh"
[[fields]]
name = "flag"
formula = "if(count > 5, 1, 0)"
[[status]]
field = "flag"
bits = { "0x01" = "MANY" }
''', encoding="utf-8")
    library = MeterProfiles([load_meter_profile(path)])
    heads = [Head("energy", "Wh"), Head("on_time", "s"), Head("manufacturer_specific")]
    seen = set()
    for energy, count, packed, status in itertools.product(
            (0, 1500, -7, None), (0, 3, 8, None, "12a4"), (0, 3, 0x4C2A, 0x4C01),
            (None, 4)):
        records = list(zip(heads, (energy, count, packed), strict=True))
        if count == 0:  # 100 / count fails: apply raises, document leaves it to apply
            with pytest.raises(ProfileError):
                _both(library, records, status)
            dicts = [{"value": _json(value)} for _, value in records]
            assert library.document(records, dicts, lambda head, data: data, "ABC", 1, 7,
                                    0x72, status) is None
            continue
        written, made = _both(library, records, status)
        assert written == made
        assert list(written["fields"]) == list(made["fields"])  # the same order
        assert list(written["units"]) == list(made["units"])
        seen.update(written["fields"])
        seen.update(written.get("problems", ()))
    assert {"per_count", "mode", "day", "double_mwh", "flag", "status",
            "fields[4]: mode: 3 is not in lookups.modes"} <= seen
    assert "count" not in seen


def test_status_texts_of_computing_profiles_follow_each_telegrams_values(
        tmp_path: Path) -> None:
    # A profile that computes a field takes its record status texts from the texts kept
    # per plan, as a plain profile does: they must never be another telegram's.
    path = tmp_path / "meter.toml"
    path.write_text(_STATUS_PROFILE + '''[[fields]]
name = "double_kwh"
formula = "total_kwh * 2"
unit = "kWh"
''' + _STATUS_TABLES,
                    encoding="utf-8")
    library = MeterProfiles([load_meter_profile(path)])
    energy_head = Head("energy", "Wh")
    info_head = Head("manufacturer_specific", vif_hex="ff20",
                     extensions=("manufacturer_vife_0x20",))
    seen = set()
    for energy, info, status in itertools.product((0, 1500, -7), (0, 1, 5, 0x71, 0x20),
                                                  (None, 0, 4, 0x0C)):
        records = [(energy_head, energy), (info_head, info)]
        written, made = _both(library, records, status)
        assert written == made
        assert list((written or {})["fields"]) == list(made["fields"])
        seen.add((written or {})["fields"]["status"])
        seen.add(made["fields"].get("time_dry"))
    assert {"OK", "DRY", "DRY LEAK", "POWER_LOW DRY LEAK", "POWER_LOW"} <= seen
    assert {"22-31 days", "0x20"} <= seen


def _both_with_layouts(library: MeterProfiles, records: Sequence[tuple[Head, object]],
                       status: int | None, payload: bytes
                       ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """:func:`_both` for a telegram whose layouts read ``payload`` and records' bytes."""
    dicts = [{"value": value.hex() if isinstance(value, bytes) else value}
             for _, value in records]
    written = library.document(records, dicts, lambda head, data: data, "ABC", 1, 7, 0x72,
                               status, payload)

    def data_of(index: int) -> bytes:
        data = records[index][1]
        assert isinstance(data, bytes)
        return data

    made = library.apply([head for head, _ in records], lambda index: records[index][1],
                         manufacturer="ABC", version=1, device_type=7, ci=0x72,
                         status=status, payload=payload, data_of=data_of)
    return written, made.to_dict()


def test_layout_records_and_their_status_texts_follow_each_telegram(tmp_path: Path) -> None:
    # Layouts of the payload and of a record (present in some telegrams, at different
    # places): where each reads is kept per telegram structure, the status texts of the
    # synthetic records per plan; both must follow each telegram.
    path = tmp_path / "meter.toml"
    path.write_text(METER_HEADER + '''[[layouts]]
from = "payload"
items = [ { offset = 1, quantity = "flags", length = 1 },
          { quantity = "volume", length = 2, unit = "l", scale = "0.5", storage = 1 } ]
[[layouts]]
from = "record"
vib = "ff5f"
items = [ { quantity = "volume", length = 2, unit = "m3", scale = "0.001", storage = 2 } ]
[[fields]]
name = "total_m3"
quantity = "volume"
unit = "m3"
[[fields]]
name = "volume_{storage}_m3"
quantity = "volume"
storage = "1-2"
unit = "m3"
[[status]]
quantity = "flags"
bits = { "0x01" = "DRY", "0x04" = "LEAK" }
[[status]]
header = true
bits = { "0x04" = "POWER_LOW" }
''', encoding="utf-8")
    library = MeterProfiles([load_meter_profile(path)])
    volume_head = Head("volume", "m3")
    data_head = Head("manufacturer_specific", vif_hex="ff5f",
                     extensions=("manufacturer_vife_0x5f",))
    seen = set()
    for flags, record_bytes, order, status in itertools.product(
            (0, 1, 5), (b"\x10\x27", b"\xff", None), (1, -1), (None, 4)):
        records: list[tuple[Head, object]] = [(volume_head, 1234)]
        if record_bytes is not None:
            records = [*records, (data_head, record_bytes)][::order]
        payload = bytes([0x78, flags, 0x10, 0x00])
        written, made = _both_with_layouts(library, records, status, payload)
        assert written == made, (flags, record_bytes, order, status)
        assert list((written or {})["fields"]) == list(made["fields"])
        seen.add(made["fields"]["status"])
        seen.update(made["fields"])
        seen.update(made.get("problems", ()))
    assert {"OK", "DRY", "DRY LEAK", "DRY LEAK POWER_LOW", "volume_1_m3", "volume_2_m3"} <= seen
    assert any("needs 2 bytes" in text for text in seen)


# Layouts whose records come and go telegram by telegram: a gate, a repeat count, an unset
# date, a no-value pattern, a record of the telegram that has no value, units converted
# (litres to m3; a scale the int way cannot convert), status tables of both kinds.
_PATHS_PROFILE = METER_HEADER + '''[[layouts]]
from = "payload"
[[layouts.items]]
offset = 1
length = 1
name = "flags"
quantity = "flags"
[[layouts.items]]
quantity = "volume"
length = 2
unit = "l"
scale = "0.5"
storage = 1
present_if = { item = "flags", mask = 0x02 }
[[layouts.items]]
quantity = "date"
length = 2
type = "date"
storage = 1
[[layouts.items]]
quantity = "volume"
length = 1
unit = "l"
storage = 2
invalid = 0xff
[[layouts.items]]
length = 1
name = "count"
[[layouts.items]]
repeat = "count"
storage_start = 3
group = [ { quantity = "volume", length = 1, type = "bcd", unit = "m3", scale = "0.001" } ]
[[layouts]]
from = "record"
vib = "ff5f"
items = [ { quantity = "volume", length = 2, unit = "m3", scale = "0.3", storage = 9 },
          { quantity = "date", length = 2, type = "date", storage = 9 } ]
[[fields]]
name = "total_m3"
quantity = "volume"
unit = "m3"
[[fields]]
name = "volume_{storage}_m3"
quantity = "volume"
storage = "1-9"
unit = "m3"
[[fields]]
name = "date_{storage}"
quantity = "date"
storage = "1-9"
[[status]]
quantity = "flags"
bits = { "0x01" = "DRY", "0x04" = "LEAK" }
[[status]]
header = true
bits = { "0x04" = "POWER_LOW" }
'''
_PATHS_LIBRARY: list[MeterProfiles] = []
_VOLUME_HEAD = Head("volume", "m3")
_DATA_HEAD = Head("manufacturer_specific", vif_hex="ff5f",
                  extensions=("manufacturer_vife_0x5f",))


@settings(max_examples=300)
@example([bytes([0x78, 0x02, 0xd0, 0x07, 0x21, 0x1c, 0x05, 0x02, 0x12, 0x34]),
          bytes([0x78, 0x00, 0x00, 0x00, 0xff, 0x01, 0x99]),
          bytes([0x78, 0x02, 0x10, 0x00, 0x00, 0x00, 0x05, 0x02, 0x12, 0x34])],
         [b"\x10\x27\x21\x1c", b"\x10\x27\x00\x00", None, b"\x10"], [1234, None], None,
         False)
@given(st.lists(st.binary(min_size=1, max_size=12), min_size=1, max_size=4),
       st.lists(st.one_of(st.none(), st.binary(max_size=5)), min_size=1, max_size=4),
       st.lists(st.one_of(st.none(), st.integers(0, 5000)), min_size=1, max_size=2),
       st.sampled_from([None, 4]), st.booleans())
def test_plans_kept_per_layout_path_follow_each_telegram(
        payloads: list[bytes], record_bytes: list[bytes | None],
        volumes: list[int | None], status: int | None, tables: bool) -> None:
    # document() keeps a telegram structure's plan per path its layouts' bytes take: one
    # library sees many telegrams, each must come out as apply() makes it. Without status
    # tables, it reads the layouts quickly (JSON values alone) where it knows the plan.
    if not _PATHS_LIBRARY:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "meter.toml"
            for text in (_PATHS_PROFILE, _PATHS_PROFILE.split("[[status]]")[0]):
                path.write_text(text, encoding="utf-8")
                _PATHS_LIBRARY.append(MeterProfiles([load_meter_profile(path)]))
    library = _PATHS_LIBRARY[0 if tables else 1]
    for payload, data, volume in itertools.product(payloads, record_bytes, volumes):
        records: list[tuple[Head, object]] = [(_VOLUME_HEAD, volume)]
        if data is not None:
            records.append((_DATA_HEAD, data))
        written, made = _both_with_layouts(library, records, status, payload)
        assert written == made, (payload, data, volume)
        assert list((written or {})["fields"]) == list(made["fields"])


def test_quick_reads_read_the_values_again_where_a_conversion_needs_them(
        tmp_path: Path) -> None:
    # A profile without status tables or formulas: document() reads its layouts quickly
    # (JSON values alone) once it knows the path's plan. Litres x 0.5 converted to m3 that
    # come out whole (2000 x 0.5 l = 1 m3) take the Python value: read again then.
    path = tmp_path / "meter.toml"
    path.write_text(METER_HEADER + '''[[layouts]]
from = "payload"
items = [ { offset = 1, quantity = "volume", length = 2, unit = "l", scale = "0.5" },
          { quantity = "volume", length = 2, unit = "l", scale = "0.5", storage = 1 },
          { quantity = "date", length = 2, type = "date", storage = 1 } ]
[[fields]]
name = "total_m3"
quantity = "volume"
unit = "m3"
[[fields]]
name = "due_m3"
quantity = "volume"
storage = 1
unit = "m3"
[[fields]]
name = "due_date"
quantity = "date"
storage = 1
''', encoding="utf-8")
    library = MeterProfiles([load_meter_profile(path)])
    seen = []
    for volume, due, date in itertools.product((2000, 2001), (4000, 3), (b"\xc1\x11", b"\0\0")):
        payload = b"\x78" + volume.to_bytes(2, "little") + due.to_bytes(2, "little") + date
        written, made = _both_with_layouts(library, [], None, payload)
        assert written == made, (volume, due, date)
        seen.extend(made["fields"].values())
    assert 1 in seen and 2 in seen and 1.0005 in seen and "2000-01-01" not in seen


def test_each_layout_reads_with_its_own_blocks(tmp_path: Path) -> None:
    # A telegram structure holds each layout's blocks (_layout_reads): the record's layout
    # must read with its blocks, not the payload's, in document() and apply() alike.
    path = tmp_path / "meter.toml"
    path.write_text(METER_HEADER + '''[[layouts]]
from = "payload"
items = [ { offset = 1, quantity = "volume", length = 1, unit = "m3", storage = 1 } ]
[[layouts]]
from = "record"
vib = "ff5f"
items = [ { quantity = "volume", length = 2, unit = "m3", scale = "0.001", storage = 2 } ]
[[fields]]
name = "volume_{storage}_m3"
quantity = "volume"
storage = "1-2"
unit = "m3"
''', encoding="utf-8")
    library = MeterProfiles([load_meter_profile(path)])
    for _ in range(2):
        written, made = _both_with_layouts(library, [(_DATA_HEAD, b"\x10\x27")], None,
                                           b"\x78\x05")
        assert written == made
        assert made["fields"] == {"volume_1_m3": 5, "volume_2_m3": 10.0, "status": "OK"}


# Fields of one quantity taken by occurrence and by storage, for the records-without-a-value
# tests (a record without a value gives no field; the field takes the next record).
_MISSING_PROFILE = METER_HEADER + '''[[fields]]
name = "total_kwh"
quantity = "energy"
unit = "kWh"
[[fields]]
name = "second_kwh"
quantity = "energy"
occurrence = 2
[[fields]]
name = "previous_kwh"
quantity = "energy"
storage = 1
[[fields]]
name = "power_kw"
quantity = "power"
unit = "kW"
'''


def _one_at_a_time(library: MeterProfiles, heads: Sequence[Head],
                   values: Sequence[object]) -> list[tuple[str, int]]:
    """Which record each field takes, records without a value set aside one at a time
    (the first one met in field order, then the plan made again): the reference."""
    profile = library.profiles[0]
    missing: tuple[int, ...] = ()
    while True:
        takes = library._plan(profile, heads, len(heads), missing).takes
        unset = [index for _, index, _, _, _ in takes if values[index] is None]
        if not unset:
            return [(name, index) for name, index, _, _, _ in takes]
        missing = tuple(sorted((*missing, unset[0])))


_MISSING_LIBRARY: list[MeterProfiles] = []


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(range(len(_POOL))),
                          st.sampled_from([0, 1500, None])), min_size=1, max_size=8))
def test_records_without_a_value_set_aside_at_once_as_one_at_a_time(
        records: list[tuple[int, object]]) -> None:
    # The engine sets aside every record it takes that has no value at once; the fields
    # must be those of setting them aside one by one.
    if not _MISSING_LIBRARY:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "meter.toml"
            path.write_text(_MISSING_PROFILE, encoding="utf-8")
            _MISSING_LIBRARY.append(MeterProfiles([load_meter_profile(path)]))
    library = _MISSING_LIBRARY[0]
    pairs = [(_POOL[index], value) for index, value in records]
    heads = [head for head, _ in pairs]
    made = library.apply(heads, lambda index: pairs[index][1], manufacturer="ABC", version=1,
                         device_type=7, ci=0x72)
    taken = [(field.name, field.record) for field in made.fields if field.record is not None]
    assert sorted(taken) == sorted(_one_at_a_time(library, heads, [v for _, v in pairs]))
    written = library.document(pairs, [{"value": _json(value)} for _, value in pairs],
                               lambda head, data: data, "ABC", 1, 7, 0x72, None)
    assert written == made.to_dict()


def test_records_without_a_value_cost_one_more_plan_however_many(tmp_path: Path) -> None:
    # Meters leave many dates unset: a telegram whose plan takes several records without a
    # value takes one more plan, kept in the first by all those records at once.
    path = tmp_path / "meter.toml"
    path.write_text(_MISSING_PROFILE, encoding="utf-8")
    library = MeterProfiles([load_meter_profile(path)])
    energy, previous, power = Head("energy", "Wh"), Head("energy", "Wh", storage=1), Head(
        "power", "W")
    pairs = [(power, None), (previous, None), (energy, None), (power, 2500), (energy, 1500),
             (previous, 700)]
    dicts = [{"value": value} for _, value in pairs]
    written = library.document(pairs, dicts, lambda head, data: data, "ABC", 1, 7, 0x72, None)
    assert written is not None and written["fields"]["total_kwh"] == 1.5
    made = library.apply([head for head, _ in pairs], lambda index: pairs[index][1],
                         manufacturer="ABC", version=1, device_type=7, ci=0x72)
    assert [(field.name, field.record) for field in made.fields if field.record is not None
            ] == _one_at_a_time(library, [head for head, _ in pairs], [v for _, v in pairs])
    (first,) = [entry[1] for entry in library._documents.values()]
    assert first is not None and list(first.without) == [(0, 1, 2)]
    assert first.without[(0, 1, 2)].missing == (0, 1, 2)
    assert not first.without[(0, 1, 2)].without


def _json_by_digits(value: Decimal) -> int | float | str:
    """field_json of a Decimal as its rule says it: text where not finite, an int where no
    places (exponent >= 0), a float for at most 15 digits, else the exact text."""
    if not value.is_finite():
        return str(value)
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= 0:
        return int(value)
    return float(value) if len(digits) <= 15 else str(value)


@given(st.one_of(st.decimals(), st.decimals(places=3, allow_nan=False),
                 st.integers(-10**40, 10**40).flatmap(
                     lambda whole: st.integers(-40, 5).map(
                         lambda exponent: Decimal(f"{whole}E{exponent}")))))
@example(Decimal("-0.000"))
@example(Decimal("100.000"))
@example(Decimal("-0.00100"))
@example(Decimal("123456789012.345"))  # 15 digits: a float
@example(Decimal("1234567890123.456"))  # 16: text
@example(Decimal("0.0000001234"))  # written with an exponent
@example(Decimal("-0.00123456789012345"))  # 15 digits after the zeros: a float
def test_a_decimal_json_value_follows_its_digits(value: Decimal) -> None:
    """field_json counts the digits in the Decimal's text (not as_tuple): the same value,
    type included, -0.0 too."""
    found, expected = field_json(value), _json_by_digits(value)
    assert type(found) is type(expected)
    assert str(found) == str(expected)


def test_formulas_of_layout_records_without_status_tables_take_no_json_dicts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile whose formulas read layout records and that has no status tables gives
    _computed_document the telegram's own record dicts: no {"value": ...} dict is made
    per layout record (only status tables read them)."""
    path = tmp_path / "meter.toml"
    path.write_text(METER_HEADER + '''[[layouts]]
from = "payload"
items = [ { offset = 1, quantity = "volume", length = 2, unit = "m3", scale = "0.1" },
          { quantity = "volume", length = 2, unit = "m3", scale = "0.1", storage = 1 } ]
[[fields]]
name = "now_m3"
quantity = "volume"
origin = "layout"
unit = "m3"
[[fields]]
name = "then_m3"
quantity = "volume"
origin = "layout"
storage = 1
unit = "m3"
[[fields]]
name = "since_m3"
formula = "now_m3 - then_m3"
unit = "m3"
''', encoding="utf-8")
    library = MeterProfiles([load_meter_profile(path)])
    seen: list[int] = []
    computed = engine._computed_document

    def spy(profile: Any, plan: Any, fields: Any, record_dicts: Sequence[Mapping[str, object]],
            *rest: Any) -> Any:
        seen.append(len(record_dicts))
        return computed(profile, plan, fields, record_dicts, *rest)

    monkeypatch.setattr(engine, "_computed_document", spy)
    records = [(Head("volume", "m3"), Decimal("1.5"))]
    written, made = _both_with_layouts(library, records, None, bytes([0, 0x10, 0, 0x0a, 0]))
    assert written == made
    assert made["fields"]["since_m3"] == 0.6
    assert seen == [1]


@given(st.lists(st.tuples(st.integers(), st.binary(max_size=3)), max_size=4),
       st.lists(st.tuples(st.integers(0, 9),
                          st.one_of(st.integers(), st.text(max_size=3),
                                    st.tuples(st.integers(), st.integers(-5, 0)))),
                max_size=4),
       st.integers(-10, 10), st.integers(-10, 10), st.sampled_from([None, 1, 2, -1]))
def test_layout_pairs_and_dicts_read_as_the_lists_they_stand_for(
        records: list[tuple[int, bytes]], layout: list[tuple[Any, Any]], index: int,
        stop: int, step: int | None) -> None:
    """_written hands formulas and status tables the telegram's pairs and record dicts
    with the layouts' made where read: every index and slice as the lists made in full;
    the pairs' value function gives the telegram's records' values as the decoder's
    does, the layouts' made (scaled_value)."""
    layout = [(LayoutHead("volume", "m3", storage), value) for storage, value in layout]
    heads, values = [head for head, _ in layout], [value for _, value in layout]
    pairs = engine._WithLayouts(records, heads, values, lambda head, data: (head, data))
    assert [pairs.value(*pair) for pair in pairs] == [
        *records, *[scaled_value(value) for value in values]]
    expected: list[Any] = [*records, *layout]
    dicts = engine._WithLayoutDicts([{"value": data} for _, data in records], values)
    expected_dicts = [*[{"value": data} for _, data in records],
                      *[{"value": value} for value in values]]
    assert len(pairs) == len(expected) and len(dicts) == len(expected_dicts)
    assert list(pairs) == expected and list(dicts) == expected_dicts
    assert pairs[index:stop:step] == expected[index:stop:step]
    assert dicts[index:stop:step] == expected_dicts[index:stop:step]
    for found, wanted in ((pairs, expected), (dicts, expected_dicts)):
        if -len(wanted) <= index < len(wanted):
            assert found[index] == wanted[index]
        else:
            with pytest.raises(IndexError):
                found[index]


def _filled_in_plan_order(plan: Any, every: list[object], records: list[tuple[int, object]],
                          values: list[object] | None) -> object:
    """The reference of _taken_fields: the plan's fills in their order, each JSON value
    from the list of every record's (the telegram's, then the layouts'); None where a
    layout's Python value is needed and ``values`` is None."""
    fields = plan.template.copy()
    missing = tuple(sorted({index for _, index, _ in plan.fills if every[index] is None}))
    for name, index, conversion in plan.fills:
        found = every[index]
        if found is None:
            return missing
        if conversion is not None:
            converted = conversion.number_json(found)
            if converted is None:
                if index < len(records):
                    python = records[index][1]
                elif values is None:
                    return None
                else:
                    python = scaled_value(values[index - len(records)])
                converted = conversion.json(python)
                if converted is None:
                    return missing or (index,)
            found = converted
        fields[name] = found
    return fields


_FILL_CONVERSIONS = [None, _conversion("l", "m3", True, "volume", None),
                     _conversion("s", "h", True, "duration", None),
                     _conversion("m3", "m3", False, "volume", Decimal("0.3"))]


@settings(max_examples=300)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(-5000, 5000), st.just(2.5),
                                    st.just("12.5")),
                          st.one_of(st.none(), st.integers(-5000, 5000),
                                    st.just(Decimal("12.5")))), max_size=4),
       st.lists(st.sampled_from([(1500, 1500), (2.5, (25, -1)), ("7.25", Decimal("7.25")),
                                 (3, (3, 0))]), max_size=4),
       st.lists(st.tuples(st.integers(0, 7), st.sampled_from(range(len(_FILL_CONVERSIONS)))),
                max_size=6))
def test_fields_of_layout_paths_fill_as_in_the_plans_order(
        own: list[tuple[object, object]], layout: list[tuple[object, object]],
        takes: list[tuple[int, int]]) -> None:
    # _written fills a plan's fields from the telegram's record dicts and the layouts' JSON
    # values (its fills split by where they read: _PathPlan), the telegram's first: the
    # same fields, records without a value or converting to none, as the plan's order
    # over the list of every JSON value gives; where a layout's Python value is needed
    # and not read (a quick read), as once it is read.
    count = len(own)
    records = [(index, python) for index, (_, python) in enumerate(own)]
    record_dicts = [{"value": json} for json, _ in own]
    json_values = [json for json, _ in layout]
    values = [python for _, python in layout]
    every = [json for json, _ in own] + json_values
    fills = [(f"f{number}", index, _FILL_CONVERSIONS[conversion])
             for number, (index, conversion) in enumerate(takes) if index < len(every)]
    plan = engine._new_plan(None, (), [(name, index, "", "", conversion)
                                        for name, index, conversion in fills], {}, ())
    kept = engine._path_plan(plan, count)
    assert sorted([*kept.own, *[(name, place + count, conversion)
                                for name, place, conversion in kept.synthetic]],
                  key=plan.fills.index) == list(plan.fills)

    def taken(read: list[object] | None) -> object:
        return engine._taken_fields(plan, kept.own, kept.synthetic, record_dicts,
                                    json_values, records, read,  # type: ignore[arg-type]
                                    lambda head, data: data)

    wanted = _filled_in_plan_order(plan, every, records, values)
    found = taken(values)
    assert found == wanted
    assert not isinstance(found, dict) or list(found) == list(cast(dict[str, object], wanted))
    quick = taken(None)
    assert (found if quick is None else quick) == wanted
    reference = _filled_in_plan_order(plan, every, records, None)
    assert (wanted if reference is None else reference) == wanted


_SETTLED_HEADS = [_POOL[index] for index in (1, 0, 2, 0, 1, 0, 2)]


@settings(max_examples=200)
@example([["x", 1500, 1500, 1500, 1500, 1500, 1500], [1500] * 7])
@given(st.lists(st.tuples(st.sampled_from([None, 1500, "x"]),
                          st.lists(st.sampled_from([None, 1500]), min_size=6, max_size=6)),
                min_size=2, max_size=12).map(lambda telegrams: [
                    [first, *rest] for first, rest in telegrams]))
def test_settled_plans_follow_any_sequence_of_telegrams(patterns: list[list[object]]
                                                        ) -> None:
    # As below, for any sequence of telegrams of one structure; "x": a JSON value whose
    # Python value is None (the record the first field takes converts to none, so it is
    # set aside although its JSON value is not None).
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "meter.toml"
        path.write_text(_MISSING_PROFILE, encoding="utf-8")
        library = MeterProfiles([load_meter_profile(path)])
    heads = [_SETTLED_HEADS[1], *_SETTLED_HEADS[:1], *_SETTLED_HEADS[2:]]
    for pattern in patterns:
        python = [None if value == "x" else value for value in pattern]
        pairs = list(zip(heads, python, strict=True))
        written = library.document(pairs, [{"value": value} for value in pattern],
                                   lambda head, data: data, "ABC", 1, 7, 0x72, None)
        made = library.apply(heads, python.__getitem__, manufacturer="ABC", version=1,
                             device_type=7, ci=0x72)
        assert written == made.to_dict(), pattern


def test_a_settled_plan_follows_each_telegrams_records_without_a_value(
        tmp_path: Path) -> None:
    # document() keeps the plan a telegram with records without a value settled on, with
    # which records its chain of plans found without one: every pattern of values of one
    # structure, in turn and again, must come out as apply() makes it (an occurrence rule
    # and a rule by storage take other records as records lose their value).
    path = tmp_path / "meter.toml"
    path.write_text(_MISSING_PROFILE, encoding="utf-8")
    library = MeterProfiles([load_meter_profile(path)])
    heads = _SETTLED_HEADS
    patterns = list(itertools.product((None, 1500), repeat=len(heads)))
    for pattern in [*patterns, *patterns[::-1], *patterns[::3]]:
        pairs = [(head, value) for head, value in zip(heads, pattern, strict=True)]
        written = library.document(pairs, [{"value": value} for value in pattern],
                                   lambda head, data: data, "ABC", 1, 7, 0x72, None)
        made = library.apply(heads, pattern.__getitem__, manufacturer="ABC",
                             version=1, device_type=7, ci=0x72)
        assert written == made.to_dict(), pattern
    (entry,) = library._documents.values()
    assert entry[3].settled  # the last pattern's plan was kept
