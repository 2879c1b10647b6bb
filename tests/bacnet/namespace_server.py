"""meterkit's BacnetServer for the broadcast test, run inside a network namespace:
``namespace_server.py ADDR/PREFIX INSTANCE RECIPIENT``. Prints ``{"ready": ...}``; each
stdin line ``{"op": "alarm"}`` raises an alarm on the device object, whose Notification Class sends
it to RECIPIENT (``"device,N"``: found by Who-Is)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timezone

from bacnet import AlarmNotice, BacnetServer, parse_point_list


async def main(address: str, instance: int, recipient: str) -> None:
    points = parse_point_list({
        "kind": "bacnet", "profile": {"name": "namespace test"},
        "notification_classes": [{"instance": 1, "recipients": [recipient]}],
        "points": [{"point": "meter/energy", "object": "analog-input", "instance": 1,
                    "unit": "kWh"}],
    })
    async with BacnetServer(points, address=address, instance=instance,
                            apdu_timeout=2.0) as server:
        print(json.dumps({"ready": server.interface}), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        count = 0
        while line := (await reader.readline()).decode().strip():
            if json.loads(line).get("op") == "alarm":
                count += 1
                server.notify_alarm(AlarmNotice(
                    alarm_id=f"a{count}", point="", raised=True,
                    time=datetime.now(timezone.utc), text="broadcast test alarm"))
                print(json.dumps({"alarm": count}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
