"""The poller against pymodbus' simulator: many devices, a dead one, an unreachable one,
an RTU line; order of results instead of timed assertions."""

from __future__ import annotations

import asyncio
from typing import Any

from pymodbus.framer import FramerType

from modbus import Device, DeviceStatus, Poller, RegisterMap, RegisterPoint

from .sim import device, float32, serving

MAP = RegisterMap(name="m", max_gap=8, points=(
    RegisterPoint(name="power", table="input", address=0, type="float32", unit="W"),
    RegisterPoint(name="energy", table="input", address=8, type="float32", unit="kWh"),
))


def sim(unit: int) -> Any:
    # A hole at 2..7: the joined read is refused once, then split.
    return device(unit, {"input": {0: float32(100.0 * unit), 8: float32(unit + 0.5)}})


async def silent_endpoint() -> tuple[asyncio.Server, int]:
    """Accepts connections and never answers (a device that hangs)."""
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_a_dead_device_does_not_hold_up_the_others() -> None:
    statuses: list[DeviceStatus] = []

    async def scenario() -> None:
        silent, silent_port = await silent_endpoint()
        async with serving([sim(u) for u in (1, 2, 3)]) as port_a, serving(
                [sim(u) for u in (4, 5)]) as port_b:
            async with serving([sim(9)]) as closed_port:
                pass
            devices = [Device(name="dead", url=f"tcp://127.0.0.1:{silent_port}", map=MAP,
                              timeout=0.5, retries=0)]
            devices += [Device(name=f"a{u}", url=f"tcp://127.0.0.1:{port_a}", map=MAP,
                               unit_id=u) for u in (1, 2, 3)]
            devices += [Device(name=f"b{u}", url=f"tcp://127.0.0.1:{port_b}", map=MAP,
                               unit_id=u) for u in (4, 5)]
            devices += [Device(name="gone", url=f"tcp://127.0.0.1:{closed_port}", map=MAP)]
            poller = Poller(devices, on_status=statuses.append)
            try:
                first = await poller.poll()
                second = await poller.poll()
            finally:
                poller.close()
                silent.close()
        states = {name: result.status.state for name, result in first.results.items()}
        assert states == {"dead": "timeout", "a1": "ok", "a2": "ok", "a3": "ok", "b4": "ok",
                          "b5": "ok", "gone": "unreachable"}
        # The live devices were read while the dead one was still being waited for.
        order = [status.device for status in statuses[:7]]
        assert order.index("dead") > max(order.index(f"a{u}") for u in (1, 2, 3))
        assert order.index("dead") > max(order.index(f"b{u}") for u in (4, 5))
        values = {r.point: r.value for r in first.readings if r.value is not None}
        assert values["a2.power"] == 200.0 and values["b5.energy"] == 5.5
        assert "dead.power" not in values
        # The split learnt in the first cycle is kept: fewer requests in the second.
        assert second.results["a1"].requests == 2 < first.results["a1"].requests == 3
        assert second.requests < first.requests

    asyncio.run(scenario())


def test_devices_on_one_rtu_line_are_read_one_after_the_other() -> None:
    async def scenario() -> None:
        async with serving([sim(1), sim(2)], framer=FramerType.RTU) as port:
            url = f"socket://127.0.0.1:{port}"
            poller = Poller([Device(name="m1", url=url, map=MAP, unit_id=1),
                             Device(name="m2", url=url, map=MAP, unit_id=2)])
            try:
                cycle = await poller.poll()
            finally:
                poller.close()
        assert [r.status.state for r in cycle.results.values()] == ["ok", "ok"]
        assert {r.point: r.value for r in cycle.readings} == {
            "m1.power": 100.0, "m1.energy": 1.5, "m2.power": 200.0, "m2.energy": 2.5}

    asyncio.run(scenario())
