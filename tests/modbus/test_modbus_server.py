"""The server against independent clients on 127.0.0.1: pymodbus' client, mbpoll (libmodbus)
and raw sockets; sessions, quality, writes, and no torn values under concurrent updates."""

from __future__ import annotations

import asyncio
import shutil
import struct
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymodbus.client import AsyncModbusTcpClient

from modbus import ModbusServer, RegisterMap, RegisterPoint
from profiles import PointReading, ReadingValue

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def p(name: str, address: int, kind: str, table: str = "input", **keys: Any) -> RegisterPoint:
    return RegisterPoint(name=name, table=table, address=address, type=kind,
                         **keys)


MAP = RegisterMap(name="served", points=(
    p("volts", 0, "float32", unit="V"),
    p("energy", 2, "uint32", scale=Decimal("0.01"), unit="kWh"),
    p("temperature", 4, "int16", scale=Decimal("0.1"), unit="degC"),
    p("setpoint", 0, "int16", table="holding", writable=True, minimum=Decimal(0),
      maximum=Decimal(100)),
    p("relay", 5, "bool", table="coil", writable=True),
))


def reading(point: str, value: ReadingValue, *quality: str) -> PointReading:
    return PointReading(point=point, time=T0, value=value, quality=quality)


def publish_all(server: ModbusServer) -> None:
    server.update_many([reading("volts", 230.2), reading("energy", Decimal("1234.56")),
                        reading("temperature", Decimal("-5.5")), reading("setpoint", 42),
                        reading("relay", True)])


def words(fmt: str, value: object) -> list[int]:
    data = struct.pack(fmt, value)
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def test_pymodbus_client_reads_and_writes() -> None:
    written: list[PointReading] = []

    async def scenario() -> None:
        async with ModbusServer(MAP, listen=("127.0.0.1", 0), on_write=written.append) as server:
            publish_all(server)
            client = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=2)
            await client.connect()
            try:
                answer = await client.read_input_registers(0, count=5, device_id=1)
                assert answer.registers == (words(">f", 230.2) + words(">I", 123456)
                                            + [(-55) & 0xFFFF])
                coils = await client.read_coils(5, count=1, device_id=1)
                assert coils.bits[0] is True
                assert not (await client.write_register(0, 77, device_id=1)).isError()
                refused = await client.write_register(0, 101, device_id=1)
                assert refused.isError() and refused.exception_code == 3
                assert not (await client.write_coil(5, False, device_id=1)).isError()
                gap = await client.read_input_registers(6, count=1, device_id=1)
                assert gap.isError() and gap.exception_code == 2
            finally:
                client.close()
        assert [(r.point, r.value) for r in written] == [("setpoint", 77), ("relay", False)]

    run(scenario)


def test_a_stale_point_answers_exception_11_or_nan() -> None:
    async def scenario() -> None:
        async with ModbusServer(MAP, listen=("127.0.0.1", 0)) as strict, ModbusServer(
                MAP, listen=("127.0.0.1", 0), bad_quality="no_value") as lenient:
            for server in (strict, lenient):
                publish_all(server)
                server.update(reading("volts", 229.0, "stale"))
            client = AsyncModbusTcpClient("127.0.0.1", port=strict.port, timeout=2)
            other = AsyncModbusTcpClient("127.0.0.1", port=lenient.port, timeout=2)
            await client.connect()
            await other.connect()
            try:
                answer = await client.read_input_registers(0, count=2, device_id=1)
                assert answer.isError() and answer.exception_code == 11
                fine = await client.read_input_registers(2, count=3, device_id=1)
                assert not fine.isError()
                nan = await other.read_input_registers(0, count=4, device_id=1)
                assert nan.registers == [0x7FC0, 0, *words(">I", 123456)]
            finally:
                client.close()
                other.close()

    run(scenario)


@pytest.mark.skipif(shutil.which("mbpoll") is None, reason="mbpoll (Debian package mbpoll) is "
                    "not installed; .ci/run installs it")
def test_mbpoll_reads_what_the_server_publishes() -> None:
    async def mbpoll(port: int, *options: str, write: tuple[str, ...] = ()) -> str:
        process = await asyncio.create_subprocess_exec(
            "mbpoll", "-q", "-1", "-0", "-p", str(port), "-o", "2", *options, "127.0.0.1", *write,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode()

    async def scenario() -> None:
        async with ModbusServer(MAP, listen=("127.0.0.1", 0)) as server:
            publish_all(server)
            floats = await mbpoll(server.port, "-t", "3:float", "-B", "-r", "0", "-c", "1")
            assert "[0]: \t230.2" in floats
            registers = await mbpoll(server.port, "-t", "3", "-r", "2", "-c", "3")
            assert "[2]: \t1" in registers and "[3]: \t57920 (-7616)" in registers
            assert "[4]: \t65481 (-55)" in registers
            coil = await mbpoll(server.port, "-t", "0", "-r", "5", "-c", "1")
            assert "[5]: \t1" in coil
            await mbpoll(server.port, "-t", "4", "-r", "0", write=("12",))
            holding = await mbpoll(server.port, "-t", "4", "-r", "0", "-c", "1")
            assert "[0]: \t12" in holding

    run(scenario)


def mbap(transaction: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


async def exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        header = await reader.readexactly(7)
        length = struct.unpack(">H", header[4:6])[0]
        return header + await reader.readexactly(length - 1)
    finally:
        writer.close()


def test_raw_bytes_on_the_wire() -> None:
    async def scenario() -> None:
        async with ModbusServer(MAP, listen=("127.0.0.1", 0)) as server:
            publish_all(server)
            # Read input registers 2..3 (energy 1234.56 kWh = 123456 = 0x0001E240).
            answer = await exchange(server.port, bytes.fromhex("1234 0000 0006 01 04 0002 0002"))
            assert answer == bytes.fromhex("1234 0000 0007 01 04 04 0001 e240")
            # Discrete inputs: the map has none, exception 2 (illegal data address).
            answer = await exchange(server.port, bytes.fromhex("0007 0000 0006 01 02 0000 0001"))
            assert answer == bytes.fromhex("0007 0000 0003 01 82 02")
            # Write multiple registers: 2 registers from 0 reach past the writable point.
            answer = await exchange(server.port,
                                    bytes.fromhex("0008 0000 000b 01 10 0000 0002 04 0001 0002"))
            assert answer == bytes.fromhex("0008 0000 0003 01 90 02")

    run(scenario)


def test_at_most_max_sessions_and_the_next_is_closed() -> None:
    async def scenario() -> None:
        async with ModbusServer(MAP, listen=("127.0.0.1", 0), max_sessions=8) as server:
            publish_all(server)
            request = bytes.fromhex("0001 0000 0006 01 04 0000 0002")
            sessions = [await asyncio.open_connection("127.0.0.1", server.port)
                        for _ in range(8)]
            for reader, writer in sessions:
                writer.write(request)
                await writer.drain()
                assert len(await reader.readexactly(13)) == 13
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            # Closed at once (the wait is bounded only so that a failure cannot hang).
            assert await asyncio.wait_for(reader.read(100), 20) == b""
            writer.close()
            assert server.refused_sessions == 1 and server.sessions == 8
            sessions[0][1].close()
            await sessions[0][1].wait_closed()
            for _ in range(100):
                if server.sessions < 8:
                    break
                await asyncio.sleep(0.01)
            assert len(await exchange(server.port, request)) == 13
            for _, writer in sessions[1:]:
                writer.close()

    run(scenario)


LAYOUT = st.tuples(st.sampled_from(["big", "little"]), st.sampled_from(["big", "little"]))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LAYOUT, st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=4, unique=True))
def test_eight_sessions_never_read_a_torn_value(layout: tuple[str, str], values: list[int]) -> None:
    # A mixture of two written values (old high word, new low word) is a value that was
    # never written, whenever their words differ; hypothesis draws such values.
    served = RegisterMap(name="torn", points=(
        p("counter", 0, "uint32", word_order=layout[0], byte_order=layout[1]),))
    stop = threading.Event()

    def feed(server: ModbusServer) -> None:
        while not stop.is_set():
            for value in values:
                server.update(reading("counter", value))

    async def scenario() -> None:
        async with ModbusServer(served, listen=("127.0.0.1", 0)) as server:
            server.update(reading("counter", values[0]))
            feeder = threading.Thread(target=feed, args=(server,))
            feeder.start()
            try:
                async def session() -> list[int]:
                    client = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=2)
                    await client.connect()
                    seen = []
                    try:
                        for _ in range(15):
                            answer = await client.read_input_registers(0, count=2, device_id=1)
                            data = b"".join(
                                w.to_bytes(2, "little" if layout[1] == "little" else "big")
                                for w in (answer.registers[::-1] if layout[0] == "little"
                                          else answer.registers))
                            seen.append(int.from_bytes(data, "big"))
                    finally:
                        client.close()
                    return seen

                results = await asyncio.gather(*(session() for _ in range(8)))
            finally:
                stop.set()
                feeder.join()
        assert {value for seen in results for value in seen} <= set(values)

    run(scenario)
