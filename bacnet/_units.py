"""meterkit units -> BACnet EngineeringUnits (ANSI/ASHRAE 135, clause 21), as data.

Every unit maps to something: a unit with a BACnet counterpart maps to it (with an
exact scale where BACnet only has a neighbour, such as GWh published as MWh x 1000);
a unit BACnet has no name for (``pulse``, ``dBm``, composite units from M-Bus
combinable VIFEs such as ``Wh/pulse``) maps to ``no-units`` marked inexact, and the
server then names the meterkit unit in the object's description. No bacpypes3 here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["NO_UNITS", "UNIT_TABLE", "UnitMapping", "map_unit", "meterkit_unit", "unit_for"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitMapping:
    """How a value in a meterkit unit is published in BACnet.

    ``name`` is the EngineeringUnits enumeration name (kebab-case, as BACnet tools
    print it), ``code`` its number on the wire, ``scale`` the exact factor applied to
    the value (``Decimal(1)`` for a direct counterpart), ``exact`` False when BACnet
    has no unit for it and ``no-units`` stands in.
    """

    name: str
    code: int
    scale: Decimal = Decimal(1)
    exact: bool = True


NO_UNITS = UnitMapping(name="no-units", code=95)

_THOUSAND = Decimal(1000)
_MILLION = Decimal(10**6)
_BILLION = Decimal(10**9)

# meterkit unit -> (EngineeringUnits name, code, scale). Codes: clause 21, BACnetEngineeringUnits.
_ROWS: tuple[tuple[str, str, int, Decimal], ...] = (
    ("", "no-units", 95, Decimal(1)),
    ("%", "percent", 98, Decimal(1)),
    # electrical
    ("A", "amperes", 3, Decimal(1)),
    ("mA", "milliamperes", 2, Decimal(1)),
    ("kA", "amperes", 3, _THOUSAND),
    ("V", "volts", 5, Decimal(1)),
    ("mV", "millivolts", 124, Decimal(1)),
    ("kV", "kilovolts", 6, Decimal(1)),
    ("Hz", "hertz", 27, Decimal(1)),
    ("kHz", "kilohertz", 129, Decimal(1)),
    ("deg", "degrees-phase", 14, Decimal(1)),  # M-Bus phase angles between voltages/currents
    # energy
    ("Wh", "watt-hours", 18, Decimal(1)),
    ("kWh", "kilowatt-hours", 19, Decimal(1)),
    ("MWh", "megawatt-hours", 146, Decimal(1)),
    ("GWh", "megawatt-hours", 146, _THOUSAND),
    ("J", "joules", 16, Decimal(1)),
    ("kJ", "kilojoules", 17, Decimal(1)),
    ("MJ", "megajoules", 126, Decimal(1)),
    ("GJ", "megajoules", 126, _THOUSAND),
    ("cal", "joules", 16, Decimal("4.1868")),  # International Table calorie (heat meters)
    ("varh", "volt-ampere-hours-reactive", 242, Decimal(1)),
    ("kvarh", "kilovolt-ampere-hours-reactive", 243, Decimal(1)),
    ("Mvarh", "megavolt-ampere-hours-reactive", 244, Decimal(1)),
    ("VAh", "volt-ampere-hours", 239, Decimal(1)),
    ("kVAh", "kilovolt-ampere-hours", 240, Decimal(1)),
    ("MVAh", "megavolt-ampere-hours", 241, Decimal(1)),
    # power
    ("W", "watts", 47, Decimal(1)),
    ("kW", "kilowatts", 48, Decimal(1)),
    ("MW", "megawatts", 49, Decimal(1)),
    ("GW", "megawatts", 49, _THOUSAND),
    ("J/h", "joules-per-hours", 247, Decimal(1)),
    ("kJ/h", "joules-per-hours", 247, _THOUSAND),
    ("MJ/h", "joules-per-hours", 247, _MILLION),
    ("GJ/h", "joules-per-hours", 247, _BILLION),
    ("var", "volt-amperes-reactive", 11, Decimal(1)),
    ("kvar", "kilovolt-amperes-reactive", 12, Decimal(1)),
    ("Mvar", "megavolt-amperes-reactive", 13, Decimal(1)),
    ("VA", "volt-amperes", 8, Decimal(1)),
    ("kVA", "kilovolt-amperes", 9, Decimal(1)),
    ("MVA", "megavolt-amperes", 10, Decimal(1)),
    # volume and flow
    ("m3", "cubic-meters", 80, Decimal(1)),
    ("l", "liters", 82, Decimal(1)),
    ("ml", "milliliters", 197, Decimal(1)),
    ("hl", "liters", 82, Decimal(100)),
    ("ft3", "cubic-feet", 79, Decimal(1)),
    ("m3/h", "cubic-meters-per-hour", 135, Decimal(1)),
    ("m3/min", "cubic-meters-per-minute", 165, Decimal(1)),
    ("m3/s", "cubic-meters-per-second", 85, Decimal(1)),
    ("m3/d", "cubic-meters-per-day", 249, Decimal(1)),
    ("l/h", "liters-per-hour", 136, Decimal(1)),
    ("l/min", "liters-per-minute", 88, Decimal(1)),
    ("l/s", "liters-per-second", 87, Decimal(1)),
    # mass
    ("kg", "kilograms", 39, Decimal(1)),
    ("g", "grams", 195, Decimal(1)),
    ("t", "kilograms", 39, _THOUSAND),  # BACnet "tons" is not clearly metric
    ("kg/h", "kilograms-per-hour", 44, Decimal(1)),
    ("kg/min", "kilograms-per-minute", 43, Decimal(1)),
    ("kg/s", "kilograms-per-second", 42, Decimal(1)),
    ("t/h", "kilograms-per-hour", 44, _THOUSAND),
    # temperature (K: see unit_for, a difference unless the quantity says otherwise)
    ("degC", "degrees-celsius", 62, Decimal(1)),
    ("degF", "degrees-fahrenheit", 64, Decimal(1)),
    ("K", "delta-degrees-kelvin", 121, Decimal(1)),
    # pressure
    ("bar", "bars", 55, Decimal(1)),
    ("mbar", "millibars", 134, Decimal(1)),
    ("Pa", "pascals", 53, Decimal(1)),
    ("hPa", "hectopascals", 133, Decimal(1)),
    ("kPa", "kilopascals", 54, Decimal(1)),
    ("MPa", "kilopascals", 54, _THOUSAND),
    # time
    ("ms", "milliseconds", 159, Decimal(1)),
    ("s", "seconds", 73, Decimal(1)),
    ("min", "minutes", 72, Decimal(1)),
    ("h", "hours", 71, Decimal(1)),
    ("d", "days", 70, Decimal(1)),
    ("week", "weeks", 69, Decimal(1)),
    ("month", "months", 68, Decimal(1)),
    ("year", "years", 67, Decimal(1)),
    # money (M-Bus credit/debit): the first of BACnet's ten currency slots
    ("currency", "currency1", 105, Decimal(1)),
)

UNIT_TABLE: dict[str, UnitMapping] = {
    unit: UnitMapping(name=name, code=code, scale=scale) for unit, name, code, scale in _ROWS
}
"""Every meterkit unit with a BACnet counterpart -> its mapping."""

# Units meterkit produces that BACnet has no name for: published as no-units, inexact.
_WITHOUT_COUNTERPART = frozenset({"pulse", "revolution", "dBm", "bit_times", "hca_units"})

_FACTOR_SEPARATORS = re.compile(r"[/*]")

_ABSOLUTE_KELVIN = UnitMapping(name="degrees-kelvin", code=63)

# EngineeringUnits name -> the meterkit unit it means exactly (the first row with scale 1).
_UNIT_BY_NAME: dict[str, str] = {}
for _unit, _mapping in UNIT_TABLE.items():
    if _mapping.scale == 1 and _unit and _mapping.name not in _UNIT_BY_NAME:
        _UNIT_BY_NAME[_mapping.name] = _unit
_UNIT_BY_NAME[_ABSOLUTE_KELVIN.name] = "K"


def unit_for(unit: str, quantity: str = "") -> UnitMapping:
    """The BACnet unit a value in the meterkit ``unit`` is published in (never raises).

    ``K`` is a temperature difference (``delta-degrees-kelvin``, as M-Bus uses it)
    unless ``quantity`` names a plain temperature.

    >>> from bacnet import unit_for
    >>> unit_for("kWh").name
    'kilowatt-hours'
    >>> unit_for("GJ")
    UnitMapping(name='megajoules', code=126, scale=Decimal('1000'), exact=True)
    >>> unit_for("Wh/pulse").exact
    False
    """
    if unit == "K" and quantity.endswith("temperature") and "difference" not in quantity:
        return _ABSOLUTE_KELVIN
    found = UNIT_TABLE.get(unit)
    if found is not None:
        return found
    return UnitMapping(name=NO_UNITS.name, code=NO_UNITS.code, exact=False)


def map_unit(unit: str) -> UnitMapping | None:
    """The mapping of a unit a point list may name, or None when meterkit does not know it.

    Known: every unit of :data:`UNIT_TABLE`, the few meterkit units BACnet has no name
    for (``pulse``, ``dBm`` ...), and products and quotients of known units as M-Bus
    combinable VIFEs build them (``Wh/pulse``, ``1/h``, ``s/V``); all but the table's
    own map to ``no-units``.
    """
    if unit in UNIT_TABLE:
        return UNIT_TABLE[unit]
    factors = _FACTOR_SEPARATORS.split(unit)
    if all(f in UNIT_TABLE or f in _WITHOUT_COUNTERPART for f in factors if f != "1") and all(
            factors):
        return UnitMapping(name=NO_UNITS.name, code=NO_UNITS.code, exact=False)
    return None


def meterkit_unit(bacnet_name: str) -> str:
    """The meterkit unit of an EngineeringUnits name (kebab-case), ``""`` when none fits.

    >>> from bacnet import meterkit_unit
    >>> meterkit_unit("kilowatt-hours")
    'kWh'
    """
    return _UNIT_BY_NAME.get(bacnet_name, "")
