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


class PtyPair:
    """Two pseudo-terminals joined like a null-modem cable: what is written to one's
    device comes out of the other's (a relay thread copies between the two masters)."""

    def __init__(self) -> None:
        import os
        import pty
        import threading
        import tty

        self._masters: list[int] = []
        self._slaves: list[int] = []
        paths = []
        for _ in range(2):
            master, slave = pty.openpty()
            tty.setraw(slave)
            self._masters.append(master)
            self._slaves.append(slave)
            paths.append(os.ttyname(slave))
        self.paths = (paths[0], paths[1])
        self._stop_read, self._stop_write = os.pipe()
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        import os
        import select

        a, b = self._masters
        while True:
            ready, _, _ = select.select([a, b, self._stop_read], [], [])
            if self._stop_read in ready:
                return
            for source in ready:
                try:
                    data = os.read(source, 4096)
                except OSError:
                    return
                os.write(b if source == a else a, data)

    def close(self) -> None:
        import os

        os.write(self._stop_write, b"x")
        self._thread.join()
        for fd in (*self._masters, *self._slaves, self._stop_read, self._stop_write):
            os.close(fd)


class ServerThread:
    """``serving(devices)`` in a thread of its own (for commands run as subprocesses)."""

    def __init__(self, devices: list[SimDevice], **options: Any) -> None:
        import threading

        self._devices = devices
        self._options = options
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serving(self._devices, **self._options) as port:
            self.port = port
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the simulated server did not start")
        return self

    def __exit__(self, *_: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)


def nobody_else() -> SimDevice:
    """A catch-all device (id 0) that answers exception 11 for every unit id not
    simulated, as a Modbus TCP gateway does for units that do not answer behind it."""
    async def answer(*_: Any) -> ExcCodes:
        return ExcCodes.GATEWAY_NO_RESPONSE

    return device(0, {"holding": {0: [0]}, "input": {0: [0]}}, action=answer)
