"""The unit mapping is total over every unit meterkit produces, and its codes are BACnet's."""

from __future__ import annotations

from decimal import Decimal

import pytest

import profiles
from bacnet import UNIT_TABLE, map_unit, meterkit_unit, unit_for
from mbus import _fixed, _vif

# Units meterkit produces that BACnet has no EngineeringUnits name for.
WITHOUT_COUNTERPART = {"pulse", "revolution", "dBm", "bit_times", "hca_units"}


def mbus_units() -> set[str]:
    """Every unit the M-Bus decoder can put on a record (VIF tables, fixed-structure units,
    combinable 'per'/'times' VIFE units)."""
    units: set[str] = set()
    for table in (_vif.PRIMARY, _vif.EXTENSION_FD, _vif.EXTENSION_FB):
        units.update(info.unit for info in table.values())
    units.update(unit for _quantity, unit, _exponent in _fixed.FIXED_UNITS.values())
    return units


def composite_units() -> set[str]:
    """Units built by combinable VIFEs, the way mbus builds them (unit/x, 1/x, unit*x, x)."""
    composites: set[str] = set()
    for comb in _vif.COMBINABLE.values():
        for unit in mbus_units():
            if comb.effect == "per":
                composites.add(f"{unit}/{comb.unit}" if unit else f"1/{comb.unit}")
            elif comb.effect == "times":
                composites.add(f"{unit}*{comb.unit}" if unit else comb.unit)
    return composites - mbus_units()


@pytest.mark.parametrize("unit", sorted(mbus_units() | set(profiles.UNITS)))
def test_every_meterkit_unit_maps(unit: str) -> None:
    mapping = map_unit(unit)
    assert mapping is not None, f"{unit!r} has no BACnet mapping"
    if unit in WITHOUT_COUNTERPART:
        assert (mapping.name, mapping.exact) == ("no-units", False)
    else:
        assert mapping.exact, unit
        assert mapping.name != "no-units" or unit == "", unit


def test_every_composite_unit_maps_to_no_units() -> None:
    composites = composite_units()
    assert "Wh/pulse" in composites and "s/V" in composites
    for unit in composites:
        mapping = map_unit(unit)
        assert mapping is not None, unit
        assert mapping == UNIT_TABLE.get(unit, unit_for(unit)), unit


def test_profiles_units_all_have_a_real_counterpart() -> None:
    assert not set(profiles.UNITS) & WITHOUT_COUNTERPART


@pytest.mark.parametrize("unit", sorted(UNIT_TABLE))
def test_codes_and_names_agree_with_bacpypes3(unit: str) -> None:
    # bacpypes3's EngineeringUnits enumeration is an independent transcription of clause 21.
    engineering_units = pytest.importorskip("bacpypes3.basetypes").EngineeringUnits
    mapping = UNIT_TABLE[unit]
    assert int(engineering_units(mapping.name)) == mapping.code
    assert str(engineering_units(mapping.code)) == mapping.name


@pytest.mark.parametrize("unit", sorted(u for u, m in UNIT_TABLE.items() if m.scale != 1))
def test_scaled_units_publish_the_same_quantity(unit: str) -> None:
    # A scaled row must say what profiles.convert says: 1 unit = scale x the BACnet unit.
    mapping = UNIT_TABLE[unit]
    target = meterkit_unit(mapping.name)
    assert target, mapping.name
    if unit == "cal":  # not in profiles' table: the IT calorie is 4.1868 J by definition
        assert mapping.scale == Decimal("4.1868")
        return
    assert profiles.convert(Decimal(1), unit, target) == mapping.scale


def test_composite_and_unknown_units_fall_back_to_no_units() -> None:
    for unit in ("Wh/pulse", "m3/revolution", "K*l", "nonsense", "Wh//h"):
        mapping = unit_for(unit)
        assert (mapping.name, mapping.code, mapping.exact) == ("no-units", 95, False)
    for unknown in ("nonsense", "Wh/nonsense", "Wh//h", "/h", "kwh"):
        assert map_unit(unknown) is None, unknown  # a point list may not name it


def test_kelvin_is_a_difference_unless_the_quantity_is_a_temperature() -> None:
    assert unit_for("K", "temperature_difference").name == "delta-degrees-kelvin"
    assert unit_for("K").name == "delta-degrees-kelvin"
    assert unit_for("K", "external_temperature").name == "degrees-kelvin"


def test_reverse_mapping() -> None:
    assert meterkit_unit("kilowatt-hours") == "kWh"
    assert meterkit_unit("degrees-kelvin") == "K"
    assert meterkit_unit("candelas") == ""
