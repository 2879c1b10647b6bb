"""Exact unit conversion between meterkit's normalised unit spellings.

Each unit belongs to one dimension and is a rational multiple of that
dimension's base unit (temperatures also have an offset), so a conversion is a
multiplication by an exact fraction: ``convert(Decimal("1234"), "Wh", "kWh")`` is
``Decimal("1.234")``. Where the result has no finite decimal expansion (J to kWh
is a division by 3.6 million) it is rounded to 28 significant digits, the
:mod:`decimal` default; every other result is exact.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction

from ._errors import UnitError

__all__ = ["UNITS", "WIDE", "convert", "dimension", "exact_decimal", "exact_ratio"]

_HOUR = 3600


def _table() -> dict[str, tuple[str, Fraction, Fraction]]:
    """unit -> (dimension, factor to the base unit, offset added after the factor)."""
    units: dict[str, tuple[str, Fraction, Fraction]] = {}

    def add(dim: str, **factors: Fraction | int) -> None:
        for name, factor in factors.items():
            units[name.replace("_per_", "/")] = (dim, Fraction(factor), Fraction(0))

    kilo, mega, giga = 1000, 10**6, 10**9
    add("energy", Wh=1, kWh=kilo, MWh=mega, GWh=giga, J=Fraction(1, _HOUR),
        kJ=Fraction(kilo, _HOUR), MJ=Fraction(mega, _HOUR), GJ=Fraction(giga, _HOUR))
    add("power", W=1, kW=kilo, MW=mega, GW=giga, J_per_h=Fraction(1, _HOUR),
        kJ_per_h=Fraction(kilo, _HOUR), MJ_per_h=Fraction(mega, _HOUR),
        GJ_per_h=Fraction(giga, _HOUR))
    add("volume", m3=1, l=Fraction(1, kilo), ml=Fraction(1, mega), hl=Fraction(1, 10))
    add("flow", m3_per_h=1, l_per_h=Fraction(1, kilo), m3_per_s=_HOUR,
        l_per_s=Fraction(_HOUR, kilo), m3_per_min=60, l_per_min=Fraction(60, kilo))
    add("mass", kg=1, g=Fraction(1, kilo), t=kilo)
    add("mass_flow", kg_per_h=1, t_per_h=kilo, kg_per_s=_HOUR)
    add("time", s=1, min=60, h=_HOUR, d=24 * _HOUR)
    add("calendar_time", month=1, year=12)
    add("pressure", bar=1, mbar=Fraction(1, kilo), Pa=Fraction(1, 100000),
        hPa=Fraction(1, kilo), kPa=Fraction(1, 100), MPa=10)
    add("voltage", V=1, mV=Fraction(1, kilo), kV=kilo)
    add("current", A=1, mA=Fraction(1, kilo), kA=kilo)
    add("frequency", Hz=1, kHz=kilo)
    add("reactive_power", var=1, kvar=kilo, Mvar=mega)
    add("apparent_power", VA=1, kVA=kilo, MVA=mega)
    add("reactive_energy", varh=1, kvarh=kilo, Mvarh=mega)
    add("apparent_energy", VAh=1, kVAh=kilo, MVAh=mega)
    add("ratio", **{"%": 1})
    # Absolute temperatures: kelvin is the base; degC = K - 273.15, degF = degC * 9/5 + 32.
    units["K"] = ("temperature", Fraction(1), Fraction(0))
    units["degC"] = ("temperature", Fraction(1), Fraction(27315, 100))
    units["degF"] = ("temperature", Fraction(5, 9), Fraction(27315, 100) - Fraction(160, 9))
    return units


UNITS: dict[str, tuple[str, Fraction, Fraction]] = _table()
"""Every unit :func:`convert` knows: unit -> (dimension, factor, offset) to the base unit."""

_CONTEXT = decimal.Context(prec=28)


def dimension(unit: str) -> str:
    """The dimension of ``unit`` (``"energy"``, ``"volume"``, ...); UnitError if unknown."""
    found = UNITS.get(unit)
    if found is None:
        raise UnitError(f"{unit!r} is not a unit meterkit knows")
    return found[0]


def convert(value: Decimal | int, from_unit: str, to_unit: str, *,
            difference: bool = False) -> Decimal:
    """``value`` in ``from_unit`` expressed in ``to_unit``, exactly.

    Both units must be of the same dimension (``Wh`` and ``kWh``, ``m3`` and ``l``,
    ``degC`` and ``K``); otherwise, or for a unit meterkit does not know,
    :class:`UnitError`. Temperatures are absolute (0 degC is 273.15 K) unless
    ``difference`` is true (a temperature difference of 1 degC is 1 K).

    >>> profiles.convert(Decimal("1234"), "Wh", "kWh")
    Decimal('1.234')
    >>> profiles.convert(Decimal("21.5"), "degC", "K")
    Decimal('294.65')
    """
    if from_unit == to_unit:
        return Decimal(value)
    plan = _PLANS.get((from_unit, to_unit, difference))
    if plan is None:
        plan = _plan(from_unit, to_unit, difference)
    factor, offset, exact_factor, exact_offset, ratio = plan
    if factor is not None and offset is not None:
        # Trailing zeros the factor added (1000 Wh -> 1.000 kWh) are not precision.
        return WIDE.fma(Decimal(value), factor, offset).normalize(WIDE)
    if ratio is not None:
        numerator, denominator, odd = ratio
        whole, places = value.as_integer_ratio()
        if whole % odd:  # no finite expansion: exact_decimal's rounding, without fractions
            return _CONTEXT.divide(whole * numerator, places * denominator)
    exact = Fraction(value) * exact_factor
    return exact_decimal(exact + exact_offset if exact_offset else exact)


def exact_ratio(from_unit: str, to_unit: str, *, difference: bool = False) -> Fraction | None:
    """The fraction by which :func:`convert` multiplies a value in ``from_unit`` to give it
    in ``to_unit``; None where it adds an offset too (absolute temperatures) or a unit is
    unknown or of another dimension (:func:`convert` says why)."""
    source, target = UNITS.get(from_unit), UNITS.get(to_unit)
    if source is None or target is None or source[0] != target[0]:
        return None
    if not difference and source[2] != target[2]:
        return None
    return source[1] / target[1]


# (from, to, difference) -> (factor, offset) as exact Decimals, or None where the
# conversion has no finite decimal expansion (it then goes through Fraction), the factor
# and offset as fractions, and for a factor alone without a finite expansion (GJ -> kWh)
# its (numerator, denominator, the denominator's factors other than 2 and 5): a value
# times it has a finite expansion only where those factors divide the value's numerator.
# Kept because Fraction arithmetic made profile matching cost 140 % of decode + to_dict
# (benchmarks/bench_profiles.py) instead of a few per cent.
_Conversion = tuple[Decimal | None, Decimal | None, Fraction, Fraction,
                    tuple[int, int, int] | None]
_PLANS: dict[tuple[str, str, bool], _Conversion] = {}
# Wide enough that products of meter values and factors are exact.
WIDE = decimal.Context(prec=80)


def _plan(from_unit: str, to_unit: str, difference: bool) -> _Conversion:
    source, target = UNITS.get(from_unit), UNITS.get(to_unit)
    if source is None or target is None:
        unknown = from_unit if source is None else to_unit
        raise UnitError(f"{unknown!r} is not a unit meterkit knows")
    if source[0] != target[0]:
        raise UnitError(f"cannot convert {from_unit} ({source[0]}) to {to_unit} ({target[0]})")
    factor = source[1] / target[1]
    offset = Fraction(0) if difference else (source[2] - target[2]) / target[1]
    finite = _finite(factor)
    ratio = None
    if finite is None and not offset:
        ratio = (factor.numerator, factor.denominator, odd_part(factor.denominator))
    plan = (finite, _finite(offset), factor, offset, ratio)
    if len(_PLANS) < 10000:
        _PLANS[(from_unit, to_unit, difference)] = plan
    return plan


def odd_part(number: int) -> int:
    """``number`` without its factors 2 and 5 (a fraction over it without them has a finite
    decimal expansion)."""
    return twos_and_fives(number)[0]


def twos_and_fives(number: int) -> tuple[int, int, int]:
    """``number`` without its factors 2 and 5, and how many twos and fives it had (a
    fraction over ``2**twos * 5**fives`` has ``max(twos, fives)`` decimal places)."""
    twos = fives = 0
    while number % 2 == 0:
        number //= 2
        twos += 1
    while number % 5 == 0:
        number //= 5
        fives += 1
    return number, twos, fives


def _finite(number: Fraction) -> Decimal | None:
    """The fraction as an exact Decimal, or None when it has no finite expansion."""
    exact = exact_decimal(number)
    return exact if Fraction(exact) == number else None


def exact_decimal(number: Fraction) -> Decimal:
    """A fraction as an exact Decimal where it has a finite expansion (no trailing zeros
    after the point), else rounded half to even to 28 significant digits."""
    numerator, denominator = number.as_integer_ratio()
    odd, twos, fives = twos_and_fives(denominator)
    if odd != 1:
        return _CONTEXT.divide(numerator, denominator)
    digits = max(twos, fives)  # number * 10**digits is an integer
    scaled = numerator * 10**digits // denominator
    return Decimal(f"{scaled}E-{digits}")  # exact at any length (scaleb rounds)
