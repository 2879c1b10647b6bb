"""The poller against a bacpypes3 device with binary and multi-state objects (values as
booleans and state numbers with their names), and against a device that starts late,
fails and restarts (COV subscriptions follow it)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("bacpypes3", reason="the bacnet extra (bacpypes3) is not installed")

from bacnet import BacnetClient, PointList, Poller, parse_point_list
from profiles import PointReading

from .support import ROOT, WAIT, Peer, free_udp_port

INSTANCE = 3100


def state_device(port: int) -> Peer:
    """The device of state_device.py on ``port``, ready."""
    device = Peer([sys.executable, str(ROOT / "tests" / "bacnet" / "state_device.py"),
                   str(port), str(INSTANCE)])
    device.until("ready")
    return device


def states_list(port: int) -> PointList:
    points = [("meter", "analog-input", 1, "kWh"), ("door", "binary-input", 2, ""),
              ("pump", "binary-value", 3, ""), ("mode", "multi-state-input", 4, ""),
              ("stage", "multi-state-value", 5, "")]
    return parse_point_list({
        "kind": "bacnet", "profile": {"name": "states"},
        "device": {"instance": INSTANCE, "address": f"127.0.0.1:{port}", "name": "states"},
        "points": [{"point": point, "object": kind, "instance": instance, "unit": unit}
                   for point, kind, instance, unit in points]})


async def until(what: str, check: Callable[[], Any]) -> Any:
    """Wait on the loop until ``check()`` gives something true (bounded: a hang fails)."""
    for _ in range(int(WAIT / 0.05)):
        result = check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {what} after {WAIT} s")


def values(readings: list[PointReading]) -> dict[str, Any]:
    """The last value of each point."""
    return {r.point: r.value for r in readings}


def test_binary_and_multi_state_values_by_poll_and_by_cov() -> None:
    port = free_udp_port()
    device = state_device(port)
    readings: list[PointReading] = []

    async def scenario() -> None:
        async with BacnetClient(address="127.0.0.1/8:0", apdu_timeout=0.5,
                                retries=1) as client:
            poller = Poller(client, [states_list(port)], on_reading=readings.append)
            await poller.poll_once()
            polled = list(readings)
            assert values(polled) == {"meter": 12.5, "door": True, "pump": False, "mode": 2,
                                      "mode/state_text": "heating", "stage": 3}
            assert all(type(r.value) is bool for r in polled if r.point in ("door", "pump"))
            [text] = [r for r in polled if r.point == "mode/state_text"]
            assert (text.unit, text.quantity, text.quality) == ("", "state text", ())
            readings.clear()
            assert await poller.subscribe() == 5
            await until("the first notifications", lambda: {"door", "mode"} <= set(
                values(readings)))
            for obj, value in (("binary-input,2", "inactive"), ("multi-state-input,4", 3),
                               ("binary-value,3", "active")):
                device.send({"op": "set", "object": obj, "value": value})
            await until("the changes by COV", lambda: values(readings).get("pump") is True
                        and values(readings).get("mode") == 3
                        and values(readings).get("door") is False)
            assert values(readings)["mode/state_text"] == "cooling"
            await poller.close()

    try:
        asyncio.run(scenario())
    finally:
        device.close()


def test_cov_subscriptions_follow_a_device_that_starts_late_fails_and_restarts() -> None:
    port = free_udp_port()
    readings: list[PointReading] = []

    async def cov_value(device: Peer, poller: Poller, value: float) -> None:
        """Poll until the device is subscribed, then a change arrives by COV."""
        await poller.poll_once()
        subscribed = await asyncio.to_thread(device.until, "subscribed")
        assert subscribed["subscribed"] == "analog-input,1"
        device.send({"op": "set", "object": "analog-input,1", "value": value})
        await until(f"the meter's {value} by COV", lambda: any(
            r.point == "meter" and r.value == value for r in readings))

    async def scenario() -> None:
        async with BacnetClient(address="127.0.0.1/8:0", apdu_timeout=0.3,
                                retries=0) as client:
            points = states_list(port)
            points = PointList(name=points.name, device=points.device,
                               points=points.points[:1])
            poller = Poller(client, [points], on_reading=readings.append)
            assert await poller.subscribe() == 0  # nobody there yet
            await poller.poll_once()
            assert values(readings) == {"meter": None}
            device = await asyncio.to_thread(state_device, port)
            try:
                await cov_value(device, poller, 20.5)
            finally:
                await asyncio.to_thread(device.close)
            readings.clear()
            await poller.poll_once()  # the device is gone: its subscription with it
            assert [(r.value, r.quality) for r in readings] == [(None, ("comm_failure",))]
            device = await asyncio.to_thread(state_device, port)
            try:
                await cov_value(device, poller, 30.5)
            finally:
                await poller.close()
                await asyncio.to_thread(device.close)

    asyncio.run(scenario())
