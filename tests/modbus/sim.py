"""Simulated Modbus devices for the tests: pymodbus' own server (``SimDevice``) on
127.0.0.1, filled with register contents the tests compute themselves (``struct``), not
with meterkit's encoder, so that the client is checked against an independent peer."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

Tables = Mapping[str, Mapping[int, Sequence[int]]]
"""table name ("coil", "discrete", "holding", "input") -> start address -> contents."""
Action = Callable[[int, int, int, int, list[int], Any], Awaitable[ExcCodes | None]]

_ORDER = ("coil", "discrete", "holding", "input")


def float32(value: float, *, swapped: bool = False) -> list[int]:
    """The two registers of a float32, high word first (or low word first, ``swapped``)."""
    data = struct.pack(">f", value)
    words = [int.from_bytes(data[:2], "big"), int.from_bytes(data[2:], "big")]
    return words[::-1] if swapped else words


def int16(value: int) -> int:
    """The register of a signed 16-bit value (two's complement)."""
    return value & 0xFFFF


def text(value: str, registers: int) -> list[int]:
    """A NUL-padded string in ``registers`` registers, two characters each."""
    data = value.encode().ljust(2 * registers, b"\0")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _blocks(table: str, contents: Mapping[int, Sequence[int]]) -> list[SimData]:
    if table in ("coil", "discrete"):
        if not contents:
            return [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
        return [SimData(address, values=[bool(v) for v in values], datatype=DataType.BITS)
                for address, values in sorted(contents.items())]
    if not contents:
        return [SimData(0, values=[0], datatype=DataType.REGISTERS)]
    return [SimData(address, values=list(values), datatype=DataType.REGISTERS)
            for address, values in sorted(contents.items())]


def device(unit_id: int, tables: Tables, action: Action | None = None) -> SimDevice:
    """A simulated device: the given register blocks (the addresses between blocks answer
    "illegal data address"), separate tables for coils, inputs, holding and input registers."""
    simdata = tuple(_blocks(name, tables.get(name, {})) for name in _ORDER)
    return SimDevice(id=unit_id, simdata=simdata, action=action)  # type: ignore[arg-type]


@asynccontextmanager
async def serving(devices: list[SimDevice], **options: Any) -> AsyncIterator[int]:
    """Run a pymodbus TCP server for ``devices`` on 127.0.0.1; yields its port."""
    server = ModbusTcpServer(devices, address=("127.0.0.1", 0), **options)
    await server.serve_forever(background=True)
    try:
        port: int = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        yield port
    finally:
        await server.shutdown()  # type: ignore[no-untyped-call]
        await asyncio.sleep(0)
