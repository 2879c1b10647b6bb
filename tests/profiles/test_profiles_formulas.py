"""Formula features of meter profiles: exact arithmetic, pow, comparisons and if(), unit
checks at load time, lookup tables, dates from packed bits, zero-padded expanded names and
the errors a formula gives at run time."""

from __future__ import annotations

import decimal
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profiles import (
    ExpressionError,
    MeterFields,
    ProfileError,
    UnitError,
    apply_profile,
    load_meter_profile,
    parse_expression,
    shipped_profiles,
)
from tests.profiles.heads import Head

HEAD = ('kind = "meter"\n[profile]\nname = "meter"\ndescription = "x"\n'
        '[detect]\nmanufacturer = "ABC"\n')


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "meter.toml"
    path.write_text(HEAD + text, encoding="utf-8")
    return load_meter_profile(path)


def run(tmp_path: Path, text: str, records: list[tuple[Head, object]],
        telegram: str | None = None) -> MeterFields:
    profile = load(tmp_path, text)
    return apply_profile(profile, [head for head, _ in records],  # type: ignore[arg-type]
                         lambda index: records[index][1], meter_id="12345678",
                         telegram=telegram)


def refused(tmp_path: Path, text: str) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        load(tmp_path, text)
    return caught.value


def unit_fault(tmp_path: Path, fields: str, formula: str, unit: str | None) -> UnitError:
    """The UnitError of loading ``fields`` and a field "bad" with this formula (and unit)."""
    extra = f'\n[[fields]]\nname = "bad"\nformula = "{formula}"\n'
    if unit is not None:
        extra += f'unit = "{unit}"\n'
    error = refused(tmp_path, fields + extra)
    assert isinstance(error, UnitError), error
    return error


# --- exact arithmetic -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("1 / 3 * 3", "1"),  # exact: 28-digit decimals gave 0.9999999999999999999999999999
    ("1 / 4", "0.25"),
    ("1 / 3", "0.3333333333333333333333333333"),  # no finite expansion: 28 digits
    ("2 / 3", "0.6666666666666666666666666667"),  # half to even
    ("1 / 1024 / 1024 / 1024 / 1024", "9.094947017729282379150390625E-13"),
    ("123456789012345678901234567890 + 1", "123456789012345678901234567891"),  # > 28 digits
    ("6.408 - 6.1", "0.308"),
    ("1.50 * 1000", "1500"),
])
def test_evaluation_is_exact_and_rounds_once(text: str, expected: str) -> None:
    result = parse_expression(text).evaluate({})
    assert result == Decimal(expected)
    assert str(result) == str(Decimal(expected))


# --- pow, comparisons and if() --------------------------------------------------------------

@pytest.mark.parametrize(("text", "values", "expected"), [
    ("pow(2, n + 2)", {"n": 3}, "32"),
    ("pow(10, -3)", {}, "0.001"),
    ("pow(x, 0)", {"x": 0}, "1"),
    ("pow(1.5, 2)", {}, "2.25"),
    ("if(x > 5, 1, 2)", {"x": 6}, "1"),
    ("if(x > 5, 1, 2)", {"x": 5}, "2"),
    ("if(x == 0, 0, 100 / x)", {"x": 0}, "0"),  # the other branch is not evaluated
    ("(x >= 2) + (x <= 2) + (x != 2) + (x < 2)", {"x": 2}, "2"),
    ("x - 1 < 2 * 3", {"x": 7}, "0"),  # comparisons bind loosest
])
def test_pow_comparisons_and_if(text: str, values: dict[str, int], expected: str) -> None:
    assert parse_expression(text).evaluate(values) == Decimal(expected)


@pytest.mark.parametrize(("text", "values", "message"), [
    ("pow(2, 0.5)", {}, "pow(): n must be a whole number"),
    ("pow(2, 65)", {}, "pow(): n must be -64 to 64"),
    ("pow(0, -1)", {}, "division by zero"),
    ("pow(pow(pow(10, 64), 64), 64)", {}, "number too large"),
    ("a * a", {"a": Decimal("1e300000000")}, "number too large"),
    ("1e999999999 + 1", {}, "number too large"),
    ("if(1, 2)", {}, None),
])
def test_pow_and_if_refusals(text: str, values: dict[str, object], message: str | None) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text).evaluate(values)  # type: ignore[arg-type]
    assert message is None or message in str(caught.value)


def test_comparisons_do_not_chain() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression("1 < x < 3")
    assert "comparisons do not chain" in str(caught.value)
    assert caught.value.position == 6



# --- square roots ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("sqrt(6.25)", "2.5"),  # a fraction: exact
    ("sqrt(0)", "0"),
    ("hypot(3, 4)", "5"),
    ("hypot(-3)", "3"),
    ("sqrt(2)", "1.414213562373095048801688724"),  # 1.41421356237309504880168872420969...
    ("sqrt(1 / 3)", "0.5773502691896257645091487805"),  # 0.57735026918962576450914878050...
    ("hypot(229000, 6300)", "229086.6429977967964723179996"),  # ...17995 7...: rounded up
    ("hypot(229, 4000)", "4006.549762576274304573071209"),  # ...1208 7295...: once, up
    ("sqrt(1e-60) * 1e30", "1"),
])
def test_square_roots_are_exact_or_rounded_once_to_28_digits(text: str, expected: str) -> None:
    result = parse_expression(text).evaluate({})
    assert result == Decimal(expected) and str(result) == str(Decimal(expected))


@pytest.mark.parametrize(("text", "message"), [
    ("sqrt(-1)", "square root of a negative number (-1)"),
    ("sqrt(x - 2)", "square root of a negative number (-1)"),
    ("sqrt(1, 2)", "sqrt() takes 1 argument(s), not 2"),
    ("hypot()", "hypot() takes at least 1 argument(s), not 0"),
    ("hypot(pow(pow(10, 64), 64), pow(10, 64))", "number too large"),
])
def test_square_root_refusals(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text).evaluate({"x": 1})
    assert message in str(caught.value)


POWER_TRIANGLE = '''
[[fields]]
name = "active_kwh"
quantity = "energy"
unit = "kWh"
[[fields]]
name = "reactive_kvarh"
quantity = "reactive_energy"
unit = "kvarh"
[[fields]]
name = "active_mwh"
quantity = "energy"
storage = 1
unit = "MWh"
'''


def test_hypot_of_active_and_reactive_energy_is_the_apparent_energy(tmp_path: Path) -> None:
    records: list[tuple[Head, object]] = [(Head("energy", "Wh"), 229000),
                                          (Head("reactive_energy", "varh"), 6300),
                                          (Head("energy", "Wh", storage=1), 4_000_000)]
    result = run(tmp_path, POWER_TRIANGLE + '''
[[fields]]
name = "apparent_kvah"
formula = "hypot(active_kwh, reactive_kvarh)"
unit = "kVAh"
[[fields]]
name = "apparent_vah"
formula = "hypot(reactive_kvarh, active_mwh)"
[[fields]]
name = "both_kwh"
formula = "hypot(active_kwh, active_mwh)"
[[fields]]
name = "plain_kwh"
formula = "hypot(active_kwh, 3)"
''', records)
    assert result["apparent_kvah"] == Decimal("229.0866429977967964723179996")
    assert result.units["apparent_kvah"] == "kVAh"
    assert result["apparent_vah"] == Decimal("4000004.96124692325362081331")  # in VAh
    assert result.units["apparent_vah"] == "VAh"
    assert result["both_kwh"] == Decimal("4006.549762576274304573071209")  # one dimension
    assert result.units["both_kwh"] == "kWh"
    assert result["plain_kwh"] == Decimal("229.0196498119757408690627158")  # 3 takes kWh


@pytest.mark.parametrize(("formula", "unit", "message"), [
    ("hypot(active_kwh, reactive_kvarh)", "kWh",
     "VAh (apparent_energy) does not convert to the field's unit kWh"),
    ("hypot(active_kwh, reactive_kvarh, 3)", None,
     "hypot() of energy and reactive_energy: give values of one dimension"),
    ("sqrt(active_kwh)", None, "sqrt() takes plain numbers here, not a value in kWh"),
    ("hypot(reactive_kvarh, reactive_kvarh, active_kwh, 1)", None,
     "hypot() of energy and reactive_energy: give values of one dimension, or an active and"),
])
def test_square_root_unit_faults_are_refused_at_load_time(
        tmp_path: Path, formula: str, unit: str | None, message: str) -> None:
    error = unit_fault(tmp_path, POWER_TRIANGLE, formula, unit)
    assert message in error.message, error.message
    assert (error.table, error.key) == ("fields[3]", "formula")


# --- unit checks at load time ---------------------------------------------------------------

FIELDS = '''
[[fields]]
name = "heat_kwh"
quantity = "energy"
unit = "kWh"
[[fields]]
name = "cold_mwh"
quantity = "energy"
storage = 1
unit = "MWh"
[[fields]]
name = "volume_m3"
quantity = "volume"
unit = "m3"
[[fields]]
name = "flow_c"
quantity = "flow_temperature"
unit = "degC"
[[fields]]
name = "return_k"
quantity = "return_temperature"
unit = "K"
'''
RECORDS = [(Head("energy", "Wh"), 1500), (Head("energy", "Wh", storage=1), 2_000_000),
           (Head("volume", "m3"), Decimal("6.408")), (Head("flow_temperature", "degC"), 60),
           (Head("return_temperature", "degC"), 40)]


def test_sums_convert_units_exactly_and_results_take_the_declared_unit(tmp_path: Path) -> None:
    result = run(tmp_path, FIELDS + '''
[[fields]]
name = "total_kwh"
formula = "heat_kwh + cold_mwh"
[[fields]]
name = "total_wh"
formula = "cold_mwh + heat_kwh"
unit = "Wh"
[[fields]]
name = "spread_k"
formula = "flow_c - return_k"
unit = "K"
[[fields]]
name = "share"
formula = "heat_kwh / cold_mwh"
[[fields]]
name = "larger_kwh"
formula = "max(heat_kwh, cold_mwh, 0)"
''', RECORDS)
    assert result["total_kwh"] == Decimal("2001.5")  # 1.5 kWh + 2 MWh
    assert result.units["total_kwh"] == "kWh"  # the unit of the result
    assert result["total_wh"] == 2_001_500  # (2 MWh + 1.5 kWh) in Wh
    assert result["spread_k"] == 20  # 60 degC - 313.15 K, a difference: 20 K
    assert result["share"] == Decimal("0.00075")  # 1.5 kWh / 2000 kWh
    assert result["larger_kwh"] == 2000


@pytest.mark.parametrize(("formula", "unit", "message"), [
    ("heat_kwh + volume_m3", None, "+ of kWh (energy) and m3 (volume)"),
    ("volume_m3 - heat_kwh", None, "- of m3 (volume) and kWh (energy)"),
    ("min(heat_kwh, volume_m3)", None, "min() of kWh (energy) and m3 (volume)"),
    ("if(1, heat_kwh, volume_m3)", None, "if() of kWh (energy) and m3 (volume)"),
    ("heat_kwh > volume_m3", None, "> of kWh (energy) and m3 (volume)"),
    ("heat_kwh - cold_mwh", "m3", "kWh (energy) does not convert to the field's unit m3"),
    ("flow_c + return_k", None, "+ of two absolute temperatures"),
    ("pow(heat_kwh, 2)", None, "pow() takes plain numbers here, not a value in kWh"),
    ("bits(volume_m3, 0, 2)", None, "bits() takes plain numbers here, not a value in m3"),
    ("hypot(heat_kwh, volume_m3)", None, "hypot() of energy and volume: give values of one"),
    ("hypot(flow_c, return_k)", None, "hypot() of temperatures"),
])
def test_unit_faults_are_refused_naming_file_table_and_key(
        tmp_path: Path, formula: str, unit: str | None, message: str) -> None:
    error = unit_fault(tmp_path, FIELDS, formula, unit)
    assert message in error.message
    assert (error.table, error.key) == ("fields[5]", "formula")
    assert error.file is not None and error.file.endswith("meter.toml")


def test_products_and_undeclared_units_are_not_checked(tmp_path: Path) -> None:
    result = run(tmp_path, '''
[[fields]]
name = "volume_m3"
quantity = "volume"
unit = "m3"
[[fields]]
name = "raw"
quantity = "energy"
[[fields]]
name = "volume_l"
formula = "volume_m3 * 1000"
unit = "l"
[[fields]]
name = "mixed"
formula = "raw + volume_m3"
''', [(Head("volume", "m3"), Decimal("6.408")), (Head("energy", "Wh"), 7)])
    assert result["volume_l"] == 6408  # a product is not converted again
    assert result["mixed"] == Decimal("13.408")  # raw's unit comes from its record


# --- lookup tables --------------------------------------------------------------------------

LOOKUPS = '''
[lookups]
modes = { "0" = "normal", "1" = "summer", "0x02" = "off" }
decades = { "0" = 1, "1" = 10, "2" = 100 }
[[fields]]
name = "config"
quantity = "parameter_set"
[[fields]]
name = "mode"
formula = "bits(config, 0, 2)"
lookup = "modes"
[[fields]]
name = "decade"
formula = "bits(config, 2, 2)"
lookup = "decades"
unit = "l"
'''


@pytest.mark.parametrize(("config", "mode", "decade"), [
    (0b0000, "normal", 1), (0b0101, "summer", 10), (0b1010, "off", 100)])
def test_lookup_tables_map_values_to_texts_and_numbers(
        tmp_path: Path, config: int, mode: str, decade: int) -> None:
    result = run(tmp_path, LOOKUPS, [(Head("parameter_set"), config)])
    assert (result["mode"], result["decade"]) == (mode, decade)
    assert result.units.get("decade") == "l" and "mode" not in result.units
    assert result.problems == ()


def test_a_value_missing_from_a_lookup_table_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    result = run(tmp_path, LOOKUPS, [(Head("parameter_set"), 0b1111)])
    assert "mode" not in result.values and "decade" not in result.values
    assert result.problems == ("fields[1]: mode: 3 is not in lookups.modes",
                               "fields[2]: decade: 3 is not in lookups.decades")


@pytest.mark.parametrize(("text", "table", "key", "message"), [
    ('[[fields]]\nname = "m"\nformula = "1"\nlookup = "nope"\n', "fields[0]", "lookup",
     "no table 'nope' in [lookups] (known: none)"),
    ('[lookups]\nt = { "x" = "a" }\n', "lookups", "t", "key 'x' is not a number"),
    ('[lookups]\nt = { "1" = true }\n', "lookups", "t", "the value must be a number or a text"),
    ('[lookups]\nt = { "1" = "a", "0x1" = "b" }\n', "lookups", "t",
     "two keys name the same number"),
    ('[lookups]\nt = { "1" = "a" }\n[[fields]]\nname = "m"\nformula = "1"\nlookup = "t"\n'
     'unit = "l"\n', "fields[0]", "unit", "lookups.t gives texts, which have no unit"),
    ('[lookups]\nt = { "1" = "a" }\n[[fields]]\nname = "m"\nquantity = "volume"\n'
     'lookup = "t"\n', "fields[0]", "lookup", "a lookup maps a formula's value"),
])
def test_lookup_refusals(tmp_path: Path, text: str, table: str, key: str, message: str) -> None:
    error = refused(tmp_path, text)
    assert (error.table, error.key) == (table, key)
    assert message in error.message


# --- dates from packed bits -----------------------------------------------------------------

DATE = '''
[[fields]]
name = "packed"
quantity = "parameter_set"
[[fields]]
name = "billing_date"
[fields.date]
year = "2000 + bits(packed, 9, 7)"
month = "bits(packed, 5, 4)"
day = "bits(packed, 0, 5)"
[[fields]]
name = "read_at"
date = { year = "2024", month = "1", day = "31", hour = "bits(packed, 0, 5) - 8", minute = "59" }
'''


def test_a_date_from_packed_bits(tmp_path: Path) -> None:
    packed = (24 << 9) | (12 << 5) | 31  # 2024-12-31
    result = run(tmp_path, DATE, [(Head("parameter_set"), packed)])
    assert result["billing_date"] == "2024-12-31"
    assert result["read_at"] == "2024-01-31T23:59"
    assert result.to_dict()["fields"]["billing_date"] == "2024-12-31"


@pytest.mark.parametrize("packed", [(24 << 9) | (0 << 5) | 31,  # month 0: "no date"
                                    (24 << 9) | (2 << 5) | 30])  # 30 February
def test_a_packed_value_that_is_no_date_gives_no_field(tmp_path: Path, packed: int) -> None:
    result = run(tmp_path, DATE, [(Head("parameter_set"), packed)])
    assert "billing_date" not in result.values


@pytest.mark.parametrize(("date", "extra", "key", "message"), [
    ('{ year = "2024", month = "1" }', "", "day", "missing (a date needs year, month"),
    ('{ year = "2024", month = "1", day = "1", hour = "1" }', "", "minute",
     "give hour and minute together"),
    ('{ year = "2024", month = "1", day = "1", week = "1" }', "", "week", "unknown key"),
    ('{ year = "2024", month = "1", day = "1 +" }', "", "day", "expression ends too early"),
    ('{ year = "2024", month = "1", day = "1" }', 'unit = "d"\n', "date",
     "a date has no unit, scale or lookup"),
    ('{ year = "2024", month = "1", day = "nope" }', "", "date",
     "date reads 'nope', which no field gives"),
])
def test_date_refusals(tmp_path: Path, date: str, extra: str, key: str, message: str) -> None:
    error = refused(tmp_path, f'[[fields]]\nname = "d"\ndate = {date}\n{extra}')
    assert error.key == key
    assert message in error.message


# --- zero-padded names ----------------------------------------------------------------------

def test_expanded_names_can_be_zero_padded(tmp_path: Path) -> None:
    profile = load(tmp_path, '''
[[fields]]
name = "consumption_{n:02}_months_ago_m3"
quantity = "volume"
storage = "8-19"
unit = "m3"
''')
    names = profile.field_names  # type: ignore[attr-defined]
    assert names[:3] == ("consumption_01_months_ago_m3", "consumption_02_months_ago_m3",
                         "consumption_03_months_ago_m3")
    assert names[11] == "consumption_12_months_ago_m3"
    result = run(tmp_path, '''
[[fields]]
name = "volume_{storage:03}_m3"
quantity = "volume"
storage = "1-2"
''', [(Head("volume", "m3", storage=2), 5)])
    assert result.values == {"volume_002_m3": 5, "status": "OK"}


@pytest.mark.parametrize("name", ["v_{n:2}", "v_{n:00}", "v_{n:0x}", "v_{n:02"])
def test_bad_padding_is_refused(tmp_path: Path, name: str) -> None:
    error = refused(tmp_path, f'[[fields]]\nname = "{name}"\nquantity = "volume"\n'
                              'storage = "1-2"\n')
    assert (error.table, error.key) == ("fields[0]", "name")


# --- errors at run time ---------------------------------------------------------------------

def test_a_failing_formula_names_profile_field_and_telegram(tmp_path: Path) -> None:
    text = '''
[[fields]]
name = "count"
quantity = "counter"
[[fields]]
name = "per_count"
formula = "100 / count"
'''
    assert run(tmp_path, text, [(Head("counter"), 4)])["per_count"] == 25
    with pytest.raises(ProfileError) as caught:
        run(tmp_path, text, [(Head("counter"), 0)], telegram="2e44931578563412")
    message = str(caught.value)
    assert "profile meter, field per_count, telegram 2e44931578563412 of meter 12345678" \
        in message
    assert "division by zero in '100 / count'" in message
    assert (caught.value.table, caught.value.key) == ("fields[1]", "formula")


@given(st.decimals(min_value=0, max_value=Decimal("1e30"), allow_nan=False, places=12))
def test_a_square_root_is_rounded_as_decimal_rounds_it(value: Decimal) -> None:
    """The root of any value, as Decimal's own correctly rounded sqrt at 28 digits gives it
    (computed here at 28 digits from the exact value, independently of the code)."""
    expected = decimal.Context(prec=28).sqrt(value)
    assert parse_expression("sqrt(x)").evaluate({"x": value}) == expected


# --- pick() -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "values", "expected"), [
    ("pick(0, 10, 20, 30)", {}, "10"),
    ("pick(i, 10, 20, 30)", {"i": 2}, "30"),
    ("pick(i - 1, 10, 20, 30)", {"i": 2}, "20"),
    ("pick(i, 10, 20)", {"i": Decimal("1.00")}, "20"),  # a whole Decimal is an index
    ("pick(i * 0.5, 10, 20)", {"i": 2}, "20"),
    ("pick(i, 5, 100 / i)", {"i": 0}, "5"),  # only the argument picked is evaluated
    ("pick(i, 1 / 3, 2) * 3", {"i": 0}, "1"),  # exact, as any value
])
def test_pick_gives_the_argument_its_index_counts(
        text: str, values: dict[str, object], expected: str) -> None:
    result = parse_expression(text).evaluate(values)  # type: ignore[arg-type]
    assert str(result) == expected


@pytest.mark.parametrize(("index", "shown"), [(2, "2"), (-1, "-1"), (Decimal("0.5"), "0.5"),
                                              (Decimal("1E+1"), "10")])
def test_a_pick_index_out_of_range_is_an_error(index: object, shown: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression("pick(i, 10, 20)").evaluate({"i": index})  # type: ignore[dict-item]
    assert caught.value.message == ("pick(): the index must be a whole number from 0 to 1, "
                                    f"not {shown}")


@pytest.mark.parametrize(("text", "message", "position"), [
    ("pick(0)", "pick() takes at least 2 argument(s), not 1", 0),
    ("pick()", "pick() takes at least 2 argument(s), not 0", 0),
    ("1 + pick(2, a, b)", "pick(): the index must be a whole number from 0 to 1, not 2", 4),
    ("pick(-1, a)", "pick(): the index must be a whole number from 0 to 0, not -1", 0),
    ("pick(0.5, a, b)", "pick(): the index must be a whole number from 0 to 1, not 0.5", 0),
])
def test_a_pick_written_wrong_is_refused_when_parsed(text: str, message: str,
                                                      position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert str(caught.value) == f"{message} (at position {position})"
    assert caught.value.position == position


@pytest.mark.parametrize(("formula", "message"), [
    ("pick(5, heat_kwh, cold_mwh)",
     "pick(): the index must be a whole number from 0 to 1, not 5 (at position 0)"),
    ("pick(i)", "pick() takes at least 2 argument(s), not 1 (at position 0)"),
    ("pick(volume_m3, 1, 2)", "pick(): the index is a plain number, not a value in m3"),
    ("pick(1, heat_kwh, volume_m3)", "pick() of kWh (energy) and m3 (volume)"),
    ("pick(1, heat_kwh, cold_mwh, flow_c)", "pick() of kWh (energy) and degC (temperature)"),
])
def test_pick_faults_are_refused_at_load_time_naming_file_table_and_key(
        tmp_path: Path, formula: str, message: str) -> None:
    error = refused(tmp_path, FIELDS + f'\n[[fields]]\nname = "bad"\nformula = "{formula}"\n')
    assert message in error.message, error.message
    assert (error.table, error.key) == ("fields[5]", "formula")
    assert error.file is not None and error.file.endswith("meter.toml")


def test_pick_converts_its_choices_into_the_first_ones_unit(tmp_path: Path) -> None:
    text = FIELDS + '''
[[fields]]
name = "choice"
quantity = "counter"
hidden = true
[[fields]]
name = "picked"
formula = "pick(choice, heat_kwh, cold_mwh)"
'''
    for choice, expected in ((0, Decimal("1.5")), (1, Decimal("2000"))):
        result = run(tmp_path, text, [*RECORDS, (Head("counter"), choice)])
        assert result["picked"] == expected
        assert result.units["picked"] == "kWh"


def test_a_pick_out_of_range_names_profile_field_and_telegram(tmp_path: Path) -> None:
    text = '''
[[fields]]
name = "count"
quantity = "counter"
[[fields]]
name = "picked"
formula = "pick(count, 10, 20)"
'''
    assert run(tmp_path, text, [(Head("counter"), 1)])["picked"] == 20
    with pytest.raises(ProfileError) as caught:
        run(tmp_path, text, [(Head("counter"), 2)], telegram="2e44")
    assert ("profile meter, field picked, telegram 2e44 of meter 12345678: pick(): the index "
            "must be a whole number from 0 to 1, not 2") in str(caught.value)
    assert (caught.value.table, caught.value.key) == ("fields[1]", "formula")


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _nested_ifs(month: int) -> str:
    """techem_mkradio3a's calendar-month formula as it was written before pick(): month k
    before the current one, k = (current month - month) mod 12, the last branch taken for
    any other month code."""
    text = f"month_{(12 - month) % 12}_m3"
    for current in range(11, 0, -1):
        text = f"if(current_month == {current}, month_{(current - month) % 12}_m3, {text})"
    return text


@pytest.mark.parametrize("month", range(1, 13))
def test_mkradio3a_picks_what_its_nested_ifs_gave_for_every_month_code(month: int) -> None:
    profile = load_meter_profile(shipped_profiles("meter")[
        [path.stem for path in shipped_profiles("meter")].index("techem_mkradio3a")])
    rules = {rule.name: rule for rule in profile.fields}
    picked = rules[f"last_{_MONTHS[month - 1]}_m3"].formula
    month_index = rules["month_index"].formula
    assert picked is not None and month_index is not None
    nested = parse_expression(_nested_ifs(month))
    volumes = {f"month_{k}_m3": Decimal(100 + k) / 10 for k in range(12)}
    for code in range(16):  # bits(date_code, 5, 4): 1-12 are months
        index = month_index.evaluate({"current_month": code})
        assert picked.evaluate({**volumes, "month_index": index}) == nested.evaluate(
            {**volumes, "current_month": code}), code
