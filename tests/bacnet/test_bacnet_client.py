"""meterkit's client and poller against bacpypes3 devices in another process, and a
device that does not answer."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("bacpypes3", reason="the bacnet extra (bacpypes3) is not installed")

from bacnet import (
    BacnetClient,
    DeviceStatus,
    DeviceTimeout,
    PointList,
    Poller,
    RequestError,
    parse_point_list,
)
from profiles import PointReading

from .support import Peer, free_udp_port


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive UDP ports that are free now."""
    for _ in range(50):
        first = free_udp_port()
        if first + count < 65536 and all(_free(first + i) for i in range(count)):
            return first
    raise AssertionError("no block of free UDP ports")


def _free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def simulator(count: int, first_port: int, *options: str) -> Peer:
    sim = Peer([sys.executable, "-m", "bacnet.sim", str(count), str(first_port), *options])
    sim.until("ready")
    return sim


class Devices:
    def __init__(self) -> None:
        self.first = free_port_block(4)  # three devices, then a port nobody answers on
        self.sim = simulator(3, self.first, "--objects", "12")
        no_rpm_port = free_port_block(1)
        self.no_rpm = simulator(1, no_rpm_port, "--no-rpm", "--first-instance", "2000",
                                "--objects", "6")
        self.no_rpm_address = f"127.0.0.1:{no_rpm_port}"
        self.addresses = [f"127.0.0.1:{self.first + i}" for i in range(3)]
        self.dead = f"127.0.0.1:{self.first + 3}"

    def close(self) -> None:
        self.sim.close()
        self.no_rpm.close()


@pytest.fixture(scope="module")
def devices() -> Iterator[Devices]:
    d = Devices()
    yield d
    d.close()


def client_run(coroutine_function: Any) -> Any:
    async def run() -> Any:
        async with BacnetClient(address="127.0.0.1/8:0", apdu_timeout=0.3, retries=1) as client:
            return await coroutine_function(client)
    return asyncio.run(run())


def test_discover_finds_the_devices_and_not_the_dead_one(devices: Devices) -> None:
    async def scan(client: BacnetClient) -> Any:
        return await client.discover(addresses=[*devices.addresses, devices.dead], timeout=1)

    found = client_run(scan)
    assert [(d.instance, d.address, d.name, d.vendor, d.model) for d in found] == [
        (1000 + i, devices.addresses[i], f"sim-{1000 + i}", "meterkit simulator",
         "simulated controller") for i in range(3)]
    assert "read-property-multiple" in found[0].services

    async def in_range(client: BacnetClient) -> Any:
        return await client.discover(low=1001, high=1001, addresses=devices.addresses,
                                     timeout=1, details=False)

    assert [d.instance for d in client_run(in_range)] == [1001]


def test_pics_with_rpm_reads_what_the_property_by_property_scan_reads(devices: Devices) -> None:
    address = devices.addresses[0]

    async def both(client: BacnetClient) -> Any:
        return await client.pics(address), await client.pics(address, use_rpm=False)

    fast, naive = client_run(both)
    assert fast.rpm and not naive.rpm
    assert fast.device == naive.device
    assert [o.object for o in fast.objects] == [o.object for o in naive.objects]
    assert len(fast.objects) == 2 + 12  # device, network port, 12 objects
    clock = {"local-time", "local-date"}  # they move between the two scans
    for quick, slow in zip(fast.objects, naive.objects, strict=True):
        slow_properties = {k: v for k, v in slow.properties.items()
                           if k not in clock | {"property-list"}}
        assert {k: v for k, v in quick.properties.items() if k not in clock
                } == slow_properties, quick.object
    meter = next(o for o in fast.objects if o.object == "analog-input,1")
    assert meter.properties["present-value"] == 10.0
    assert meter.properties["object-name"] == "meter 1"
    assert 3 * fast.requests <= naive.requests  # the target: at least 3x fewer


def test_pics_falls_back_when_the_device_has_no_rpm(devices: Devices) -> None:
    address = devices.no_rpm_address

    async def scan(client: BacnetClient) -> Any:
        return await client.pics(address)

    pics = client_run(scan)
    assert not pics.rpm and pics.device.instance == 2000
    assert len(pics.objects) == 2 + 6
    assert pics.objects[-1].properties["object-name"] == "contact 6"


def test_pics_point_list_round_trips_and_names_units(devices: Devices, tmp_path: Any) -> None:
    async def scan(client: BacnetClient) -> Any:
        return await client.pics(devices.addresses[1])

    points = client_run(scan).point_list()
    path = tmp_path / "device.toml"
    path.write_text(points.to_toml())
    again = parse_point_list(__import__("profiles").load_toml(path), file=str(path))
    assert again.points == points.points and again.device == points.device
    assert points.device.address == devices.addresses[1]
    meter = points.point("sim-1001/meter 1")
    assert (meter.object_type, meter.instance, meter.unit) == ("analog-input", 1, "m3")
    assert {p.object_type for p in points.points} == {
        "analog-input", "analog-value", "binary-input"}


def test_read_errors_are_typed(devices: Devices) -> None:
    async def reads(client: BacnetClient) -> Any:
        value = await client.read(devices.addresses[2], "analog-input,4", "present-value")
        with pytest.raises(RequestError) as unknown:
            await client.read(devices.addresses[2], "analog-input,99", "present-value")
        with pytest.raises(DeviceTimeout):
            await client.read(devices.dead, "analog-input,1", "present-value")
        return value, unknown.value

    value, unknown = client_run(reads)
    assert value == 40.0
    assert unknown.reason == "unknown-object" and unknown.address == devices.addresses[2]


def device_list(address: str, instance: int) -> PointList:
    return parse_point_list({
        "kind": "bacnet", "profile": {"name": f"dev{instance}"},
        "device": {"instance": instance, "address": address, "name": f"dev{instance}"},
        "points": [
            {"point": f"dev{instance}/meter1", "object": "analog-input", "instance": 1,
             "unit": "m3"},
            {"point": f"dev{instance}/setpoint2", "object": "analog-value", "instance": 2,
             "unit": "%"},
            {"point": f"dev{instance}/contact3", "object": "binary-input", "instance": 3},
            {"point": f"dev{instance}/name1", "object": "analog-input", "instance": 1,
             "property": "object-name"},
            {"point": f"dev{instance}/missing", "object": "analog-input", "instance": 77},
        ],
    }, file=f"dev{instance}.toml")


def test_poller_reads_groups_and_marks_a_dead_device(devices: Devices) -> None:
    readings: list[PointReading] = []
    statuses: list[DeviceStatus] = []
    lists = [device_list(devices.addresses[0], 1000), device_list(devices.dead, 1003)]

    async def poll(client: BacnetClient) -> int:
        poller = Poller(client, lists, on_reading=readings.append, on_status=statuses.append,
                        use_cov=False, group=2)
        start = client.requests
        await poller.poll_once()
        return client.requests - start

    requests = client_run(poll)
    by_point = {r.point: r for r in readings}
    assert (by_point["dev1000/meter1"].value, by_point["dev1000/meter1"].unit) == (10.0, "m3")
    assert by_point["dev1000/meter1"].quality == ()
    assert by_point["dev1000/setpoint2"].value == 2.0
    assert by_point["dev1000/contact3"].value is True  # active
    assert by_point["dev1000/name1"].value == "meter 1"
    assert (by_point["dev1000/missing"].value, by_point["dev1000/missing"].quality) == (
        None, ("invalid",))
    for name in ("meter1", "setpoint2", "contact3", "name1", "missing"):
        dead = by_point[f"dev1003/{name}"]
        assert (dead.value, dead.quality) == (None, ("comm_failure",))
    [status] = statuses
    assert (status.device, status.state, status.failures) == ("dev1003", "failed", 1)
    # 5 points in groups of 2: 3 ReadPropertyMultiple to the live device, the last one
    # (the missing object) refused, so read alone (present-value, status-flags); the dead
    # device stops at its first unanswered request
    assert requests == 3 + 2 + 1


def test_poller_follows_cov_where_supported() -> None:
    first = free_port_block(1)
    sim = simulator(1, first, "--objects", "3", "--vary", "0.2")
    readings: list[PointReading] = []
    try:
        async def follow(client: BacnetClient) -> int:
            poller = Poller(client, [device_list(f"127.0.0.1:{first}", 1000)],
                            on_reading=readings.append, cov_lifetime=60)
            started = await poller.subscribe()
            for _ in range(200):  # bounded: until three changes of meter1 arrived
                if len({r.value for r in readings if r.point == "dev1000/meter1"}) >= 3:
                    break
                await asyncio.sleep(0.05)
            await poller.poll_once()
            await poller.close()
            return started

        started = client_run(follow)
    finally:
        sim.close()
    # the present-value points subscribe (meter1, setpoint2, contact3, missing is refused)
    assert started == 3
    values = [r.value for r in readings if r.point == "dev1000/meter1"]
    assert all(isinstance(v, float) for v in values)
    numbers = [float(v) for v in values if isinstance(v, float)]
    assert len(set(numbers)) >= 3
    assert numbers == sorted(numbers)  # the simulator only adds
    # one reading per notification (present value and status flags come together)
    assert len(numbers) == len(set(numbers))
    # a poll after subscribing reads only what is not subscribed
    polled = {r.point for r in readings[-2:]}
    assert polled == {"dev1000/name1", "dev1000/missing"}
