"""A bacpypes3 COV subscriber for bench_bacnet: ``python -m benchmarks._bacnet_peer LOCAL
SERVER COUNT`` subscribes (unconfirmed, lifetime 600 s) to analog-input 1..COUNT of SERVER,
then counts COV notifications. stdin commands: ``subscribe``, ``reset`` (zero the count),
``report`` (print count and the wall-clock times of the first and last notification)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from bacpypes3.apdu import SubscribeCOVRequest
from bacpypes3.app import Application
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.networkport import NetworkPortObject
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier


class Counter(Application):  # type: ignore[misc]
    count = 0
    first = 0.0
    last = 0.0

    async def do_UnconfirmedCOVNotificationRequest(self, apdu: Any) -> None:
        now = time.time()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now


async def main(local: str, server: str, count: int) -> None:
    app = Counter.from_object_list([
        DeviceObject(objectIdentifier=("device", 4194000), objectName="bench-subscriber",
                     vendorIdentifier=999),
        NetworkPortObject(local, objectIdentifier=("network-port", 1), objectName="NP1"),
    ])
    address = Address(server)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"ready": True}), flush=True)
    while line := (await reader.readline()).decode().strip():
        if line == "subscribe":
            for start in range(1, count + 1, 50):  # 50 requests in flight at a time
                await asyncio.gather(*(app.request(SubscribeCOVRequest(
                    subscriberProcessIdentifier=1, issueConfirmedNotifications=False,
                    lifetime=600, monitoredObjectIdentifier=ObjectIdentifier(
                        f"analog-input,{i}"), destination=address))
                    for i in range(start, min(count, start + 49) + 1)))
            print(json.dumps({"subscribed": count}), flush=True)
        elif line == "reset":
            app.count = 0
            print(json.dumps({"reset": True}), flush=True)
        elif line == "report":
            print(json.dumps({"count": app.count, "first": app.first, "last": app.last}),
                  flush=True)
    app.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
