"""Exact unit conversion."""

from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profiles import UNITS, ProfileError, UnitError, convert, dimension
from profiles._units import exact_decimal


@pytest.mark.parametrize(("value", "source", "target", "expected"), [
    ("1234", "Wh", "kWh", "1.234"),
    ("37351000", "Wh", "MWh", "37.351"),
    ("3600000", "J", "kWh", "1"),
    ("1", "GJ", "MWh", "0.2777777777777777777777777778"),  # no finite expansion: 28 digits
    ("6.408", "m3", "l", "6408"),
    ("317", "l/h", "m3/h", "0.317"),
    ("1", "m3/min", "m3/h", "60"),
    ("2.5", "kW", "W", "2500"),
    ("3600", "J/h", "W", "1"),
    ("21.5", "degC", "K", "294.65"),
    ("100", "degC", "degF", "212"),
    ("-40", "degF", "degC", "-40"),
    ("1013", "mbar", "bar", "1.013"),
    ("1", "d", "s", "86400"),
    ("2", "year", "month", "24"),
    ("1.5", "kvarh", "varh", "1500"),
])
def test_conversions_are_exact(value: str, source: str, target: str, expected: str) -> None:
    assert convert(Decimal(value), source, target) == Decimal(expected)


def test_same_unit_keeps_the_value_and_ints_are_accepted() -> None:
    assert str(convert(Decimal("1.500"), "m3", "m3")) == "1.500"
    assert convert(5, "kWh", "Wh") == 5000


def test_temperature_differences_have_no_offset() -> None:
    assert convert(Decimal("3"), "K", "degC", difference=True) == 3
    assert convert(Decimal("3"), "K", "degC") == Decimal("-270.15")
    assert convert(Decimal("9"), "degF", "K", difference=True) == 5


def test_other_dimensions_and_unknown_units_are_unit_errors() -> None:
    with pytest.raises(UnitError, match=r"cannot convert m3 \(volume\) to kWh \(energy\)"):
        convert(Decimal(1), "m3", "kWh")
    with pytest.raises(UnitError, match="'litre' is not a unit meterkit knows"):
        convert(Decimal(1), "litre", "m3")
    with pytest.raises(UnitError):
        convert(Decimal(1), "m3", "cubic")
    assert issubclass(UnitError, ProfileError)
    assert dimension("kWh") == "energy"
    with pytest.raises(UnitError):
        dimension("x")


@given(st.sampled_from(sorted(UNITS)), st.sampled_from(sorted(UNITS)),
       st.decimals(min_value=-10**9, max_value=10**9, places=3, allow_nan=False))
def test_a_round_trip_gives_the_value_back(source: str, target: str, value: Decimal) -> None:
    if UNITS[source][0] != UNITS[target][0]:
        with pytest.raises(UnitError):
            convert(value, source, target)
        return
    back = convert(convert(value, source, target), target, source)
    assert abs(back - value) <= abs(value) * Decimal("1e-25") + Decimal("1e-20")


@given(st.sampled_from(sorted(UNITS)), st.sampled_from(sorted(UNITS)),
       st.decimals(min_value=-10**12, max_value=10**12, places=4, allow_nan=False),
       st.booleans())
def test_conversions_are_the_exact_fraction_rounded_once(source: str, target: str,
                                                          value: Decimal,
                                                          difference: bool) -> None:
    # Against the definition: value * factor + offset to the base unit, then back from it,
    # as one fraction; 28 significant digits where it has no finite decimal expansion.
    if UNITS[source][0] != UNITS[target][0] or source == target:
        return
    (_, factor, offset), (_, target_factor, target_offset) = UNITS[source], UNITS[target]
    shift = 0 if difference else offset - target_offset
    expected = exact_decimal((Fraction(value) * factor + shift) / target_factor)
    assert convert(value, source, target, difference=difference) == expected


# Conversions by a factor alone without a finite decimal expansion (GJ -> kWh, s -> h,
# temperature differences degC -> degF) round the quotient straight away where the result
# has none either; they must give exact_decimal's Decimal, digit for digit.
_ENDLESS = [(source, target) for source in sorted(UNITS) for target in sorted(UNITS)
            if UNITS[source][0] == UNITS[target][0] and source != target
            and exact_decimal(UNITS[source][1] / UNITS[target][1])
            != UNITS[source][1] / UNITS[target][1]]


@given(st.sampled_from(_ENDLESS), st.booleans(),
       st.one_of(st.integers(-10**30, 10**30),
                 st.decimals(allow_nan=False, allow_infinity=False).filter(
                     lambda value: abs(value.adjusted()) < 200)),
       st.integers(0, 3))
def test_endless_factors_round_once_as_the_exact_fraction(
        units: tuple[str, str], difference: bool, value: int | Decimal, power: int) -> None:
    source, target = units
    (_, factor, offset), (_, target_factor, target_offset) = UNITS[source], UNITS[target]
    ratio = factor / target_factor
    value *= (ratio.denominator // 2**power) if power else 1  # some with a finite result
    shift = 0 if difference else offset - target_offset
    expected = exact_decimal((Fraction(value) * factor + shift) / target_factor)
    found = convert(value, source, target, difference=difference)
    assert str(found) == str(expected)
    assert ("GJ", "kWh") in _ENDLESS and ("s", "h") in _ENDLESS


def _exact_decimal_by_fractions(number: Fraction) -> Decimal:
    """exact_decimal as it was written before it took the integer ratio: its reference."""
    denominator = number.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        return decimal.Context(prec=28).divide(Decimal(number.numerator),
                                               Decimal(number.denominator))
    digits = max(twos, fives)
    scaled = number * 10**digits
    return Decimal(f"{scaled.numerator}E-{digits}")


@given(st.one_of(st.fractions(), st.integers(-10**40, 10**40)),
       st.integers(0, 40), st.integers(0, 40))
def test_exact_decimal_gives_what_fraction_arithmetic_gives(
        value: Fraction | int, twos: int, fives: int) -> None:
    number = Fraction(value) / (2**twos * 5**fives)
    found = exact_decimal(number)
    expected = _exact_decimal_by_fractions(number)
    assert found == expected and str(found) == str(expected)
