"""BBMD and foreign-device registration, as bacpypes3 provides them, configured by
BacnetServer: a bacpypes3 foreign device finds the server by a broadcast Who-Is only when
the server is a BBMD."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("bacpypes3", reason="the bacnet extra (bacpypes3) is not installed")

from bacpypes3.app import Application
from bacpypes3.basetypes import HostNPort
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.networkport import NetworkPortObject

from bacnet import BacnetServer, ConfigurationError, parse_point_list
from bacnet._stack import bound

from .support import free_udp_port

POINTS = parse_point_list({"kind": "bacnet", "profile": {"name": "bbmd"},
                           "device": {"instance": 321}, "points": []}, file="bbmd.toml")


async def broadcast_who_is_from_a_foreign_device(**server_options: Any
                                                 ) -> tuple[int, list[int]]:
    """The foreign device's registration result (0: accepted, else the BVLC NAK) and the
    instances answering its broadcast Who-Is."""
    server_port, device_port = free_udp_port(), free_udp_port()
    async with BacnetServer(POINTS, address=f"127.0.0.1/8:{server_port}",
                            **server_options):
        foreign = Application.from_object_list([
            DeviceObject(objectIdentifier=("device", 999), objectName="foreign",
                         vendorIdentifier=999),
            NetworkPortObject(f"127.0.0.1/8:{device_port}", objectIdentifier=(
                "network-port", 1), objectName="NP1", bacnetIPMode="foreign",
                fdBBMDAddress=HostNPort(f"127.0.0.1:{server_port}"),
                fdSubscriptionLifetime=60),
        ])
        try:
            await bound(foreign)
            link = next(iter(foreign.link_layers.values()))
            for _ in range(100):  # bounded: until the registration was answered
                if link.bbmdRegistrationStatus not in (-2, -1):
                    break
                await asyncio.sleep(0.05)
            status = link.bbmdRegistrationStatus
            i_ams = await foreign.who_is(timeout=1)  # a global broadcast
        finally:
            foreign.close()
    return status, [i_am.iAmDeviceIdentifier[1] for i_am in i_ams]


def test_a_bbmd_server_answers_a_registered_foreign_devices_broadcast() -> None:
    assert asyncio.run(broadcast_who_is_from_a_foreign_device(bbmd=True)) == (0, [321])


def test_a_normal_server_refuses_foreign_devices() -> None:
    status, answers = asyncio.run(broadcast_who_is_from_a_foreign_device())
    assert status == 0x30 and answers == []  # Register-Foreign-Device NAK


def test_bbmd_and_foreign_modes_exclude_each_other() -> None:
    with pytest.raises(ConfigurationError):
        BacnetServer(POINTS, address="127.0.0.1/8:47808", bbmd=True,
                     foreign_bbmd="127.0.0.1:47809")
