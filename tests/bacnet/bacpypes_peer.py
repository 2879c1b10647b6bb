"""A bacpypes3 BACnet/IP peer driven by JSON lines on stdin, answering JSON lines on stdout.

Run by the tests in its own process: ``bacpypes_peer.py LOCAL_ADDR/PREFIX:PORT INSTANCE``.
Each stdin line is a command (``{"op": "read", "address": ..., "object": ...,
"property": ...}``, see OPS below); event and COV notifications it receives are printed
as they arrive.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from bacpypes3.apdu import (
    AcknowledgeAlarmRequest,
    ErrorRejectAbortNack,
    GetAlarmSummaryRequest,
    GetEventInformationRequest,
    ReadRangeRequest,
    SimpleAckPDU,
    SubscribeCOVRequest,
)
from bacpypes3.app import Application
from bacpypes3.basetypes import (
    DateTime,
    LogRecord,
    Range,
    RangeByPosition,
    RangeBySequenceNumber,
    RangeByTime,
    TimeStamp,
)
from bacpypes3.constructeddata import ListOf
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.networkport import NetworkPortObject
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import (
    Atomic,
    BitString,
    Date,
    Enumerated,
    ObjectIdentifier,
    Time,
)


def plain(value: Any) -> Any:
    """A bacpypes3 value as JSON data."""
    if isinstance(value, ObjectIdentifier):
        return f"{value[0]},{value[1]}"
    if isinstance(value, (Enumerated,)):
        return str(value)
    if isinstance(value, BitString):
        return [int(bit) for bit in value]
    if isinstance(value, (Date, Time)):
        return list(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Atomic):
        return str(value)
    if isinstance(value, ErrorRejectAbortNack):
        return {"error": str(value)}
    return str(value)


def stamp(value: TimeStamp) -> Any:
    if value.dateTime is not None:
        return [list(value.dateTime.date), list(value.dateTime.time)]
    return None


def emit(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


class Peer(Application):  # type: ignore[misc]
    async def do_UnconfirmedEventNotificationRequest(self, apdu: Any) -> None:
        emit({"event": self.event(apdu, confirmed=False)})

    async def do_ConfirmedEventNotificationRequest(self, apdu: Any) -> None:
        emit({"event": self.event(apdu, confirmed=True)})
        await self.response(SimpleAckPDU(context=apdu))

    @staticmethod
    def event(apdu: Any, confirmed: bool) -> dict[str, Any]:
        values = apdu.eventValues
        parameters: dict[str, Any] = {}
        if values is not None and values.outOfRange is not None:
            o = values.outOfRange
            parameters = {"exceeding_value": o.exceedingValue, "exceeded_limit": o.exceededLimit,
                          "deadband": o.deadband, "status_flags": plain(o.statusFlags)}
        elif values is not None and values.bufferReady is not None:
            b = values.bufferReady
            parameters = {"previous": b.previousNotification, "current": b.currentNotification,
                          "buffer_object": plain(b.bufferProperty.objectIdentifier)}
        elif values is not None and values.changeOfState is not None:
            parameters = {"new_state": str(values.changeOfState.newState.state)}
        return {
            "confirmed": confirmed,
            "process": apdu.processIdentifier,
            "device": plain(apdu.initiatingDeviceIdentifier),
            "object": plain(apdu.eventObjectIdentifier),
            "time": stamp(apdu.timeStamp),
            "notification_class": apdu.notificationClass,
            "priority": apdu.priority,
            "event_type": str(apdu.eventType),
            "text": apdu.messageText,
            "notify_type": str(apdu.notifyType),
            "ack_required": None if apdu.ackRequired is None else bool(apdu.ackRequired),
            "from_state": None if apdu.fromState is None else str(apdu.fromState),
            "to_state": str(apdu.toState),
            "values": parameters,
        }


async def run_op(app: Peer, command: dict[str, Any]) -> dict[str, Any]:
    op = command["op"]
    # no address: a global broadcast (Who-Is, I-Am)
    address = Address(command["address"]) if command.get("address") else None
    if op == "read":
        value = await app.read_property(address, ObjectIdentifier(command["object"]),
                                        command["property"])
        return {"value": plain(value)}
    if op == "rpm":
        request: list[Any] = []
        for obj in command["objects"]:
            request += [ObjectIdentifier(obj), command.get("properties", ["all"])]
        rows = await app.read_property_multiple(address, request)
        result: dict[str, dict[str, Any]] = {}
        for object_id, prop, _index, value in rows:
            result.setdefault(plain(object_id), {})[str(prop)] = plain(value)
        return {"objects": result}
    if op == "whois":
        i_ams = await app.who_is(command["low"], command["high"], address, timeout=2)
        return {"devices": sorted(i_am.iAmDeviceIdentifier[1] for i_am in i_ams)}
    if op == "write":
        await app.write_property(address, ObjectIdentifier(command["object"]),
                                 command["property"], command["value"])
        return {"written": True}
    if op == "iam":
        app.i_am(address)
        return {"iam_sent": True}
    if op == "range":
        range_request = ReadRangeRequest(objectIdentifier=ObjectIdentifier(command["object"]),
                                         propertyIdentifier="log-buffer", destination=address)
        by = command.get("by")
        if by == "position":
            range_request.range = Range(byPosition=RangeByPosition(
                referenceIndex=command["first"], count=command["count"]))
        elif by == "sequence":
            range_request.range = Range(bySequenceNumber=RangeBySequenceNumber(
                referenceSequenceNumber=command["first"], count=command["count"]))
        elif by == "time":
            date, time = command["time"]
            range_request.range = Range(byTime=RangeByTime(
                referenceTime=DateTime(date=Date(tuple(date)), time=Time(tuple(time))),
                count=command["count"]))
        ack = await app.request(range_request)
        records = ack.itemData.cast_out(ListOf(LogRecord))
        return {
            "flags": plain(ack.resultFlags),
            "count": ack.itemCount,
            "first_sequence": ack.firstSequenceNumber,
            "records": [[list(r.timestamp.date), list(r.timestamp.time),
                         r.logDatum.realValue, plain(r.statusFlags)] for r in records],
        }
    if op == "events":
        ack = await app.request(GetEventInformationRequest(destination=address))
        return {"events": [{
            "object": plain(s.objectIdentifier), "state": str(s.eventState),
            "acked": plain(s.acknowledgedTransitions),
            "times": [stamp(t) for t in s.eventTimeStamps],
            "priorities": list(s.eventPriorities),
        } for s in ack.listOfEventSummaries], "more": bool(ack.moreEvents)}
    if op == "alarms":
        ack = await app.request(GetAlarmSummaryRequest(destination=address))
        return {"alarms": [{
            "object": plain(s.objectIdentifier), "state": str(s.alarmState),
            "acked": plain(s.acknowledgedTransitions),
        } for s in ack.listOfAlarmSummaries]}
    if op == "ack":
        date, time = command["time"]
        event_stamp = TimeStamp(dateTime=DateTime(date=Date(tuple(date)), time=Time(tuple(time))))
        await app.request(AcknowledgeAlarmRequest(
            acknowledgingProcessIdentifier=command.get("process", 1),
            eventObjectIdentifier=ObjectIdentifier(command["object"]),
            eventStateAcknowledged=command["state"],
            timeStamp=event_stamp,
            acknowledgmentSource=command.get("source", "peer"),
            timeOfAcknowledgment=TimeStamp(dateTime=DateTime(date=Date().now(),
                                                             time=Time().now())),
            destination=address,
        ))
        return {"acked": True}
    if op == "subscribe_raw":  # one SubscribeCOV request, no renewals
        subscribe = SubscribeCOVRequest(
            subscriberProcessIdentifier=command.get("process", 1),
            monitoredObjectIdentifier=ObjectIdentifier(command["object"]),
            destination=address)
        if not command.get("cancel"):
            subscribe.issueConfirmedNotifications = command.get("confirmed", False)
            subscribe.lifetime = command.get("lifetime")
        await app.request(subscribe)
        return {"subscribe_raw": "ok"}
    if op == "subscribe":
        count = command["count"]
        async with app.change_of_value(
                address, ObjectIdentifier(command["object"]), command.get("process", 1),
                command.get("confirmed"), command.get("lifetime")) as subscription:
            emit({"subscribed": command["object"]})
            for _ in range(count):
                prop, value = await subscription.get_value()
                emit({"cov": {"property": str(prop), "value": plain(value)}})
        return {"cov_done": count}
    raise ValueError(f"unknown op {op!r}")


async def main(local: str, instance: int) -> None:
    app = Peer.from_object_list([
        DeviceObject(objectIdentifier=("device", instance), objectName=f"peer-{instance}",
                     vendorIdentifier=999, apduTimeout=1000, numberOfApduRetries=1),
        NetworkPortObject(local, objectIdentifier=("network-port", 1), objectName="NP1"),
    ])
    emit({"ready": local})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        try:
            emit(await run_op(app, command))
        except ErrorRejectAbortNack as error:
            emit({"error": str(error)})
    app.close()



if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
