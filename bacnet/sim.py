"""Simulated BACnet/IP devices (bacpypes3) for tests, demos and benchmarks.

``await start_devices(50, objects=20)`` runs 50 devices in this process on consecutive
UDP ports of 127.0.0.1, each with a Device object and ``objects`` Analog Inputs, Analog
Values and Binary Inputs. ``rpm=False`` gives devices without ReadPropertyMultiple (they
reject it and do not list it in protocol-services-supported), for the fallback path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import _stack

from bacpypes3.app import Application  # isort: skip
from bacpypes3.basetypes import ServicesSupported
from bacpypes3.errors import UnrecognizedService
from bacpypes3.local.analog import AnalogInputObject, AnalogValueObject
from bacpypes3.local.binary import BinaryInputObject
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.networkport import NetworkPortObject

__all__ = ["SimulatedDevice", "start_devices"]

_UNITS = ("kilowatt-hours", "cubic-meters", "degrees-celsius", "watts", "cubic-meters-per-hour")


class _WithoutRpm(Application):  # type: ignore[misc]
    """A device that has no ReadPropertyMultiple."""

    async def do_ReadPropertyMultipleRequest(self, apdu: Any) -> None:
        raise UnrecognizedService("no ReadPropertyMultiple here")

    def get_services_supported(self) -> Any:
        services = super().get_services_supported()
        services[ServicesSupported.readPropertyMultiple] = 0
        return services


@dataclass
class SimulatedDevice:
    """One running simulated device."""

    instance: int
    port: int
    app: Any

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        """Close its port."""
        self.app.close()


def _objects(count: int) -> list[Any]:
    objects: list[Any] = []
    for i in range(1, count + 1):
        kind = i % 3
        if kind == 1:
            objects.append(AnalogInputObject(
                objectIdentifier=("analog-input", i), objectName=f"meter {i}",
                description=f"simulated meter {i}", presentValue=float(i * 10),
                units=_UNITS[i % len(_UNITS)], statusFlags=[0, 0, 0, 0],
                eventState="normal", outOfService=False, reliability="no-fault-detected",
                covIncrement=1.0))
        elif kind == 2:
            objects.append(AnalogValueObject(
                objectIdentifier=("analog-value", i), objectName=f"setpoint {i}",
                presentValue=float(i), units="percent", statusFlags=[0, 0, 0, 0],
                eventState="normal", outOfService=False, covIncrement=0.5))
        else:
            objects.append(BinaryInputObject(
                objectIdentifier=("binary-input", i), objectName=f"contact {i}",
                presentValue="active" if i % 2 else "inactive", polarity="normal",
                statusFlags=[0, 0, 0, 0], eventState="normal", outOfService=False))
    return objects


async def start_devices(count: int, *, objects: int = 20, first_port: int, first_instance: int
                        = 1000, rpm: bool = True) -> list[SimulatedDevice]:
    """Start ``count`` devices on 127.0.0.1 ports ``first_port``, ``first_port + 1``, ...
    with instances ``first_instance``, ``first_instance + 1``, ... (inside a running loop)."""
    devices = []
    application = Application if rpm else _WithoutRpm
    for n in range(count):
        instance, port = first_instance + n, first_port + n
        app = application.from_object_list([
            DeviceObject(objectIdentifier=("device", instance), objectName=f"sim-{instance}",
                         vendorIdentifier=999, vendorName="meterkit simulator",
                         modelName="simulated controller"),
            NetworkPortObject(f"127.0.0.1/8:{port}", objectIdentifier=("network-port", 1),
                              objectName="NP1"),
            *_objects(objects),
        ])
        devices.append(SimulatedDevice(instance=instance, port=port, app=app))
    for device in devices:
        await _stack.bound(device.app)
    return devices


async def _serve(count: int, first_port: int, first_instance: int, objects: int, rpm: bool,
                 vary: float) -> None:
    import asyncio
    import json
    import sys

    devices = await start_devices(count, objects=objects, first_port=first_port,
                                  first_instance=first_instance, rpm=rpm)
    print(json.dumps({"ready": [d.address for d in devices]}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    reading = asyncio.ensure_future(reader.read())  # ends when stdin closes
    while not reading.done():
        await asyncio.wait([reading], timeout=vary if vary > 0 else None)
        if vary > 0:
            for device in devices:
                for obj in device.app.objectIdentifier.values():
                    if str(obj.objectIdentifier[0]) == "analog-input":
                        obj.presentValue = obj.presentValue + 10.0
    for device in devices:
        device.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m bacnet.sim COUNT FIRST_PORT``: run simulated devices until stdin closes
    (prints ``{"ready": [addresses]}``); ``--vary S`` adds 10 to every Analog Input each
    S seconds."""
    import argparse
    import asyncio

    parser = argparse.ArgumentParser(prog="python -m bacnet.sim", description=main.__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("first_port", type=int)
    parser.add_argument("--first-instance", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--no-rpm", action="store_true")
    parser.add_argument("--vary", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.count, args.first_port, args.first_instance, args.objects,
                       not args.no_rpm, args.vary))


if __name__ == "__main__":
    main()
