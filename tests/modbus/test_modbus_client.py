"""The client against real peers on 127.0.0.1: pymodbus' simulator (TCP and RTU framing)
and raw sockets that answer wrongly. Register contents are computed with struct."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import pytest
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType

from modbus import (
    CommunicationError,
    DeviceException,
    EncodeError,
    ModbusClient,
    RegisterMap,
    RegisterPoint,
    UrlError,
)

from .sim import device, float32, serving


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def p(name: str, address: int, kind: str = "float32", table: str = "input",
      **keys: Any) -> RegisterPoint:
    return RegisterPoint(name=name, table=table, address=address, type=kind,
                         **keys)


class Recorder:
    """A device action recording each request (function, address, count); it refuses
    reads longer than ``limit`` with "illegal data value", as small meters do, and waits
    ``delay`` seconds before answering."""

    def __init__(self, limit: int = 125, delay: float = 0.0) -> None:
        self.limit = limit
        self.delay = delay
        self.requests: list[tuple[int, int, int]] = []

    async def action(self, function: int, start: int, address: int, count: int,
                       registers: list[int], values: Any) -> ExcCodes | None:
        self.requests.append((function, address, count))
        if self.delay:
            await asyncio.sleep(self.delay)
        return ExcCodes.ILLEGAL_VALUE if count > self.limit else None


AWKWARD = RegisterMap(name="awkward", max_registers=10, max_gap=8, points=(
    p("a", 0, word_order="little"),
    p("b", 2, word_order="little"),
    p("c", 8, "int32", word_order="little"),   # 4..7 is a hole the device refuses
    p("d", 12, "uint16", scale=Decimal("0.1"), unit="V"),
    p("e", 13, "int16", byte_order="little"),
))


def awkward_device(recorder: Recorder) -> Any:
    c = struct.pack(">i", -123456)
    return device(7, {"input": {
        0: float32(1.5, swapped=True) + float32(-2.25, swapped=True),
        8: [int.from_bytes(c[2:], "big"), int.from_bytes(c[:2], "big")],
        12: [2304, 0x3412],
    }}, action=recorder.action)


def test_an_awkward_device_swapped_words_holes_and_a_block_limit() -> None:
    recorder = Recorder(limit=10)

    async def scenario() -> None:
        async with serving([awkward_device(recorder)]) as port, ModbusClient(
                f"tcp://127.0.0.1:{port}", timeout=2) as client:
            first = await client.read_map(AWKWARD, unit_id=7)
            values = {r.point: (r.value, r.quality) for r in first.readings}
            assert values == {"a": (1.5, ()), "b": (-2.25, ()), "c": (-123456, ()),
                              "d": (Decimal("230.4"), ()), "e": (0x1234, ())}
            assert first.status.state == "ok"
            assert all(count <= 10 for _, _, count in recorder.requests)
            # The hole refused a joined read: split once, remembered for the next poll.
            recorder.requests.clear()
            second = await client.read_map(AWKWARD, unit_id=7, plan=first.plan)
            assert [r.value for r in second.readings] == [r.value for r in first.readings]
            assert second.requests == len(first.plan) == len(recorder.requests)
            assert second.requests < first.requests

    run(scenario)


def test_a_read_beyond_the_device_limit_is_an_exception_not_a_value() -> None:
    recorder = Recorder(limit=3)

    async def scenario() -> None:
        async with serving([awkward_device(recorder)]) as port, ModbusClient(
                f"tcp://127.0.0.1:{port}") as client:
            result = await client.read_map(AWKWARD, unit_id=7)
            assert result.status.state == "exception" and result.status.exception_code == 3
            failed = {r.point for r in result.readings if r.quality == ("comm_failure",)}
            assert failed and all(r.value is None for r in result.readings if r.point in failed)
            with pytest.raises(DeviceException) as caught:
                await client.read(result.plan[0], 7)
            assert caught.value.code == 3 and "illegal data value" in str(caught.value)

    run(scenario)


def test_a_slow_device_times_out_and_the_next_poll_reconnects() -> None:
    recorder = Recorder(delay=0.6)

    async def scenario() -> None:
        async with serving([awkward_device(recorder)]) as port:
            client = ModbusClient(f"tcp://127.0.0.1:{port}", timeout=0.2, retries=0)
            try:
                result = await client.read_map(AWKWARD, unit_id=7)
                assert result.status.state == "timeout"
                assert all(r.quality == ("comm_failure",) and r.value is None
                           for r in result.readings)
                # The hole's exception came at once; the first gap-free run timed out, and
                # the reads after it were given up, not sent.
                assert len(recorder.requests) == 1 and result.requests == 2
                recorder.delay = 0
                await asyncio.sleep(0.6)  # the late answer arrives and is dropped
                again = await client.read_map(AWKWARD, unit_id=7)
                assert again.status.state == "ok"
            finally:
                client.close()

    run(scenario)


def test_an_unreachable_device_is_a_status_not_a_crash() -> None:
    async def scenario() -> None:
        async with serving([awkward_device(Recorder())]) as port:
            pass  # the port is closed again
        client = ModbusClient(f"tcp://127.0.0.1:{port}", timeout=0.5)
        with pytest.raises(CommunicationError):
            await client.connect()
        result = await client.read_map(AWKWARD, unit_id=7)
        assert result.status.state == "unreachable"
        assert {r.quality for r in result.readings} == {("comm_failure",)}

    run(scenario)


def test_an_unknown_unit_answers_an_exception() -> None:
    async def scenario() -> None:
        async with serving([awkward_device(Recorder())]) as port, ModbusClient(
                f"tcp://127.0.0.1:{port}") as client:
            result = await client.read_map(AWKWARD, unit_id=9)
            assert result.status.state == "exception"
            assert result.status.exception_code is not None

    run(scenario)


def test_rtu_frames_over_a_pyserial_socket_url() -> None:
    async def scenario() -> None:
        async with serving([awkward_device(Recorder())], framer=FramerType.RTU) as port, \
                ModbusClient(f"socket://127.0.0.1:{port}", timeout=2) as client:
            result = await client.read_map(AWKWARD, unit_id=7)
            assert result.status.state == "ok"
            assert [r.value for r in result.readings][:2] == [1.5, -2.25]

    run(scenario)


def test_writes_go_through_and_are_checked_first() -> None:
    m = RegisterMap(name="w", points=(
        p("setpoint", 0, "uint32", table="holding", writable=True, scale=Decimal("0.01")),
        p("flag", 2, "bit", table="holding", bit=3, writable=True),
        p("relay", 0, "bool", table="coil", writable=True),
        p("fixed", 3, "uint16", table="holding")))

    async def scenario() -> None:
        sim = device(1, {"holding": {0: [0, 0, 0x0101, 5]}, "coil": {0: [False] * 8}})
        async with serving([sim]) as port, ModbusClient(f"tcp://127.0.0.1:{port}") as client:
            await client.write_point(m, "setpoint", Decimal("700.5"))
            await client.write_point(m, "flag", True)
            await client.write_point(m, "relay", True)
            result = await client.read_map(m)
            values = {r.point: r.value for r in result.readings}
            assert values == {"setpoint": Decimal("700.50"), "flag": True, "relay": True,
                              "fixed": 5}
            holding = await client.read(result.plan[1], 1)
            assert holding[2] == 0x0109  # the other bits of the register kept
            with pytest.raises(EncodeError, match="writable"):
                await client.write_point(m, "fixed", 1)
            with pytest.raises(EncodeError, match="out of the range"):
                await client.write_point(m, "setpoint", Decimal("-1"))

    run(scenario)


@pytest.mark.parametrize("url", ["udp://x:1", "tcp://", "tcp://h:99999", "rtu://ttyUSB0",
                                 "rtu:///dev/ttyUSB0?baud=9600", "rtu:///dev/x?parity=X", "x"])
def test_bad_urls_are_url_errors(url: str) -> None:
    with pytest.raises(UrlError):
        ModbusClient(url)


def test_read_device_is_a_blocking_read() -> None:
    from modbus import read_device

    from .sim import ServerThread

    with ServerThread([awkward_device(Recorder())]) as server:
        result = read_device(f"tcp://127.0.0.1:{server.port}", AWKWARD, unit_id=7)
    assert result.status.state == "ok" and result.readings[0].value == 1.5
