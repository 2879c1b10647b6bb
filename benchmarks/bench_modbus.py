"""Modbus: meterkit's poller against a naive one-request-per-point pymodbus loop, and the
server's sustained reads per second from 8 parallel clients.

Poll: 250 simulated devices (pymodbus' simulator in another process: 10 ports x 25 unit
ids), 20 float32 points each. meterkit's :class:`modbus.Poller` plans one read per device
and reads the 10 ports in parallel; the naive loop, as a first script with pymodbus
would be written, sends one read_input_registers per point, device after device (one
connection per port). A third figure runs the naive loop on the 10 ports in parallel, to
separate what planning gains from what parallel connections gain.

Server: 8 pymodbus clients read the 20 points (one request of 76 registers each time)
from meterkit's ModbusServer, then from pymodbus' bare simulator holding the same
registers, for a fixed time each; reads per second are the figure.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import subprocess
import sys
import time
from typing import Any

from benchmarks._modbus_peer import ADDRESSES
from modbus import Device, Poller, RegisterMap, RegisterPoint

PORTS = 10
UNITS = 25
CYCLES = 3
SERVER_SECONDS = 3.0

MAP = RegisterMap(name="bench", max_registers=80, points=tuple(
    RegisterPoint(name=f"p{i}", table="input", address=a, type="float32")
    for i, a in enumerate(ADDRESSES)))


def peer(*args: str) -> tuple[subprocess.Popen[str], list[int]]:
    process = subprocess.Popen([sys.executable, "-m", "benchmarks._modbus_peer", *args],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ports = [int(p) for p in process.stdout.readline().split()]
    return process, ports


def stop(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=30)


async def meterkit_cycles(ports: list[int]) -> list[tuple[float, int, int]]:
    devices = [Device(name=f"d{port}_{unit}", url=f"tcp://127.0.0.1:{port}", map=MAP,
                      unit_id=unit, timeout=5)
               for port in ports for unit in range(1, UNITS + 1)]
    poller = Poller(devices)
    out = []
    try:
        for _ in range(CYCLES):
            started = time.perf_counter()
            cycle = await poller.poll()
            elapsed = time.perf_counter() - started
            good = sum(r.value is not None for r in cycle.readings)
            out.append((elapsed, cycle.requests, good))
    finally:
        poller.close()
    return out


async def naive_cycles(ports: list[int], parallel: bool) -> list[tuple[float, int, int]]:
    from pymodbus.client import AsyncModbusTcpClient

    clients = [AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5) for port in ports]
    for client in clients:
        await client.connect()
    out = []

    async def one_port(client: Any) -> tuple[int, int]:
        requests = good = 0
        for unit in range(1, UNITS + 1):
            for address in ADDRESSES:
                answer = await client.read_input_registers(address, count=2, device_id=unit)
                requests += 1
                if not answer.isError():
                    struct.unpack(">f", struct.pack(">HH", *answer.registers))
                    good += 1
        return requests, good

    try:
        for _ in range(CYCLES):
            started = time.perf_counter()
            if parallel:
                counts = await asyncio.gather(*(one_port(c) for c in clients))
            else:
                counts = [await one_port(c) for c in clients]
            elapsed = time.perf_counter() - started
            out.append((elapsed, sum(c[0] for c in counts), sum(c[1] for c in counts)))
    finally:
        for client in clients:
            client.close()
    return out


async def reads_per_second(port: int) -> tuple[float, int]:
    from pymodbus.client import AsyncModbusTcpClient

    deadline = time.perf_counter() + SERVER_SECONDS
    counts = [0] * 8

    async def session(index: int) -> None:
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5)
        await client.connect()
        try:
            while time.perf_counter() < deadline:
                answer = await client.read_input_registers(0, count=76, device_id=1)
                assert not answer.isError()
                counts[index] += 1
        finally:
            client.close()

    started = time.perf_counter()
    await asyncio.gather(*(session(i) for i in range(8)))
    return sum(counts) / (time.perf_counter() - started), sum(counts)


def best(runs: list[tuple[float, int, int]]) -> tuple[float, int, int]:
    return min(runs)


def report(name: str, runs: list[tuple[float, int, int]]) -> tuple[float, int]:
    seconds, requests, good = best(runs)
    print(f"  {name:<34} {seconds * 1000:9.1f} ms/cycle  {requests:5d} requests/cycle  "
          f"{good} values", flush=True)
    return seconds, requests


def main() -> None:
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    print(f"poll {PORTS * UNITS} devices x {len(ADDRESSES)} float32 points "
          f"(pymodbus simulator, {PORTS} ports x {UNITS} unit ids); best of {CYCLES} cycles")
    process, ports = peer("sim", str(PORTS), str(UNITS))
    try:
        ours = report("meterkit Poller", asyncio.run(meterkit_cycles(ports)))
        naive = report("naive pymodbus loop", asyncio.run(naive_cycles(ports, False)))
        parallel = report("naive loop, ports in parallel", asyncio.run(naive_cycles(ports, True)))
    finally:
        stop(process)
    print(f"  meterkit vs naive: {naive[1] / ours[1]:.1f}x fewer requests, "
          f"{naive[0] / ours[0]:.1f}x faster; vs naive in parallel: "
          f"{parallel[0] / ours[0]:.1f}x faster")

    print(f"server: 8 pymodbus clients, {SERVER_SECONDS:.0f} s each, one read of 76 registers")
    for name, args in (("meterkit ModbusServer", ("serve",)),
                       ("pymodbus simulator (bare)", ("sim", "1", "1"))):
        process, ports = peer(*args)
        try:
            rate, total = asyncio.run(reads_per_second(ports[0]))
        finally:
            stop(process)
        print(f"  {name:<34} {rate:9.0f} reads/s ({total} reads)", flush=True)


if __name__ == "__main__":
    main()
