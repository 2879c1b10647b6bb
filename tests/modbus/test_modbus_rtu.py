"""Modbus RTU on serial devices: meterkit's server and client on two pseudo-terminals
joined like a null-modem cable (pyserial opens them as it opens /dev/ttyUSB0)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from decimal import Decimal

from modbus import ModbusClient, ModbusServer, RegisterMap, RegisterPoint
from profiles import PointReading

from .sim import PtyPair

MAP = RegisterMap(name="rtu", unit_id=5, points=(
    RegisterPoint(name="energy", table="input", address=0, type="uint32", word_order="little",
                  scale=Decimal("0.001"), unit="kWh"),
    RegisterPoint(name="setpoint", table="holding", address=0, type="int16", writable=True)))


def test_server_and_client_on_a_serial_line() -> None:
    written: list[PointReading] = []

    async def scenario() -> None:
        pair = PtyPair()
        settings = "baudrate=19200&parity=N"  # a pseudo-terminal refuses parity settings
        try:
            async with ModbusServer(MAP, serial=f"rtu://{pair.paths[0]}?{settings}",
                                    on_write=written.append) as server, ModbusClient(
                    f"rtu://{pair.paths[1]}?{settings}", timeout=0.5, retries=0) as client:
                server.update(PointReading(point="energy", time=datetime.now(timezone.utc),
                                           value=Decimal("4711.042")))
                server.update(PointReading(point="setpoint", time=datetime.now(timezone.utc),
                                           value=3))
                result = await client.read_map(MAP)
                assert result.status.state == "ok"
                assert [(r.point, r.value) for r in result.readings] == [
                    ("energy", Decimal("4711.042")), ("setpoint", 3)]
                await client.write_point(MAP, "setpoint", -7)
                # Another address on the line: the server stays silent.
                other = await client.read_map(MAP, unit_id=6)
                assert other.status.state == "timeout"
                again = await client.read_map(MAP)
                assert again.readings[1].value == -7
        finally:
            pair.close()
        assert [(r.point, r.value) for r in written] == [("setpoint", -7)]

    asyncio.run(scenario())
