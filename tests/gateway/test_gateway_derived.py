"""Derived values, analog scaling and point naming: the pure parts of the pipeline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import mbus
import profiles
from gateway import DerivedEngine, load_site
from gateway._analog import scale_signal, simulated_value
from gateway._points import MeterHeader, meter_readings
from gateway._site_file import AnalogInput, SimulatedSource
from profiles import PointReading

UTC = timezone.utc
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)

SITE = """
[site]
name = "s"
[[s0]]
name = "boiler"
replay = "edges.csv"
imp_per_unit = 1000
[[analog]]
name = "gas"
signal = "0-10V"
low = 0
high = 10
unit = "m3"
[analog.source]
kind = "simulated"
values = [1]
[[derived]]
name = "efficiency"
expression = "heat / (gas * 10)"
inputs = { heat = { point = "s/boiler/total", unit = "kWh" }, gas = "s/gas/value" }
[[derived]]
name = "efficiency_percent"
expression = "round(efficiency * 100, 1)"
unit = "%"
inputs = { efficiency = "s/efficiency" }
[[derived]]
name = "burner_hours"
kind = "operating_hours"
input = "s/boiler/power"
threshold = 0.5
[[derived]]
name = "burner_starts"
kind = "switching_cycles"
input = "s/boiler/power"
threshold = 0.5
[[derived]]
name = "gas_per_reading"
kind = "consumption"
unit = "l"
input = "s/gas/value"
"""


def engine(tmp_path: Path) -> DerivedEngine:
    (tmp_path / "edges.csv").write_text("time,level\n1,1\n1.1,0\n")
    (tmp_path / "site.toml").write_text(SITE)
    return DerivedEngine(load_site(tmp_path / "site.toml").derived)


def reading(point: str, value: object, minutes: float = 0, unit: str = "",
            quality: tuple[str, ...] = ()) -> PointReading:
    return PointReading(point=point, time=T0 + timedelta(minutes=minutes), value=value,  # type: ignore[arg-type]
                        unit=unit, quantity="q", quality=quality)


def values(out: list[PointReading]) -> dict[str, object]:
    return {r.point: r.value for r in out}


def test_formulas_convert_units_and_chain_once_per_batch(tmp_path: Path) -> None:
    derived = engine(tmp_path)
    assert derived.process([reading("s/boiler/total", Decimal(9000), unit="Wh")]) == []
    out = derived.process([reading("s/gas/value", Decimal("1.2"), 1, "m3"),
                           reading("s/boiler/total", Decimal(10500), 1, "Wh")])
    # 10500 Wh = 10.5 kWh over 1.2 m3 * 10 kWh/m3; computed once, then the chained percent
    got = values(out)
    assert got["s/efficiency"] == Decimal("0.875")
    assert got["s/efficiency_percent"] == Decimal("87.5")
    assert [r.point for r in out].count("s/efficiency") == 1
    assert out[0].time == T0 + timedelta(minutes=1)


def test_a_failed_formula_gives_no_value_and_invalid(tmp_path: Path) -> None:
    derived = engine(tmp_path)
    out = derived.process([reading("s/gas/value", Decimal(0), 0, "m3"),
                           reading("s/boiler/total", Decimal(1), 0, "kWh",
                                   quality=("estimated",))])
    first = out[0]
    assert first.point == "s/efficiency" and first.value is None
    assert first.quality == ("estimated", "invalid")


def test_operating_hours_and_switching_cycles(tmp_path: Path) -> None:
    derived = engine(tmp_path)
    samples = [(0, 0), (10, 2), (40, 2), (70, 0), (80, 3), (95, 0)]  # minutes, kW
    hours = starts = None
    for minute, power in samples:
        got = values(derived.process([reading("s/boiler/power", Decimal(power), minute, "kW")]))
        hours, starts = got["s/burner_hours"], got["s/burner_starts"]
    # on from 10 to 70 and from 80 to 95 minutes: 75 min = 1.25 h, two starts
    assert hours == Decimal("1.2500") and starts == 2


def test_consumption_per_interval_from_a_counter(tmp_path: Path) -> None:
    derived = engine(tmp_path)
    assert derived.process([reading("s/gas/value", Decimal("100.5"), 0, "m3")]) == []
    out = derived.process([reading("s/gas/value", Decimal("101.25"), 15, "m3")])
    assert values(out)["s/gas_per_reading"] == Decimal("750.00")  # litres
    assert out[-1].unit == "l"
    # a counter that goes back (a meter exchange) gives no consumption, flagged invalid
    back = [r for r in derived.process([reading("s/gas/value", Decimal(3), 30, "m3")])
            if r.point == "s/gas_per_reading"]
    assert back[0].value is None and "invalid" in back[0].quality


def test_the_state_survives_a_restart(tmp_path: Path) -> None:
    derived = engine(tmp_path)
    derived.process([reading("s/boiler/power", Decimal(2), 0, "kW"),
                     reading("s/gas/value", Decimal(7), 0, "m3"),
                     reading("s/boiler/total", Decimal(70), 0, "kWh")])
    saved = json.loads(json.dumps(derived.save()))
    again = DerivedEngine(derived.values, saved)
    got = values(again.process([reading("s/boiler/power", Decimal(0), 30, "kW"),
                                reading("s/gas/value", Decimal(8), 30, "m3")]))
    assert got["s/burner_hours"] == Decimal("0.5000")  # on since before the restart
    assert got["s/gas_per_reading"] == Decimal("1000")  # the counter before the restart
    assert got["s/efficiency"] == Decimal("0.875")  # 70 kWh kept from before the restart


LEVEL = AnalogInput(name="tank", field="level", signal="4-20mA", low=Decimal(0),
                    high=Decimal(100), unit="%", quantity="level", interval=60.0,
                    missed_cycles=3, source=SimulatedSource(values=(Decimal(4),), step=60.0))


@pytest.mark.parametrize(("signal", "raw", "value", "quality"), [
    ("4-20mA", "4", "0.000", ()),
    ("4-20mA", "20", "100.000", ()),
    ("4-20mA", "3.7", "-1.875", ("out_of_range",)),
    ("4-20mA", "3.59", None, ("invalid",)),  # open circuit (NAMUR NE 43)
    ("4-20mA", "20.9", "105.625", ("out_of_range",)),
    ("4-20mA", "21.01", None, ("invalid",)),  # short circuit / overrange
    ("0-20mA", "0", "-25.000", ()),
    ("0-20mA", "-0.6", None, ("invalid",)),
    ("0-10V", "10", "100.000", ()),
    ("0-10V", "10.4", "105.000", ("out_of_range",)),
    ("0-10V", "10.6", None, ("invalid",)),
])
def test_analog_scaling_and_fault_detection(signal: str, raw: str, value: str | None,
                                            quality: tuple[str, ...]) -> None:
    item = AnalogInput(name="x", field="v", signal=signal, low=Decimal(-25), high=Decimal(100),
                       unit="%", quantity="v", interval=60.0, missed_cycles=3,
                       source=LEVEL.source) if signal != "4-20mA" else LEVEL
    got, flags = scale_signal(item, Decimal(raw))
    assert (got, flags) == (None if value is None else Decimal(value), quality)


def test_the_simulated_source_is_a_function_of_time() -> None:
    source = SimulatedSource(values=(Decimal(4), Decimal(12), Decimal(20)), step=60.0)
    start = T0.timestamp()
    assert [simulated_value(source, start + 60 * n) for n in range(4)] == [
        simulated_value(source, start), *[simulated_value(source, start + 60 * n)
                                          for n in (1, 2)], simulated_value(source, start)]
    assert len({simulated_value(source, start + 60 * n) for n in range(3)}) == 3


def test_meter_fields_are_named_by_profiles_or_generically() -> None:
    records = [mbus.build_record(0x06, 1234000, coding="int32"),  # energy in kWh steps
               mbus.build_record(0x06, 1000000, coding="int32", storage=1),
               mbus.build_record(0x13, Decimal("1.5"), coding="bcd8"),
               mbus.build_record(0x13, Decimal("1.6"), coding="bcd8")]
    header = MeterHeader(id="12345678", manufacturer="ABC", version=1, device_type=4, ci=0x72,
                         status=0)
    out = meter_readings("s/flat3/heat", header, records, T0,
                         catalogue=profiles.MeterProfiles())
    assert [(r.point, r.value, r.unit) for r in out] == [
        ("s/flat3/heat/energy_kwh", 1234, "kWh"),
        ("s/flat3/heat/energy_kwh_storage_1", 1000, "kWh"),
        ("s/flat3/heat/volume_m3", Decimal("1.500"), "m3"),
        ("s/flat3/heat/volume_m3_2", Decimal("1.600"), "m3"),
        ("s/flat3/heat/status", "OK", ""),
    ]


def test_a_meter_detected_by_a_shipped_profile_gets_its_field_names() -> None:
    records = [mbus.build_record(0x13, Decimal("6.408"), coding="bcd8"),
               mbus.build_record(0x13, Decimal("6.100"), coding="bcd8", storage=1)]
    header = MeterHeader(id="12345678", manufacturer="KAM", version=0x1B, device_type=0x07,
                         ci=0x7A, status=0)
    catalogue = profiles.shipped_meter_profiles()
    out = meter_readings("s/flat3/water", header, records, T0, catalogue=catalogue,
                         quality=("unverified",))
    assert {r.point: r.value for r in out}["s/flat3/water/total_m3"] == Decimal("6.408")
    assert {r.point: r.value for r in out}["s/flat3/water/target_m3"] == Decimal("6.100")
    assert all(r.quality == ("unverified",) for r in out)
