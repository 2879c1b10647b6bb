"""The TCP simulator, driven by the pyserial (sync) and the asyncio transports."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import mbus
import mbus.sim
from mbus import AsyncBus, Bus, SecondaryAddress
from mbus.sim import Segment, SimulatorServer, random_meters
from mbus.transports import AsyncPort, SerialPort

TIMEOUT = 0.05  # loopback answers take well under a millisecond


@contextmanager
def serving(server: Any) -> Iterator[int]:
    """Run an asyncio server (simulator or bridge) in a thread; yields its TCP port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        port: int = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0),
                                                     loop).result(10)
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def segment() -> Segment:
    return Segment(random_meters(12, seed=5, clustered=True, max_pages=3),
                   drop_parity_errors=True)


def test_sync_transport_scans_and_reads_over_tcp(segment: Segment) -> None:
    truth = {slave.secondary for slave in segment.slaves}
    with serving(SimulatorServer(segment)) as port, \
            SerialPort(f"socket://127.0.0.1:{port}") as serial_port:
        bus = Bus(serial_port, timeout=TIMEOUT)
        assert [found.primary for found in bus.scan_primary(range(15))] == list(range(1, 13))
        result = bus.scan_secondary()
        assert {meter.address for meter in result.meters} == truth
        slave = segment.slaves[0]
        reading = bus.read(slave.secondary)
        assert len(reading.telegrams) == slave.page_count
        assert bus.read(slave.primary).telegram.header is not None
        with pytest.raises(mbus.NoAnswerError):
            bus.read(200)


def test_asyncio_transport_scans_and_reads_over_tcp(segment: Segment) -> None:
    truth = {slave.secondary for slave in segment.slaves}

    async def scenario(port: int) -> None:
        async with AsyncBus(await AsyncPort.open(f"tcp://127.0.0.1:{port}"),
                            timeout=TIMEOUT) as bus:
            result = await bus.scan_secondary()
            assert {meter.address for meter in result.meters} == truth
            found = await bus.scan_primary(range(1, 4))
            assert [f.primary for f in found] == [1, 2, 3]
            slave = segment.slaves[1]
            reading = await bus.read(slave.primary)
            assert len(reading.telegrams) == slave.page_count
            await bus.set_primary_address(slave.secondary, 77)
            assert len((await bus.read(77)).telegrams) == slave.page_count
            with pytest.raises(mbus.NoMeterError):
                await bus.read(SecondaryAddress.parse("99999999FFFFFFFF"))
            await bus.ping(77)
            segment.slaves[0].primary = 0
            assigned = await bus.assign_addresses([segment.slaves[0].secondary], free=[90])
            assert [a.primary for a in assigned] == [90]
            await bus.set_baud_rate(90, 9600)
            with pytest.raises(mbus.NoAnswerError):
                await bus.ping(90)

    with serving(SimulatorServer(segment)) as port:
        asyncio.run(scenario(port))


def test_meters_file(tmp_path: Path) -> None:
    document = [{"secondary": "1234567824232504", "primary": 3,
                 "pages": [[{"vif": 19, "value": 12, "coding": "bcd8"}],
                           [{"vif": "06", "value": 5000}]]},
                {"secondary": "8765432124232507"}]
    path = tmp_path / "meters.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    slaves = mbus.sim.load_meters(str(path))
    bus = Bus(mbus.sim.SimulatedPort(Segment(slaves)))
    reading = bus.read(3)
    assert [(r.quantity, r.value) for r in reading.telegram.records] == [
        ("volume", Decimal(12)), ("energy", 5000)]
    assert slaves[1].primary == 0
    with pytest.raises(mbus.EncodeError, match="meter 0"):
        mbus.sim.slaves_from_json([{"secondary": "xyz"}])
    with pytest.raises(mbus.EncodeError, match="list"):
        mbus.sim.slaves_from_json({"secondary": "1"})
