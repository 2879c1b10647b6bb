"""The server side of the Modbus benchmark, run in its own process.

``python -m benchmarks._modbus_peer sim PORTS UNITS``: pymodbus' simulator on PORTS
ports of 127.0.0.1, each answering UNITS unit ids with the same 80 input registers
(float32 values, as an Eastron SDM630 holds them).
``python -m benchmarks._modbus_peer serve``: meterkit's ModbusServer publishing the
same 20 points. Either prints its ports on one line, then serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import struct
import sys
from datetime import datetime, timezone
from typing import Any

# The 20 points polled: addresses of float32 values in the input registers.
ADDRESSES = (0x00, 0x02, 0x04, 0x06, 0x08, 0x0A, 0x0C, 0x0E, 0x10, 0x1E, 0x20, 0x22,
             0x30, 0x34, 0x38, 0x3C, 0x3E, 0x46, 0x48, 0x4A)
REGISTERS = 80


def contents() -> list[int]:
    registers = [0] * REGISTERS
    for index, address in enumerate(ADDRESSES):
        data = struct.pack(">f", 200.0 + index + 0.5)
        registers[address : address + 2] = [int.from_bytes(data[:2], "big"),
                                             int.from_bytes(data[2:], "big")]
    return registers


async def _until_stdin_closes() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


async def simulate(ports: int, units: int) -> None:
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    servers: list[Any] = []
    for _ in range(ports):
        devices = [
            SimDevice(id=unit, simdata=(
                [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
                [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
                [SimData(0, values=[0], datatype=DataType.REGISTERS)],
                [SimData(0, values=contents(), datatype=DataType.REGISTERS)]))
            for unit in range(1, units + 1)]
        server = ModbusTcpServer(devices, address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        servers.append(server)
    print(" ".join(str(s.transport.sockets[0].getsockname()[1]) for s in servers), flush=True)
    await _until_stdin_closes()
    for server in servers:
        await server.shutdown()


async def serve() -> None:
    from modbus import ModbusServer, RegisterMap, RegisterPoint
    from profiles import PointReading

    points = tuple(RegisterPoint(name=f"p{i}", table="input", address=a, type="float32")
                   for i, a in enumerate(ADDRESSES))
    server = ModbusServer(RegisterMap(name="bench", points=points), listen=("127.0.0.1", 0),
                          max_sessions=8)
    await server.start()
    now = datetime.now(timezone.utc)
    server.update_many(PointReading(point=p.name, time=now, value=200.0 + i + 0.5)
                       for i, p in enumerate(points))
    print(server.port, flush=True)
    await _until_stdin_closes()
    await server.stop()


if __name__ == "__main__":
    import logging

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if sys.argv[1] == "sim":
        asyncio.run(simulate(int(sys.argv[2]), int(sys.argv[3])))
    else:
        asyncio.run(serve())
