"""MeterProfiles.document of profiles that compute fields: what it works out once per plan
(``profiles._engine._computing``: which computed fields a structure can give, which takes
formulas read as numbers) and the numbers it takes from the JSON values where they say the
number must give what apply() makes, for any structure and any values."""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from profiles import MeterProfiles, ProfileError, load_meter_profile
from profiles._fields import field_json, field_value
from tests.profiles.heads import METER_HEADER, Head

# Fields taking the records as they are, converted by a fraction over a power of ten
# (Wh -> kWh), by one without a finite decimal expansion (GJ -> kWh: 28-digit text), scaled;
# computed fields reading them and each other (sums, a quotient that can divide by zero, a
# lookup that can miss or give text, one that gives a number too large for formulas, a
# comparison, a date, formulas that give a computed field as it is); status tables reading a
# record field and a computed one.
_PROFILE = METER_HEADER + '''[lookups]
codes = { "0" = "zero", "1" = 10, "3" = 1.5 }
sizes = { "-8" = ''' + str(2**4100) + ''' }
[[fields]]
name = "a_kwh"
quantity = "energy"
unit = "kWh"
[[fields]]
name = "b_kwh"
quantity = "energy"
storage = 1
unit = "kWh"
[[fields]]
name = "c"
quantity = "volume"
scale = "0.5"
hidden = true
[[fields]]
name = "d"
quantity = "on_time"
hidden = true
[[fields]]
name = "e"
quantity = "manufacturer_specific"
[[fields]]
name = "sum_kwh"
formula = "a_kwh + b_kwh"
unit = "kWh"
[[fields]]
name = "per_d"
formula = "c / d"
[[fields]]
name = "code"
formula = "d - 1"
lookup = "codes"
hidden = true
[[fields]]
name = "twice_code"
formula = "code * 2"
[[fields]]
name = "size_code"
formula = "d - 1"
lookup = "sizes"
hidden = true
[[fields]]
name = "size_set"
formula = "size_code > 0"
[[fields]]
name = "big"
formula = "if(a_kwh > e, 1, 0)"
[[fields]]
name = "when"
[fields.date]
year = "2000 + e"
month = "d"
day = "1"
[[fields]]
name = "late"
formula = "sum_kwh + per_d + twice_code"
[[fields]]
name = "same"
formula = "late"
[[fields]]
name = "chosen"
formula = "if(d > 1, sum_kwh, pick(e, per_d, twice_code, same))"
[[fields]]
name = "read"
formula = "if(d > 1, a_kwh, c)"
[[status]]
field = "e"
bits = { "0x01" = "ONE", "0x02" = "TWO" }
[[status]]
field = "big"
into = "size"
bits = { "0x01" = "BIG" }
'''

# Heads a decoder shares between telegrams (the engine plans by their ids).
_HEADS = [Head("energy", "Wh"), Head("energy", "GJ", storage=1), Head("volume", "m3"),
          Head("on_time", "s"), Head("manufacturer_specific")]
# Values records can have: ints, Decimals of any exponent and length (one whose float is
# 0.0, one too large for formulas whose JSON int is not), floats (of decimals and not),
# texts (one that reads as a number), bytes; None: no value.
_VALUES = st.sampled_from([
    0, 1, 2, 4, -7, 1500, 10**20, Decimal("1.5"), Decimal("1E+3"), Decimal("0.001"),
    Decimal("2.50"), Decimal("12345678901234567.8"), Decimal("-0.000"), Decimal("1E-400"),
    Decimal("1E+1210"), 0.0, 1.5, 0.1, 1e-7, 3.4e38, -2.75, 1e-320, "text", "12",
    b"\x12\x34", None,
    # Numbers formulas refuse or read as fractions (the checks of ready programs).
    Decimal("1E+1300"), Decimal("1E-1300"), Decimal("1E-650"), 2**4100, Decimal("-0")])
_STATUS = _PROFILE.index("[[status]]")
# The same fields with status tables that read records (their texts kept per plan), and
# without status tables.
_PROFILES = {"fields": _PROFILE, "records": _PROFILE[:_STATUS] + '''[[status]]
quantity = "manufacturer_specific"
into = "flags"
bits = { "0x01" = "ONE", "0x02" = "TWO" }
[[status]]
quantity = "on_time"
bits = { "0x04" = "LATE" }
''', "none": _PROFILE[:_STATUS]}
_LIBRARY: dict[str, MeterProfiles] = {}


def _head(index: int, value: object, variant: str) -> Head:
    """Status tables that read records keep their texts per plan by the records' JSON
    values: a plan's heads fix the type of the value behind a JSON value (0 and 0.0 are
    one key), as a decoder's heads do. There each head stands for one type of value (plans
    are kept per equal heads: the type is in an attribute no rule reads)."""
    if variant != "records":
        return _HEADS[index]
    return _HEADS[index]._replace(vif_hex=type(value).__name__)


def _library(variant: str = "fields") -> MeterProfiles:
    if variant not in _LIBRARY:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "meter.toml"
            path.write_text(_PROFILES[variant], encoding="utf-8")
            _LIBRARY[variant] = MeterProfiles([load_meter_profile(path)])
    return _LIBRARY[variant]


def _json(value: object) -> object:
    """A record's JSON form, by the rules of record values."""
    found = field_value(value)
    return None if found is None else field_json(found)


@settings(max_examples=400)
@given(st.lists(st.tuples(st.sampled_from(range(len(_HEADS))), _VALUES),
                min_size=1, max_size=6),
       st.sampled_from([None, 0, 4]), st.sampled_from(sorted(_PROFILES)))
@example([(0, 1500), (1, 7), (2, Decimal("2.50")), (3, 2), (4, 1)], None, "fields")
@example([(0, 1.5), (1, Decimal("1E+3")), (2, 3), (3, 4), (4, 0)], 4, "fields")
@example([(0, "12"), (1, b"\x12\x34"), (3, 0)], None, "fields")
@example([(3, -7)], None, "fields")  # a lookup's number too large: then checked programs
def test_computed_fields_are_written_as_apply_makes_them(records: list[tuple[int, object]],
                                                          status: int | None,
                                                          variant: str) -> None:
    library = _library(variant)
    pairs = [(_head(index, value, variant), value) for index, value in records]
    dicts = [{"value": _json(value)} for _, value in pairs]
    written = library.document(pairs, dicts, lambda head, data: data, "ABC", 1, 7, 0x72,
                               status)
    made: dict[str, Any] | None
    try:
        made = library.apply([head for head, _ in pairs], lambda index: pairs[index][1],
                             manufacturer="ABC", version=1, device_type=7, ci=0x72,
                             status=status).to_dict()
    except ProfileError:  # a formula failed: document() leaves it to apply()
        made = None
    assert written == made
    assert json.dumps(written) == json.dumps(made)  # types too (2 == 2.0)
    if written is not None and made is not None:
        assert list(written["fields"]) == list(made["fields"])  # the same order
        assert list(written["units"]) == list(made["units"])


def test_a_profile_without_layouts_computes_from_the_plan_document_keeps(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """document() finds the plan of a computing profile without layouts by the telegram's
    structure, as for plain profiles: not the long way (_written) that layouts take."""
    library = MeterProfiles(_library().profiles)
    pairs = [(_HEADS[0], 1500), (_HEADS[1], 7), (_HEADS[2], Decimal("2.50")), (_HEADS[3], 2),
             (_HEADS[4], 1)]
    dicts = [{"value": _json(value)} for _, value in pairs]

    def written(*args: object) -> None:
        raise AssertionError("the long way")

    monkeypatch.setattr(MeterProfiles, "_written", written)
    for _ in range(2):  # the entry made, then found
        assert library.document(pairs, dicts, lambda head, data: data, "ABC", 1, 7, 0x72,
                                None) == library.apply(
            [head for head, _ in pairs], lambda index: pairs[index][1], manufacturer="ABC",
            version=1, device_type=7, ci=0x72).to_dict()
