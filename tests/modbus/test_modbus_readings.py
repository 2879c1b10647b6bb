"""Readings in and out: exporters' readings satisfy the reading protocol and feed the
server; the JSON lines of ``modbus read --json`` are exporters' reading objects."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import profiles
from exporters import Reading
from exporters._documents import readings_from_json
from modbus import RegisterImage, RegisterMap, RegisterPoint, reading_to_json
from profiles import PointReading

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
MAP = RegisterMap(name="m", points=(
    RegisterPoint(name="flat3.heat_kwh", table="input", address=0, type="uint32",
                  scale=Decimal("0.1"), unit="kWh"),))


def test_an_exporters_reading_is_a_reading_and_feeds_the_server() -> None:
    reading = Reading(meter_id="12345678", quantity="energy", value=Decimal("8123.4"),
                      unit="kWh", timestamp=T0, metadata={"point": "flat3.heat_kwh"})
    assert isinstance(reading, profiles.Reading)
    image = RegisterImage(MAP)
    assert image.update(reading)
    assert image.read("input", 0, 2) == [0x0001, 0x3D52]  # 81234


def test_json_lines_read_back_in_exporters() -> None:
    good = PointReading(point="flat3.heat_kwh", time=T0, value=Decimal("8123.4"), unit="kWh",
                        quantity="energy", quality=("out_of_range",))
    [reading] = readings_from_json(reading_to_json(good, meter_id="tcp://h:502/1", map="m"))
    assert (reading.meter_id, reading.quantity, reading.value, reading.unit) == (
        "tcp://h:502/1", "energy", Decimal("8123.4"), "kWh")
    assert reading.timestamp == T0 and reading.status == ("out_of_range",)
    assert reading.point == "flat3.heat_kwh" and dict(reading.metadata)["map"] == "m"
    for value, expected in ((True, 1), (7, 7), (0.5, 0.5), ("on", "on")):
        line = reading_to_json(PointReading(point="p", time=T0, value=value), meter_id="x")
        assert readings_from_json(line)[0].value == expected
    missing = reading_to_json(PointReading(point="p", time=T0, value=None,
                                           quality=("comm_failure",)), meter_id="x")
    assert "error" in missing and "meter_id" not in missing
