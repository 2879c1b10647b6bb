"""meterkit's BACnet server against a bacpypes3 client in another process (127.0.0.1)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("bacpypes3", reason="the bacnet extra (bacpypes3) is not installed")

from bacnet import AlarmNotice, PointList, parse_point_list

from .support import T0, PeerWorld, python_peer


def point_list(recipient: str) -> PointList:
    return parse_point_list({
        "kind": "bacnet",
        "profile": {"name": "test", "description": "two meters"},
        "device": {"instance": 4711, "name": "meterkit test gateway"},
        "notification_classes": [
            {"instance": 3, "priority": [40, 50, 200], "ack_required": [True, True, False],
             "recipients": [recipient], "confirmed": True},
        ],
        "points": [
            {"point": "m1/energy", "object": "analog-input", "instance": 10, "unit": "kWh",
             "description": "meter 1 energy", "cov_increment": "1", "notification_class": 3,
             "trend": {"instance": 20, "buffer_size": 4, "notification_threshold": 3,
                       "notification_class": 3}},
            {"point": "m2/flow", "object": "analog-input", "instance": 11, "unit": "m3/h",
             "name": "meter 2 flow"},
            {"point": "m2/pulses", "object": "analog-input", "instance": 12,
             "unit": "Wh/pulse"},
            {"point": "m2/leak", "object": "binary-input", "instance": 13,
             "description": "leak contact", "notification_class": 3},
            {"point": "m2/status", "object": "characterstring-value", "instance": 14,
             "notification_class": 3},
        ],
    }, file="test.toml")


def peer_command(port: int) -> list[str]:
    return python_peer(f"127.0.0.1/8:{port}", "9001")


@pytest.fixture
def world(peer_world: Callable[..., PeerWorld]) -> PeerWorld:
    return peer_world(point_list, peer_command)


def test_who_is_and_read_every_object(world: PeerWorld) -> None:
    world.publish("m1/energy", Decimal(123456), "Wh")
    world.publish("m2/flow", Decimal("1.25"), "m3/h", quality=("stale",))
    assert world.ask("whois", low=4711, high=4711) == {"devices": [4711]}
    assert world.ask("whois", low=1, high=10) == {"devices": []}

    object_list = world.ask("read", object="device,4711", property="object-list")["value"]
    assert sorted(object_list) == sorted([
        "device,4711", "network-port,1", "notification-class,3", "analog-input,10",
        "trend-log,20", "analog-input,11", "analog-input,12", "binary-input,13",
        "characterstring-value,14"])

    objects = world.ask("rpm", objects=object_list)["objects"]
    device = objects["device,4711"]
    assert device["object-name"] == "meterkit test gateway"
    assert device["vendor-name"] == "meterkit"
    energy = objects["analog-input,10"]
    assert energy["present-value"] == pytest.approx(123.456)
    assert energy["units"] == "kilowatt-hours"
    assert energy["status-flags"] == [0, 0, 0, 0]
    assert energy["reliability"] == "no-fault-detected"
    assert energy["description"] == "meter 1 energy"
    assert energy["object-name"] == "m1/energy"
    assert energy["cov-increment"] == 1.0
    flow = objects["analog-input,11"]
    assert flow["object-name"] == "meter 2 flow"
    assert flow["status-flags"] == [0, 1, 0, 0]  # fault: the meter is stale
    assert flow["reliability"] == "communication-failure"
    pulses = objects["analog-input,12"]
    assert pulses["units"] == "no-units"
    assert "Wh/pulse" in pulses["description"]
    # never published: faulted until its first reading
    assert pulses["reliability"] == "communication-failure"
    trend = objects["trend-log,20"]
    assert trend["buffer-size"] == 4 and trend["record-count"] == 1
    assert objects["notification-class,3"]["priority"] == [40, 50, 200]

    assert world.ask("read", object="analog-input,10", property="present-value") == {
        "value": pytest.approx(123.456)}
    assert "unknown-object" in world.ask("read", object="analog-input,99",
                                         property="present-value")["error"]
    assert "read-access-denied" in world.ask("read", object="trend-log,20",
                                             property="log-buffer")["error"]


@pytest.mark.parametrize("confirmed", [True, False])
def test_cov_subscription(world: PeerWorld, confirmed: bool) -> None:
    world.publish("m1/energy", Decimal(10), "kWh")
    world.peer.send({"op": "subscribe", "address": world.gateway.address,
                     "object": "analog-input,10", "confirmed": confirmed, "lifetime": 60,
                     "count": 8})
    world.peer.until("subscribed")
    # the initial notification: present value and status flags
    first = [world.peer.until("cov")["cov"] for _ in range(2)]
    assert {c["property"]: c["value"] for c in first} == {
        "present-value": 10.0, "status-flags": [0, 0, 0, 0]}
    world.publish("m1/energy", Decimal("10.5"), "kWh")  # below cov-increment 1: no notice
    world.publish("m1/energy", Decimal("11.5"), "kWh")
    second = [world.peer.until("cov")["cov"] for _ in range(2)]
    assert {c["property"]: c["value"] for c in second}["present-value"] == 11.5
    # the increment counts from the last value reported (11.5), not the first (10)
    world.publish("m1/energy", Decimal("12"), "kWh")
    world.publish("m1/energy", Decimal("12.5"), "kWh")
    again = [world.peer.until("cov")["cov"] for _ in range(2)]
    assert {c["property"]: c["value"] for c in again}["present-value"] == 12.5
    world.publish("m1/energy", None, "kWh", quality=("comm_failure",))  # flags change
    third = [world.peer.until("cov")["cov"] for _ in range(2)]
    assert {c["property"]: c["value"] for c in third} == {
        "present-value": 12.5, "status-flags": [0, 1, 0, 0]}
    assert world.peer.until("cov_done")


def test_cov_subscription_lifetime_renewal_and_cancel(world: PeerWorld) -> None:
    server = world.gateway.server

    def subscriptions() -> list[tuple[int, int | None, bool]]:
        assert server.app is not None
        return [(cov.proc_id, cov.lifetime, cov.cancel_handle is not None)
                for object_id, detection in server.app._cov_detections.items()
                if str(object_id[0]) == "analog-input" and object_id[1] == 10
                for cov in detection.cov_subscriptions]

    def subscribe(**fields: Any) -> None:
        assert world.ask("subscribe_raw", object="analog-input,10", **fields) == {
            "subscribe_raw": "ok"}

    subscribe(process=1, lifetime=None)  # indefinite (lifetime absent)
    subscribe(process=2, lifetime=300, confirmed=True)
    assert world.gateway.loop.call(subscriptions) == [(1, 0, False), (2, 300, True)]
    subscribe(process=2, lifetime=600, confirmed=True)  # a renewal, not a second one
    assert world.gateway.loop.call(subscriptions) == [(1, 0, False), (2, 600, True)]
    subscribe(process=2, cancel=True)
    assert world.gateway.loop.call(subscriptions) == [(1, 0, False)]
    subscribe(process=3, lifetime=1)
    assert (3, 1, True) in world.gateway.loop.call(subscriptions)
    # the lifetime ends it without any request (bounded wait, not a timing measurement)
    for _ in range(100):
        if len(world.gateway.loop.call(subscriptions)) == 1:
            break
        world.gateway.loop.run(asyncio.sleep(0.2))
    assert world.gateway.loop.call(subscriptions) == [(1, 0, False)]


def test_trend_log_buffer_and_buffer_ready(world: PeerWorld) -> None:
    for minute in range(5):
        world.publish("m1/energy", Decimal(minute), "kWh", T0 + timedelta(minutes=minute))
    # 3 records reach the threshold: Buffer_Ready through notification class 3
    ready = world.peer.until("event")["event"]
    assert ready["event_type"] == "buffer-ready"
    assert ready["object"] == "trend-log,20" and ready["notification_class"] == 3
    assert ready["values"] == {"previous": 0, "current": 3, "buffer_object": "trend-log,20"}
    assert ready["notify_type"] == "event" and ready["confirmed"] is True

    everything = world.ask("range", object="trend-log,20")
    assert [r[2] for r in everything["records"]] == [1.0, 2.0, 3.0, 4.0]  # buffer of 4
    assert everything["flags"] == [1, 1, 0]
    by_position = world.ask("range", object="trend-log,20", by="position", first=2, count=2)
    assert [r[2] for r in by_position["records"]] == [2.0, 3.0]
    assert by_position["flags"] == [0, 0, 1]
    by_sequence = world.ask("range", object="trend-log,20", by="sequence", first=4, count=10)
    assert [r[2] for r in by_sequence["records"]] == [3.0, 4.0]
    assert by_sequence["first_sequence"] == 4
    counts = world.ask("rpm", objects=["trend-log,20"],
                       properties=["record-count", "total-record-count"])["objects"]
    assert counts["trend-log,20"] == {"record-count": 4, "total-record-count": 5}


def test_alarm_events_acknowledgement_and_summaries(world: PeerWorld) -> None:
    world.publish("m1/energy", Decimal(500), "kWh")
    notify = world.gateway.server.notify_alarm
    world.gateway.loop.call(notify, AlarmNotice(
        alarm_id="energy-high", point="m1/energy", raised=True, time=T0, severity="critical",
        text="energy above 400 kWh", value=500.0, limit=400.0, direction="up", deadband=5.0))
    raised = world.peer.until("event")["event"]
    assert raised["object"] == "analog-input,10"
    assert raised["event_type"] == "out-of-range" and raised["notify_type"] == "alarm"
    assert (raised["from_state"], raised["to_state"]) == ("normal", "high-limit")
    assert raised["priority"] == 32 and raised["ack_required"] is True
    assert raised["text"] == "energy above 400 kWh"
    assert raised["values"]["exceeding_value"] == 500.0
    assert raised["values"]["exceeded_limit"] == 400.0
    assert raised["values"]["status_flags"] == [1, 0, 0, 0]  # in alarm

    flags = world.ask("read", object="analog-input,10", property="status-flags")["value"]
    assert flags == [1, 0, 0, 0]
    assert world.ask("read", object="analog-input,10", property="event-state") == {
        "value": "high-limit"}
    assert world.ask("alarms")["alarms"] == [
        {"object": "analog-input,10", "state": "high-limit", "acked": [0, 1, 1]}]
    events = world.ask("events")["events"]
    assert [(e["object"], e["state"], e["acked"]) for e in events] == [
        ("analog-input,10", "high-limit", [0, 1, 1])]
    assert events[0]["times"][0] == raised["time"]

    wrong = world.ask("ack", object="analog-input,10", state="low-limit", time=raised["time"])
    assert "invalid-event-state" in wrong["error"]
    assert world.acknowledgements == []
    assert world.ask("ack", object="analog-input,10", state="high-limit",
                     time=raised["time"], source="operator 7") == {"acked": True}
    [ack] = world.acknowledgements
    assert (ack.alarm_ids, ack.point, ack.source) == (("energy-high",), "m1/energy",
                                                      "operator 7")
    ack_notice = world.peer.until("event")["event"]
    assert ack_notice["notify_type"] == "ack-notification"

    world.gateway.loop.call(notify, AlarmNotice(
        alarm_id="energy-high", point="m1/energy", raised=False,
        time=T0 + timedelta(minutes=3), value=390.0))
    cleared = world.peer.until("event")["event"]
    assert (cleared["from_state"], cleared["to_state"]) == ("high-limit", "normal")
    assert cleared["priority"] == 200 and cleared["ack_required"] is False
    # An empty GetAlarmSummary-ACK has no service data, which bacpypes3 0.0.110 cannot
    # decode (its request never completes); the node stack test reads the empty summary.
    assert world.ask("events")["events"] == []
    assert world.ask("read", object="analog-input,10", property="status-flags") == {
        "value": [0, 0, 0, 0]}


def test_binary_input_and_characterstring_value(world: PeerWorld) -> None:
    world.publish("m2/leak", False)
    world.publish("m2/status", "OK")
    objects = world.ask("rpm", objects=["binary-input,13", "characterstring-value,14"]
                        )["objects"]
    leak, status = objects["binary-input,13"], objects["characterstring-value,14"]
    assert (leak["present-value"], leak["polarity"], leak["status-flags"]) == (
        "inactive", "normal", [0, 0, 0, 0])
    assert leak["description"] == "leak contact" and leak["object-name"] == "m2/leak"
    assert (status["present-value"], status["status-flags"]) == ("OK", [0, 0, 0, 0])
    assert "write-access-denied" in world.ask("write", object="characterstring-value,14",
                                       property="present-value", value="HACKED")["error"]

    changes: list[tuple[str, str, object, str]] = [
        ("characterstring-value,14", "m2/status", "LEAK", "LEAK"),
        ("binary-input,13", "m2/leak", True, "active")]
    for object_id, point, value, changed in changes:
        world.peer.send({"op": "subscribe", "address": world.gateway.address,
                         "object": object_id, "lifetime": 60, "count": 4})
        world.peer.until("subscribed")
        [world.peer.until("cov") for _ in range(2)]  # the first notification
        world.publish(point, value)
        second = {c["property"]: c["value"] for c in
                  (world.peer.until("cov")["cov"] for _ in range(2))}
        assert second == {"present-value": changed, "status-flags": [0, 0, 0, 0]}
        world.peer.until("cov_done")

    # a stale meter: faulted, the last text kept; a number 0/1 is a boolean too
    world.publish("m2/status", None, quality=("stale",))
    world.publish("m2/leak", 0)
    objects = world.ask("rpm", objects=["binary-input,13", "characterstring-value,14"],
                        properties=["present-value", "status-flags", "reliability"]
                        )["objects"]
    assert objects["characterstring-value,14"] == {
        "present-value": "LEAK", "status-flags": [0, 1, 0, 0],
        "reliability": "communication-failure"}
    assert objects["binary-input,13"]["present-value"] == "inactive"

    # an alarm on the text point: a change-of-state event of its object
    world.gateway.loop.call(world.gateway.server.notify_alarm, AlarmNotice(
        alarm_id="leak", point="m2/status", raised=True, time=T0, text="leak reported"))
    event = world.peer.until("event")["event"]
    assert (event["object"], event["event_type"], event["to_state"], event["text"]) == (
        "characterstring-value,14", "change-of-state", "offnormal", "leak reported")


def test_device_recipient_found_by_its_i_am(peer_world: Callable[..., PeerWorld]) -> None:
    world = peer_world(lambda _address: point_list("device,9001"), peer_command)
    server = world.gateway.server
    # the peer announces itself; on loopback the server's own Who-Is broadcast would not
    # reach it (another port): the I-Am heard is where device 9001 lives
    assert world.ask("iam") == {"iam_sent": True}
    for _ in range(100):
        if world.gateway.loop.call(lambda: 9001 in server._device_addresses):
            break
        world.gateway.loop.run(asyncio.sleep(0.05))
    world.publish("m1/energy", Decimal(500), "kWh")
    world.gateway.loop.call(server.notify_alarm, AlarmNotice(
        alarm_id="energy-high", point="m1/energy", raised=True, time=T0, value=500.0,
        limit=400.0, direction="up"))
    event = world.peer.until("event")["event"]
    assert (event["object"], event["to_state"], event["confirmed"]) == (
        "analog-input,10", "high-limit", True)
