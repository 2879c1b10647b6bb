"""Modbus in the site file: a device read through its register map (a pymodbus server as
the simulated meter, on 127.0.0.1) and the gateway's own Modbus TCP server publishing
chosen points, read back by a Modbus client."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import modbus
from gateway import SiteError, load_site, serve_site
from gateway.__main__ import main
from gateway.history import SQLiteHistory
from profiles import PointReading

SITE = """
[site]
name = "house"

[[modbus]]
name = "pv/meter"
url = "tcp://127.0.0.1:{port}"
map = "eastron_sdm120"
interval = "10s"

[[derived]]
name = "pv/power_kw"
expression = "power / 1000"
unit = "kW"
inputs = {{ power = "house/pv/meter/power" }}

[[alarm]]
point = "house/pv/meter/voltage"
kind = "upper"
limit = 253

[modbus_server]
port = 0
map = "eastron_sdm120"
[modbus_server.points]
voltage = "house/pv/meter/voltage"
power = "house/pv/meter/power"
"""


def test_a_device_is_read_and_chosen_points_are_served(tmp_path: Path) -> None:
    sdm120 = modbus.load_map("eastron_sdm120")
    served: list[modbus.DeviceRead] = []

    async def scenario() -> None:
        meter = modbus.ModbusServer(sdm120, listen=("127.0.0.1", 0), bad_quality="no_value")
        await meter.start()
        now = datetime.now(timezone.utc)
        meter.update_many([PointReading(point="voltage", time=now, value=Decimal("231.5"),
                                        unit="V"),
                           PointReading(point="power", time=now, value=Decimal("1500"),
                                        unit="W")])
        try:
            path = tmp_path / "site.toml"
            path.write_text(SITE.format(port=meter.port))
            site = load_site(path)
            stop = asyncio.Event()
            urls: list[str] = []

            async def client() -> None:
                while not urls or not steps:
                    await asyncio.sleep(0.05)
                reader = modbus.ModbusClient(urls[0])
                try:
                    served.append(await reader.read_map(sdm120, points=["voltage", "power"]))
                finally:
                    reader.close()
                    stop.set()

            steps: list[object] = []
            task = asyncio.ensure_future(client())
            await serve_site(site, stop=stop, on_step=steps.append,
                             on_start=lambda report: urls.append(str(report.modbus_server)))
            await task
        finally:
            await meter.stop()

    asyncio.run(scenario())
    with SQLiteHistory(tmp_path / "data/history.sqlite") as history:
        latest = history.latest()
    assert latest["house/pv/meter/voltage"].value == pytest.approx(231.5)
    assert latest["house/pv/power_kw"].value == pytest.approx(Decimal("1.5"))
    values = {r.point: r.value for r in served[0].readings}
    assert values["voltage"] == pytest.approx(231.5) and values["power"] == pytest.approx(1500)


def test_modbus_errors_name_file_table_and_key(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.toml"
    for old, new, table, key in [
        ('map = "eastron_sdm120"\ninterval', 'map = "nosuch"\ninterval', "modbus[0]", "map"),
        ('url = "tcp://127.0.0.1:{port}"', 'url = "udp://x"', "modbus[0]", "url"),
        ('voltage = "house', 'volts = "house', "modbus_server.points", "volts"),
        ('power = "house/pv/meter/power"\n', 'power = "house/pv/nothing"\n',
         "modbus_server.points", "power"),
    ]:
        assert old in SITE
        path.write_text(SITE.replace(old, new).format(port=1))
        with pytest.raises(SiteError) as caught:
            load_site(path)
        assert (caught.value.table, caught.value.key) == (table, key), str(caught.value)
    path.write_text(SITE.format(port=1502))
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "modbus pv/meter: tcp://127.0.0.1:1502 map eastron_sdm120, every 10 s" in out
    assert ("modbus server on 127.0.0.1:0: map eastron_sdm120, "
            "voltage = house/pv/meter/voltage") in out
