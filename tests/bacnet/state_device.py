"""A bacpypes3 device with binary and multi-state objects, run in its own process by tests.

``state_device.py PORT INSTANCE`` serves on 127.0.0.1:PORT: analog-input,1 (a meter),
binary-input,2 (a contact, active), binary-value,3 (inactive), multi-state-input,4 (state
2 of "off", "heating", "cooling", with state-text), multi-state-value,5 (state 3 of 4,
no state-text). It prints ``{"ready": ADDRESS}``, then ``{"subscribed": OBJECT}`` for each
SubscribeCOV it accepts; a stdin line ``{"op": "set", "object": ..., "value": ...}`` sets
a present value (COV subscribers are notified), answered with ``{"set": OBJECT}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from bacpypes3.app import Application
from bacpypes3.local.analog import AnalogInputObject
from bacpypes3.local.binary import BinaryInputObject, BinaryValueObject
from bacpypes3.local.cov import GenericCriteria
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.multistate import MultiStateInputObject, MultiStateValueObject
from bacpypes3.local.networkport import NetworkPortObject
from bacpypes3.primitivedata import ObjectIdentifier

from bacnet._stack import bound


def emit(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


class StateDevice(Application):  # type: ignore[misc]
    async def do_SubscribeCOVRequest(self, apdu: Any) -> None:
        await super().do_SubscribeCOVRequest(apdu)
        if apdu.lifetime is not None or apdu.issueConfirmedNotifications is not None:
            oid = apdu.monitoredObjectIdentifier
            emit({"subscribed": f"{oid[0]},{oid[1]}"})


class MultiStateInput(MultiStateInputObject):  # type: ignore[misc]
    # bacpypes3 0.0.110 gives multi-state objects COV-increment criteria, which need a
    # cov-increment they do not have; BACnet reports any change of their state
    _cov_criteria = GenericCriteria


class MultiStateValue(MultiStateValueObject):  # type: ignore[misc]
    _cov_criteria = GenericCriteria


def objects() -> list[Any]:
    common: dict[str, Any] = {"statusFlags": [0, 0, 0, 0], "eventState": "normal",
                              "outOfService": False}
    return [
        AnalogInputObject(objectIdentifier=("analog-input", 1), objectName="meter",
                          presentValue=12.5, units="kilowatt-hours", covIncrement=0.1,
                          **common),
        BinaryInputObject(objectIdentifier=("binary-input", 2), objectName="door contact",
                          presentValue="active", polarity="normal", **common),
        BinaryValueObject(objectIdentifier=("binary-value", 3), objectName="pump enable",
                          presentValue="inactive", **common),
        MultiStateInput(objectIdentifier=("multi-state-input", 4), objectName="mode",
                              presentValue=2, numberOfStates=3,
                              stateText=["off", "heating", "cooling"], **common),
        MultiStateValue(objectIdentifier=("multi-state-value", 5), objectName="stage",
                              presentValue=3, numberOfStates=4, **common),
    ]


async def main(port: int, instance: int) -> None:
    app = StateDevice.from_object_list([
        DeviceObject(objectIdentifier=("device", instance), objectName=f"states-{instance}",
                     vendorIdentifier=999, vendorName="meterkit tests"),
        NetworkPortObject(f"127.0.0.1/8:{port}", objectIdentifier=("network-port", 1),
                          objectName="NP1"),
        *objects(),
    ])
    await bound(app)
    emit({"ready": f"127.0.0.1:{port}"})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        if command.get("op") == "set":
            obj = app.get_object_id(ObjectIdentifier(command["object"]))
            obj.presentValue = command["value"]
            emit({"set": command["object"]})
    app.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
