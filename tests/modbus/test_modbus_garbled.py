"""A raw-socket device that answers wrongly: no wrong answer may become a value."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

import pytest

from modbus import ModbusClient, RegisterMap, RegisterPoint

# request (transaction, unit, function, address, count) -> answer bytes
Answer = Callable[[int, int, int, int, int], bytes]

MAP = RegisterMap(name="m", points=(
    RegisterPoint(name="v", table="input", address=0, type="float32"),
    RegisterPoint(name="w", table="input", address=2, type="float32")))
GOOD = struct.pack(">ff", 230.0, 231.0)


def mbap(transaction: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


ANSWERS: dict[str, Answer] = {
    "wrong transaction id": lambda t, u, f, a, c: mbap(t + 1, u, bytes([f, 8]) + GOOD),
    "wrong unit id": lambda t, u, f, a, c: mbap(t, u + 1, bytes([f, 8]) + GOOD),
    "wrong function": lambda t, u, f, a, c: mbap(t, u, bytes([3, 8]) + GOOD),
    "too few registers": lambda t, u, f, a, c: mbap(t, u, bytes([f, 4]) + GOOD[:4]),
    "byte count beyond the data": lambda t, u, f, a, c: mbap(t, u, bytes([f, 200]) + GOOD),
    "noise": lambda t, u, f, a, c: bytes(range(40)),
}


async def raw_device(answer: Answer) -> tuple[asyncio.Server, int]:
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(7)
                transaction, _, length, unit = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                function, address, count = struct.unpack(">BHH", pdu[:5])
                writer.write(answer(transaction, unit, function, address, count))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_a_wrong_answer_never_becomes_a_value(case: str) -> None:
    async def scenario() -> None:
        server, port = await raw_device(ANSWERS[case])
        client = ModbusClient(f"tcp://127.0.0.1:{port}", timeout=0.3, retries=0)
        try:
            result = await client.read_map(MAP)
        finally:
            client.close()
            server.close()
            await server.wait_closed()
        assert result.status.state in ("timeout", "garbled", "unreachable"), result.status
        assert [(r.value, r.quality) for r in result.readings] == [(None, ("comm_failure",))] * 2

    asyncio.run(scenario())


def test_the_raw_device_answers_right_when_asked_right() -> None:
    # The harness itself is sound: a correct answer is read.
    async def scenario() -> None:
        server, port = await raw_device(lambda t, u, f, a, c: mbap(t, u, bytes([f, 8]) + GOOD))
        client = ModbusClient(f"tcp://127.0.0.1:{port}", timeout=1, retries=0)
        try:
            result = await client.read_map(MAP)
        finally:
            client.close()
            server.close()
            await server.wait_closed()
        assert [r.value for r in result.readings] == [230.0, 231.0]

    asyncio.run(scenario())
