"""BACnet: discovery and PICS scans of 50 devices, RPM against a naive ReadProperty scan;
COV notifications per second from meterkit's server with 1000 points.

Scan: 50 simulated bacpypes3 devices with 20 objects each run in another process
(``python -m bacnet.sim``) on 127.0.0.1, plus one address where nobody answers.
meterkit's client discovers them (one directed Who-Is per address, then each device's
name/vendor/model) and PICS-scans each (object list, then ReadPropertyMultiple ``all`` in
groups of objects); the naive scan reads every property of every object with its own
ReadProperty (the property list, then each property). Both scan the 50 devices 10 at a
time. Requests are confirmed requests sent; the figure to beat is 3x fewer requests.

COV: a BacnetServer in this process publishes 1000 Analog Inputs (cov-increment 0); a
bacpypes3 subscriber in another process subscribes to all of them (unconfirmed); then
every point changes ROUNDS times. The figures are notifications sent per second (from the
first change published until the server has sent them all: one reading in, one
notification out) and notifications received per second by the subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from bacnet import BacnetClient, BacnetServer, DeviceTimeout, parse_point_list
from profiles import PointReading

DEVICES = 50
OBJECTS = 20
PARALLEL = 10
COV_POINTS = 1000
ROUNDS = 5


def free_block(count: int) -> int:
    for first in range(47900, 60000, count + 7):
        sockets = []
        try:
            for port in range(first, first + count):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
    raise RuntimeError("no free block of UDP ports")


def start(command: list[str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"{command} did not start")
    return process


def stop(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=60)


async def scan(addresses: list[str], dead: str, use_rpm: bool) -> dict[str, Any]:
    # generous timeouts: the scan measures requests and time, not a loaded machine's drops
    async with BacnetClient(address="127.0.0.1/8:0", apdu_timeout=5.0, retries=2) as client:
        started = time.perf_counter()
        found = await client.discover(addresses=[*addresses, dead], timeout=2.0)
        discovered = time.perf_counter()
        discover_requests = client.requests
        limit = asyncio.Semaphore(PARALLEL)

        async def one(address: str) -> int:
            async with limit:
                return len((await client.pics(address, use_rpm=use_rpm)).objects)

        objects = await asyncio.gather(*(one(d.address) for d in found))
        finished = time.perf_counter()
        return {"devices": len(found), "objects": sum(objects),
                "discover_s": discovered - started, "discover_requests": discover_requests,
                "pics_s": finished - discovered, "pics_requests": client.requests
                - discover_requests}


async def dead_device_costs(dead: str) -> tuple[float, float]:
    async with BacnetClient(address="127.0.0.1/8:0", apdu_timeout=1.0, retries=1) as client:
        started = time.perf_counter()
        await client.discover(addresses=[dead], timeout=2.0)
        who_is = time.perf_counter() - started
        started = time.perf_counter()
        with contextlib.suppress(DeviceTimeout):
            await client.read(dead, "device,1", "object-name")
        return who_is, time.perf_counter() - started


def scan_figures() -> None:
    first = free_block(DEVICES + 1)
    sim = start([sys.executable, "-m", "bacnet.sim", str(DEVICES), str(first),
                 "--objects", str(OBJECTS)])
    addresses = [f"127.0.0.1:{first + i}" for i in range(DEVICES)]
    dead = f"127.0.0.1:{first + DEVICES}"
    try:
        fast = asyncio.run(scan(addresses, dead, use_rpm=True))
        naive = asyncio.run(scan(addresses, dead, use_rpm=False))
        who_is, read = asyncio.run(dead_device_costs(dead))
    finally:
        stop(sim)
    for name, figures in (("meterkit RPM scan", fast), ("naive ReadProperty", naive)):
        print(f"{name:20s} {figures['devices']} devices, {figures['objects']} objects: "
              f"discover {figures['discover_s']:.2f} s ({figures['discover_requests']} "
              f"requests), PICS {figures['pics_s']:.2f} s ({figures['pics_requests']} requests)")
    print(f"PICS requests: naive / RPM = {naive['pics_requests'] / fast['pics_requests']:.1f}x; "
          f"PICS time: naive / RPM = {naive['pics_s'] / fast['pics_s']:.1f}x")
    print(f"dead device: directed Who-Is waits {who_is:.2f} s (its timeout), a read gives up "
          f"after {read:.2f} s (apdu timeout 1 s x 2 tries); discovery above included it")


async def cov_rate() -> dict[str, Any]:
    points = parse_point_list({
        "kind": "bacnet", "profile": {"name": "cov bench"}, "device": {"instance": 4000},
        "points": [{"point": f"p{i}", "object": "analog-input", "instance": i, "unit": "kWh"}
                   for i in range(1, COV_POINTS + 1)]}, file="bench")
    server_port, peer_port = free_block(1), free_block(1) + 1
    now = datetime.now(timezone.utc)
    async with BacnetServer(points, address=f"127.0.0.1/8:{server_port}") as server:
        for i in range(1, COV_POINTS + 1):
            server.publish(PointReading(point=f"p{i}", time=now, value=Decimal(0), unit="kWh"))
        peer = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks._bacnet_peer", f"127.0.0.1/8:{peer_port}",
            f"127.0.0.1:{server_port}", str(COV_POINTS),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert peer.stdin is not None and peer.stdout is not None

        async def command(text: str) -> dict[str, Any]:
            assert peer.stdin is not None and peer.stdout is not None
            peer.stdin.write(f"{text}\n".encode())
            await peer.stdin.drain()
            answer: dict[str, Any] = json.loads(await peer.stdout.readline())
            return answer

        await peer.stdout.readline()  # ready
        await command("subscribe")
        await asyncio.sleep(2)  # the initial notifications
        await command("reset")
        started = time.time()
        for round_number in range(1, ROUNDS + 1):
            for i in range(1, COV_POINTS + 1):
                server.publish(PointReading(point=f"p{i}", time=now,
                                            value=Decimal(round_number), unit="kWh"))
            await asyncio.sleep(0)
        published = time.time()
        expected = ROUNDS * COV_POINTS
        report = await command("report")
        for _ in range(100):  # until all arrived, or nothing more comes for 1 s
            await asyncio.sleep(1)
            again = await command("report")
            if again["count"] == report["count"] or again["count"] >= expected:
                report = again
                break
            report = again
        peer.stdin.close()
        await peer.wait()
    return {"expected": expected, "received": report["count"],
            "seconds": report["last"] - started, "publish_s": published - started}


def cov_figures() -> None:
    figures = asyncio.run(cov_rate())
    print(f"COV: {COV_POINTS} points x {ROUNDS} changes: the server sent "
          f"{figures['expected']} notifications in {figures['publish_s']:.2f} s = "
          f"{figures['expected'] / figures['publish_s']:.0f}/s; the bacpypes3 subscriber "
          f"received {figures['received']} in {figures['seconds']:.2f} s = "
          f"{figures['received'] / figures['seconds']:.0f}/s (UDP drops where it falls "
          f"behind)")


def main() -> None:
    logging.getLogger("bacpypes3").setLevel(logging.CRITICAL)
    scan_figures()
    cov_figures()


if __name__ == "__main__":
    main()
