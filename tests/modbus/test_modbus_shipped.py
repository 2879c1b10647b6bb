"""The shipped register maps against their documentation: a pymodbus simulator holds the
documented values at the documented register numbers (written here from the manuals'
tables, with struct), and the client must read them back by map name."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from modbus import ModbusClient, load_map, plan_reads, shipped_maps

from .sim import device, float32, int16, serving, text

ReadingRow = tuple[object, str, tuple[str, ...]]


def read(name: str, tables: Mapping[str, Mapping[int, list[int]]]) -> dict[str, ReadingRow]:
    register_map = load_map(name)

    async def scenario() -> dict[str, ReadingRow]:
        async with serving([device(1, tables)]) as port, ModbusClient(
                f"tcp://127.0.0.1:{port}", timeout=2) as client:
            result = await client.read_map(register_map)
        assert result.status.state == "ok", result.status.message
        return {r.point: (r.value, r.unit, r.quality) for r in result.readings}

    return asyncio.run(scenario())


def floats_at(first: int, size: int, values: Mapping[int, float]) -> list[int]:
    """Registers first..first+size-1 holding zeros and float32 ``values`` by address."""
    registers = [0] * size
    for address, value in values.items():
        registers[address - first : address - first + 2] = float32(value)
    return registers


def test_maps_are_listed_by_name() -> None:
    assert {"eastron_sdm630", "eastron_sdm120", "janitza_umg96rm", "sunspec_common",
            "sunspec_meter"} <= set(shipped_maps())


@pytest.mark.parametrize("name", shipped_maps())
def test_every_shipped_map_loads_and_plans_within_modbus_limits(name: str) -> None:
    register_map = load_map(name)
    assert register_map.name == name and register_map.description and register_map.source
    assert all(request.count <= 125 for request in plan_reads(register_map))


def test_eastron_sdm630() -> None:
    # Eastron SDM630 Modbus protocol: input registers 3xxxx, float32; address = number - 30001.
    documented = {30001: 230.1, 30003: 231.4, 30005: 229.8, 30007: 5.25, 30009: 4.5,
                  30011: 0.75, 30053: 2345.5, 30071: 50.02, 30073: 12345.6, 30075: 7.5,
                  30343: 12353.1}
    contents = floats_at(0, 0x15A, {n - 30001: v for n, v in documented.items()})
    values = read("eastron_sdm630", {"input": {0: contents}})
    assert values["voltage_l1"] == (230.1, "V", ())
    assert values["voltage_l3"] == (229.8, "V", ())
    assert values["current_l2"] == (4.5, "A", ())
    assert values["power_total"] == (2345.5, "W", ())
    assert values["frequency"] == (50.02, "Hz", ())
    assert values["energy_import"] == (12345.6, "kWh", ())
    assert values["energy_export"] == (7.5, "kWh", ())
    assert values["energy_total"] == (12353.1, "kWh", ())
    assert values["power_factor_total"] == (0.0, "", ())


def test_eastron_sdm120() -> None:
    documented = {30001: 228.9, 30007: 1.25, 30013: 286.0, 30031: 0.98, 30071: 49.98,
                  30073: 321.5, 30343: 321.75}
    contents = floats_at(0, 0x15A, {n - 30001: v for n, v in documented.items()})
    values = read("eastron_sdm120", {"input": {0: contents}})
    assert values["voltage"] == (228.9, "V", ())
    assert values["power"] == (286.0, "W", ())
    assert values["power_factor"] == (0.98, "", ())
    assert values["energy_import"] == (321.5, "kWh", ())
    assert values["energy_total"] == (321.75, "kWh", ())
    # A frequency outside 45..65 Hz is flagged, not dropped.
    contents[0x46:0x48] = float32(0.0)
    assert read("eastron_sdm120", {"input": {0: contents}})["frequency"] == (
        0.0, "Hz", ("out_of_range",))


def test_janitza_umg96rm() -> None:
    # Janitza UMG 96RM: holding registers 19000.. (float), energies in Wh.
    documented = {19000: 231.2, 19002: 230.7, 19012: 12.5, 19026: 8215.5, 19050: 50.0,
                  19060: 1.5e6, 19068: 1.25e6, 19076: 2.5e5}
    values = read("janitza_umg96rm",
                  {"holding": {19000: floats_at(19000, 78, documented)}})
    assert values["voltage_l1"] == (231.2, "V", ())
    assert values["current_l1"] == (12.5, "A", ())
    assert values["power_total"] == (8215.5, "W", ())
    assert values["frequency"] == (50.0, "Hz", ())
    assert values["energy_import"] == (1250000.0, "Wh", ())
    assert values["energy_export"] == (250000.0, "Wh", ())


def sunspec_device() -> dict[str, Any]:
    # SunSpec register numbers are 1-based (40001 holds "Su"): address = number - 1.
    registers = [0] * 124
    def put(number: int, words: list[int]) -> None:
        registers[number - 40001 : number - 40001 + len(words)] = words
    put(40001, text("SunS", 2))
    put(40003, [1, 65])                       # common model: ID 1, length 65
    put(40005, text("Example Meters Inc", 16))
    put(40021, text("EM-3", 16))
    put(40053, text("SN0042", 16))
    put(40069, [7])                           # DA
    put(40070, [203, 105])                    # meter model 203, length 105
    put(40072, [1234, 410, 0x8000, 412])      # A, AphA, AphB (not implemented), AphC
    put(40076, [int16(-2)])                   # A_SF
    put(40078, [2301])                        # PhVphA
    put(40085, [int16(-1)])                   # V_SF
    put(40086, [5001, int16(-2)])             # Hz, Hz_SF
    put(40088, [int16(-2500)])                # W (exporting)
    put(40092, [1])                           # W_SF
    put(40108, [0x0001, 0x0000])              # TotWhExp = 65536
    put(40116, [0x0000, 0x3039])              # TotWhImp = 12345
    put(40124, [2])                           # TotWh_SF
    put(40107, [0x8000])                      # PF_SF not implemented
    return {"holding": {40000: registers}}


def test_sunspec_common_and_meter_models() -> None:
    values = read("sunspec_meter", sunspec_device())
    assert values["sunspec_id"] == ("SunS", "", ())
    assert values["common_model_id"] == (1, "", ())
    assert values["manufacturer"] == ("Example Meters Inc", "", ())
    assert values["serial_number"] == ("SN0042", "", ())
    assert values["device_address"] == (7, "", ())
    assert values["meter_model_id"] == (203, "", ())
    assert values["current"] == (Decimal("12.34"), "A", ())
    assert values["current_l1"] == (Decimal("4.10"), "A", ())
    assert values["current_l2"] == (None, "A", ("invalid",))
    assert values["voltage_l1"] == (Decimal("230.1"), "V", ())
    assert values["frequency"] == (Decimal("50.01"), "Hz", ())
    assert values["power_total"] == (Decimal("-2.5E+4"), "W", ())
    assert values["energy_export"] == (Decimal("6553600"), "Wh", ())
    assert values["energy_import"] == (Decimal("1234500"), "Wh", ())
    assert values["power_factor"] == (None, "%", ("invalid",))  # its scale factor is missing
    assert "current_sf" not in values  # scale factors are not readings
    common = read("sunspec_common", sunspec_device())
    assert common["model"] == ("EM-3", "", ())


def test_a_device_that_is_no_sunspec_meter_is_flagged() -> None:
    tables = sunspec_device()
    tables["holding"][40000][69] = 201  # model id 201 (single-phase) where 203 is expected
    assert read("sunspec_meter", tables)["meter_model_id"] == (201, "", ("out_of_range",))
